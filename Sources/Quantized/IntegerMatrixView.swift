/// A read-only view of a matrix of `Int16` fixed-point codes, row-major or
/// transposed, the integer twin of `StridedMatrix`.
///
/// Element `(row, column)` lives at `base[row * rowStride + column * columnStride]`,
/// so the same storage is read as a matrix (`columnStride == 1`) or as its
/// transpose (`rowStride == 1`) without copying.
public struct IntegerMatrixView {
    public let base: UnsafePointer<Int16>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int
    public let columnStride: Int

    public init(base: UnsafePointer<Int16>, rows: Int, columns: Int, rowStride: Int, columnStride: Int) {
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride
        self.columnStride = columnStride
    }

    /// A dense row-major `rows x columns` matrix.
    public static func rowMajor(_ base: UnsafePointer<Int16>, rows: Int, columns: Int) -> IntegerMatrixView {
        IntegerMatrixView(base: base, rows: rows, columns: columns, rowStride: columns, columnStride: 1)
    }

    /// The transpose of a dense row-major `storedRows x storedColumns` matrix,
    /// i.e. a `storedColumns x storedRows` view.
    public static func transposeOf(_ base: UnsafePointer<Int16>, storedRows: Int, storedColumns: Int) -> IntegerMatrixView {
        IntegerMatrixView(base: base, rows: storedColumns, columns: storedRows, rowStride: 1, columnStride: storedColumns)
    }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Int16 {
        base[row * rowStride + column * columnStride]
    }

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
