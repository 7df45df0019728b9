import Quantized

/// Elements the conv layout changes move: `transpose` writes
/// `target[c * rows + r] = source[r * columns + c]` into uninitialised memory.
/// Float (the float engine) and Int64 (fixed-point sums) use the vectorised C
/// transposes; other elements (Int16 codes) the plain loop.
public protocol TransposableElement {
    static func transpose(_ source: UnsafePointer<Self>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Self>)
}

extension TransposableElement {
    /// Reads each row once and writes `columns` lines side by side.
    public static func transpose(_ source: UnsafePointer<Self>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Self>) {
        for row in 0..<rows {
            let line = source + row * columns
            for column in 0..<columns { (target + (column &* rows &+ row)).initialize(to: line[column]) }
        }
    }
}

extension Float: TransposableElement {
    public static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>) {
        FloatElementwise.transpose(source, rows: rows, columns: columns, into: target)
    }
}

extension Int64: TransposableElement {
    public static func transpose(_ source: UnsafePointer<Int64>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Int64>) {
        FloatElementwise.transpose(source, rows: rows, columns: columns, into: target)
    }
}

extension Int16: TransposableElement {}

/// Convolution (stride 1, no padding) and 2x2 max pooling on batches stored
/// `batch x (channels * height * width)` in C, H, W order.
///
/// The convolution is im2col + the one matrix-product kernel: the input is
/// unfolded into patches, a `(batch * positions) x (inChannels * k * k)` matrix
/// whose row `(b, oy, ox)` holds the input patch under the kernel at that output
/// position, in (channel, ky, kx) order — the order of a conv weight's columns.
/// The layout helpers are generic so the float and the fixed-point engines
/// share them.
public enum Convolution {
    /// The unfolded input patches of `batch` samples of `shape`, row-major
    /// `(batch * positions) x (channels * k * k)`.
    /// Samples are shared among up to `threads` threads (each writes its own rows).
    public static func unfold<Element>(_ input: [Element], batch: Int, shape: SampleShape, kernelSize k: Int,
                                       threads: Int = 1) -> [Element] {
        let outHeight = shape.height - k + 1, outWidth = shape.width - k + 1
        let positions = outHeight * outWidth
        let patchSize = shape.channels * k * k
        precondition(input.count == batch * shape.featureCount)
        // Written through buffers: appending slices retains and releases the
        // input array once per kernel row, which dominated the conv epoch.
        return [Element](unsafeUninitializedCapacity: batch * positions * patchSize) { columns, count in
            input.withUnsafeBufferPointer { input in
                perSample(batch: batch, elementsPerSample: positions * patchSize, threads: threads) { samples in
                    for b in samples {
                        let sample = b * shape.featureCount
                        var next = b * positions * patchSize
                        for oy in 0..<outHeight {
                            for ox in 0..<outWidth {
                                for c in 0..<shape.channels {
                                    let plane = sample + c * shape.height * shape.width
                                    for ky in 0..<k {
                                        let row = plane + (oy + ky) * shape.width + ox
                                        for kx in 0..<k { (columns.baseAddress! + next + kx).initialize(to: input[row + kx]) }
                                        next += k
                                    }
                                }
                            }
                        }
                    }
                }
            }
            count = batch * positions * patchSize
        }
    }

