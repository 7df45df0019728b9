import Quantized

/// A dense row-major float matrix. A batch of activations is `batch x features`
/// (each row one sample, features in C, H, W order for image-shaped layers);
/// a dense weight is `outputs x inputs`; a conv weight is
/// `outChannels x (inChannels * kernelHeight * kernelWidth)`.
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "matrix \(rows)x\(columns) given \(values.count) values")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(zeros rows: Int, _ columns: Int) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: 0, count: rows * columns))
    }

    /// A matrix whose every element `fill` writes through the buffer it is
    /// given (uninitialised memory: no zeroing first).
    public init(rows: Int, columns: Int, writingEvery fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.init(rows: rows, columns: columns, values: [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
            fill(buffer)
            count = rows * columns
        })
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public var count: Int { values.count }
}

/// The entry point for float matrix products in the engine:
/// `op(a) * op(b)` where `op` transposes when asked. Every dense layer goes
/// through here (conv layers through `Convolution.forward` / `weightGradient`,
/// which count the same way), so speed and counting live in one place: with
/// `counting`, the product records `m k n` MACs (plus `m n` adds when it
/// accumulates into `accumulator`) and its operands' and result's bytes.
public func product(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false,
                    accumulatingInto accumulator: Matrix? = nil, threads: Int,
                    counting: ProductCounting? = nil) -> Matrix {
    let m = transposeA ? a.columns : a.rows
    let n = transposeB ? b.rows : b.columns
    if let accumulator { precondition(accumulator.rows == m && accumulator.columns == n, "accumulator shape mismatch") }
    counting?.record(m: m, k: transposeA ? a.rows : a.columns, n: n, accumulates: accumulator != nil,
                     leftBytes: 4, rightBytes: 4, resultBytes: 4, resultIsAccumulator: false)
    if m * n == 0 || a.values.isEmpty || b.values.isEmpty { return accumulator ?? Matrix(zeros: m, n) }
    func multiply(into c: UnsafeMutablePointer<Float>) {
        a.values.withUnsafeBufferPointer { aBuffer in
            b.values.withUnsafeBufferPointer { bBuffer in
                let aView = StridedMatrix.of(aBuffer.baseAddress!, storedRows: a.rows,
                                             storedColumns: a.columns, transposed: transposeA)
                let bView = StridedMatrix.of(bBuffer.baseAddress!, storedRows: b.rows,
                                             storedColumns: b.columns, transposed: transposeB)
                FloatGEMM.multiply(aView, bView, into: c, ldc: n, accumulate: accumulator != nil, threads: threads)
            }
        }
    }
    if var result = accumulator {
        result.values.withUnsafeMutableBufferPointer { multiply(into: $0.baseAddress!) }
        return result
    }
    // A fresh result is written whole by the product.
    return Matrix(rows: m, columns: n) { multiply(into: $0.baseAddress!) }
}

/// `a * b` with `b` already packed (`FloatGEMM.pack`), counted as `product` counts it.
public func product(_ a: Matrix, _ b: FloatPackedOperand, threads: Int, counting: ProductCounting? = nil) -> Matrix {
    let m = a.rows, n = b.columns
    counting?.record(m: m, k: a.columns, n: n, accumulates: false, leftBytes: 4, rightBytes: 4, resultBytes: 4,
                     resultIsAccumulator: false)
    if m * n == 0 || a.values.isEmpty { return Matrix(zeros: m, n) }
    return Matrix(rows: m, columns: n) { c in
        a.values.withUnsafeBufferPointer { aBuffer in
            let aView = StridedMatrix.rowMajor(aBuffer.baseAddress!, rows: a.rows, columns: a.columns)
            FloatGEMM.multiply(aView, b, into: c.baseAddress!, ldc: n, threads: threads)
        }
    }
}
