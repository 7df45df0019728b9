/// A read-only view of a row-major or transposed matrix in memory, of float
/// values (`StridedMatrix`) or of `Int16` fixed-point codes (`IntegerMatrixView`).
///
/// Element `(row, column)` lives at `base[row * rowStride + column * columnStride]`,
/// so the same storage can be read as a matrix (`columnStride == 1`) or as its
/// transpose (`rowStride == 1`) without copying. The kernels take views so that
/// the three products training needs (`X W^T`, `dY^T X`, `dY W`) are one kernel.
public struct StridedView<Element> {
    public let base: UnsafePointer<Element>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int
    public let columnStride: Int

    public init(base: UnsafePointer<Element>, rows: Int, columns: Int, rowStride: Int, columnStride: Int) {
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride
        self.columnStride = columnStride
    }

    /// A dense row-major `rows x columns` matrix.
    public static func rowMajor(_ base: UnsafePointer<Element>, rows: Int, columns: Int) -> StridedView {
        StridedView(base: base, rows: rows, columns: columns, rowStride: columns, columnStride: 1)
    }

    /// The transpose of a dense row-major `storedRows x storedColumns` matrix,
    /// i.e. a `storedColumns x storedRows` view.
    public static func transposeOf(_ base: UnsafePointer<Element>, storedRows: Int, storedColumns: Int) -> StridedView {
        StridedView(base: base, rows: storedColumns, columns: storedRows, rowStride: 1, columnStride: storedColumns)
    }

    /// A dense row-major `storedRows x storedColumns` matrix read as itself or,
    /// with `transposed`, as its transpose: the operand `op(M)` of a product.
    public static func of(_ base: UnsafePointer<Element>, storedRows: Int, storedColumns: Int,
                          transposed: Bool) -> StridedView {
        transposed ? transposeOf(base, storedRows: storedRows, storedColumns: storedColumns)
            : rowMajor(base, rows: storedRows, columns: storedColumns)
    }

    /// The same shape and strides starting `offset` elements further on.
    public func movedOn(_ offset: Int) -> StridedView {
        StridedView(base: base + offset, rows: rows, columns: columns, rowStride: rowStride, columnStride: columnStride)
    }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Element {
        base[row * rowStride + column * columnStride]
    }
}

/// A view of float values, the operand of `FloatGEMM`.
public typealias StridedMatrix = StridedView<Float>