    /// The same patches as `unfold`, transposed per sample: each sample's
    /// `(channels * k * k) x positions` matrix, samples one after the other.
    /// Row `(c, ky, kx)` holds, at column `(oy, ox)`, `input[c, oy + ky, ox + kx]`,
    /// so every output row of a row is one contiguous run of an input row.
    /// Samples are shared among up to `threads` threads (each writes its own).
    public static func patchMatrices<Element>(_ input: [Element], batch: Int, shape: SampleShape, kernelSize k: Int,
                                              threads: Int = 1) -> [Element] {
        let outHeight = shape.height - k + 1, outWidth = shape.width - k + 1
        let positions = outHeight * outWidth
        let patchSize = shape.channels * k * k
        precondition(input.count == batch * shape.featureCount)
        return [Element](unsafeUninitializedCapacity: batch * positions * patchSize) { patches, count in
            input.withUnsafeBufferPointer { input in
                perSample(batch: batch, elementsPerSample: positions * patchSize, threads: threads) { samples in
                    for b in samples {
                        var target = patches.baseAddress! + b * patchSize * positions
                        for c in 0..<shape.channels {
                            let plane = input.baseAddress! + b * shape.featureCount + c * shape.height * shape.width
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    for oy in 0..<outHeight {
                                        (target + oy * outWidth).initialize(from: plane + (oy + ky) * shape.width + kx,
                                                                            count: outWidth)
                                    }
                                    target += positions
                                }
                            }
                        }
                    }
                }
            }
            count = batch * positions * patchSize
        }
    }

    /// `Matrix` form of `unfold`.
    public static func unfold(_ input: Matrix, shape: SampleShape, kernelSize k: Int, threads: Int = 1) -> Matrix {
        let positions = (shape.height - k + 1) * (shape.width - k + 1)
        return Matrix(rows: input.rows * positions, columns: shape.channels * k * k,
                      values: unfold(input.values, batch: input.rows, shape: shape, kernelSize: k, threads: threads))
    }

    /// Calls `body` with ranges of samples that together cover `0..<batch`, on up
    /// to `threads` threads when the loop is large enough to share.
    static func perSample(batch: Int, elementsPerSample: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        TilePartition.runBlocks(count: batch, block: 1, multiplyAdds: batch * elementsPerSample, threads: threads) { _, samples in
            body(samples)
        }
    }

    /// Convolution output `batch x (outChannels * positions)` from unfolded
    /// input `columns` and weight `outChannels x patchSize`.
    public static func forward(columns: Matrix, weight: Matrix, batch: Int, threads: Int,
                               counting: ProductCounting? = nil) -> Matrix {
        // (batch*positions x patch) * (patch x outChannels): one product, then
        // each sample's (positions x outChannels) block is transposed to C, H, W.
        let positionMajor = product(columns, weight, transposeB: true, threads: threads, counting: counting)
        return Matrix(rows: batch, columns: positionMajor.count / batch,
                      values: positionMajorToChannelMajor(positionMajor.values, batch: batch, channels: weight.rows,
                                                          threads: threads))
    }

    /// `sum over b, positions of outer(delta[b, :, position], columns[(b, position), :])`:
    /// the weight gradient `outChannels x patchSize` (a plain sum, not averaged).
    public static func weightGradient(delta: Matrix, columns: Matrix, outChannels: Int, threads: Int,
                                      counting: ProductCounting? = nil) -> Matrix {
        let batch = delta.rows
        let positionMajor = channelMajorToPositionMajor(delta.values, batch: batch, channels: outChannels, threads: threads)
        let deltaPositionMajor = Matrix(rows: positionMajor.count / outChannels, columns: outChannels, values: positionMajor)
        return product(deltaPositionMajor, columns, transposeA: true, threads: threads, counting: counting)
    }

    /// `(batch*positions) x channels` -> `batch x (channels*positions)`.
    public static func positionMajorToChannelMajor<Element: TransposableElement>(_ values: [Element], batch: Int, channels: Int,
                                                            threads: Int = 1) -> [Element] {
        let positions = values.isEmpty ? 0 : values.count / (batch * channels)
        return transposedPerSample(values, batch: batch, rows: positions, columns: channels, threads: threads)
    }

    /// `batch x (channels*positions)` -> `(batch*positions) x channels`.
    public static func channelMajorToPositionMajor<Element: TransposableElement>(_ values: [Element], batch: Int, channels: Int,
                                                            threads: Int = 1) -> [Element] {
        let positions = values.isEmpty ? 0 : values.count / (batch * channels)
        return transposedPerSample(values, batch: batch, rows: channels, columns: positions, threads: threads)
    }

    /// Each sample's `rows x columns` block transposed (`Element.transpose`);
    /// samples shared among up to `threads` threads.
    static func transposedPerSample<Element: TransposableElement>(_ values: [Element], batch: Int, rows: Int, columns: Int,
                                             threads: Int = 1) -> [Element] {
        let block = rows * columns
        precondition(values.count == batch * block, "\(values.count) values for \(batch) samples of \(rows) x \(columns)")
        return [Element](unsafeUninitializedCapacity: values.count) { result, count in
            values.withUnsafeBufferPointer { source in
                guard block > 0 else { return }
                perSample(batch: batch, elementsPerSample: block, threads: threads) { samples in
                    for b in samples {
                        Element.transpose(source.baseAddress! + b * block, rows: rows, columns: columns,
                                          into: result.baseAddress! + b * block)
                    }
                }
            }
            count = values.count
        }
    }
}

