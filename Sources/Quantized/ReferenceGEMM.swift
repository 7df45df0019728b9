/// The plain triple loop the fast kernels are tested against (STYLE 16).
/// Accumulates in `Double`, so it is an independent oracle, not a copy of the
/// fast kernel's rounding.
public enum ReferenceGEMM {
    /// Returns `A B` as a dense row-major `a.rows x b.columns` array.
    public static func multiply(_ a: StridedMatrix, _ b: StridedMatrix) -> [Float] {
        precondition(a.columns == b.rows)
        var result = [Float](repeating: 0, count: a.rows * b.columns)
        for i in 0..<a.rows {
            for j in 0..<b.columns {
                var sum = 0.0
                for p in 0..<a.columns { sum += Double(a[i, p]) * Double(b[p, j]) }
                result[i * b.columns + j] = Float(sum)
            }
        }
        return result
    }
}
