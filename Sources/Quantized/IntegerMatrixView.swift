/// A view of `Int16` fixed-point codes, the operand of `IntegerGEMM`
/// (see `StridedView`).
public typealias IntegerMatrixView = StridedView<Int16>

extension StridedView where Element == Int16 {
    /// The largest |code| in the view (32768 for -32768), 0 when empty.
    public var maxMagnitude: Int {
        var largest: UInt16 = 0
        for row in 0..<rows {
            let start = base + row * rowStride
            for column in 0..<columns { largest = max(largest, start[column * columnStride].magnitude) }
        }
        return Int(largest)
    }
}