/// 2x2 max pooling with stride 2 (odd trailing rows/columns are dropped, as
/// PyTorch's `MaxPool2d(2, 2)` does). The forward pass records, for every
/// pooled value, the flat index of the winning input so backprop can route
/// its gradient there. Counts: three compares per pooled value forward; one
/// add per pooled value backward (routing it to its winner).
public enum MaxPool {
    public static func outputShape(_ shape: SampleShape) -> SampleShape {
        SampleShape(channels: shape.channels, height: shape.height / 2, width: shape.width / 2)
    }

    /// Pooled values (`batch x pooled features`) and the winning input index
    /// (within its sample) of each. Ties go to the first in row-major order.
    /// Samples are shared among up to `threads` threads (each writes its own outputs).
    public static func forward<Element: Comparable>(_ input: [Element], batch: Int, shape: SampleShape, threads: Int = 1,
                                                    recorder: OperationRecorder? = nil) -> (output: [Element], winners: [Int32]) {
        let pooled = outputShape(shape)
        precondition(input.count == batch * shape.featureCount)
        recorder?.count(OperationTally(compares: 3 * batch * pooled.featureCount))
        let total = batch * pooled.featureCount
        var winners = [Int32](repeating: 0, count: total)
        let output = [Element](unsafeUninitializedCapacity: total) { output, count in
            input.withUnsafeBufferPointer { input in
                winners.withUnsafeMutableBufferPointer { winners in
                    Convolution.perSample(batch: batch, elementsPerSample: 4 * pooled.featureCount, threads: threads) { samples in
                        for b in samples {
                            let sample = input.baseAddress! + b * shape.featureCount
                            var next = b * pooled.featureCount
                            for c in 0..<shape.channels {
                                for oy in 0..<pooled.height {
                                    for ox in 0..<pooled.width {
                                        let topLeft = c * shape.height * shape.width + (2 * oy) * shape.width + 2 * ox
                                        var bestIndex = topLeft
                                        var best = sample[topLeft]
                                        // The other three in row-major order.
                                        let right = topLeft + 1, below = topLeft + shape.width, belowRight = below + 1
                                        if sample[right] > best { best = sample[right]; bestIndex = right }
                                        if sample[below] > best { best = sample[below]; bestIndex = below }
                                        if sample[belowRight] > best { best = sample[belowRight]; bestIndex = belowRight }
                                        (output.baseAddress! + next).initialize(to: best)
                                        winners[next] = Int32(bestIndex)
                                        next += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
            count = total
        }
        return (output, winners)
    }

    public static func forward(_ input: Matrix, shape: SampleShape, threads: Int = 1,
                               recorder: OperationRecorder? = nil) -> (output: Matrix, winners: [Int32]) {
        let (values, winners) = forward(input.values, batch: input.rows, shape: shape, threads: threads, recorder: recorder)
        return (Matrix(rows: input.rows, columns: outputShape(shape).featureCount, values: values), winners)
    }

    /// Routes each pooled gradient to its winning input; the rest get zero.
    public static func backward<Element: AdditiveArithmetic>(_ gradient: [Element], batch: Int, winners: [Int32], inputShape: SampleShape,
                                                             recorder: OperationRecorder? = nil) -> [Element] {
        recorder?.count(OperationTally(adds: gradient.count))
        var result = [Element](repeating: .zero, count: batch * inputShape.featureCount)
        let pooledCount = gradient.count / batch
        for b in 0..<batch {
            for j in 0..<pooledCount {
                let flat = b * pooledCount + j
                result[b * inputShape.featureCount + Int(winners[flat])] += gradient[flat]
            }
        }
        return result
    }

    public static func backward(_ gradient: Matrix, winners: [Int32], inputShape: SampleShape,
                                recorder: OperationRecorder? = nil) -> Matrix {
        Matrix(rows: gradient.rows, columns: inputShape.featureCount,
               values: backward(gradient.values, batch: gradient.rows, winners: winners, inputShape: inputShape,
                                recorder: recorder))
    }
}
