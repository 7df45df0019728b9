/// The plain triple loop `IntegerGEMM` is tested against (STYLE 16): each
/// product widened to `Int64` and summed in order, nothing else.
public enum ReferenceIntegerGEMM {
    /// Returns `A B` as a dense row-major `a.rows x b.columns` array of exact sums.
    public static func multiply(_ a: IntegerMatrixView, _ b: IntegerMatrixView) -> [Int64] {
        precondition(a.columns == b.rows, "inner dimensions differ: \(a.columns) vs \(b.rows)")
        var result = [Int64](repeating: 0, count: a.rows * b.columns)
        for i in 0..<a.rows {
            for j in 0..<b.columns {
                var sum: Int64 = 0
                for p in 0..<a.columns { sum += Int64(a[i, p]) * Int64(b[p, j]) }
                result[i * b.columns + j] = sum
            }
        }
        return result
    }
}
