import Quantized

/// Convolution (stride 1, no padding) and 2x2 max pooling on batches stored
/// `batch x (channels * height * width)` in C, H, W order.
///
/// The convolution is im2col + the one matrix-product kernel, per sample: each
/// sample's input is laid out as its patch matrix, `(inChannels * k * k) x
/// positions`, whose row `(channel, ky, kx)` — the order of a conv weight's
/// columns — holds the input under that kernel offset at every output position
/// `(oy, ox)`. The weight times a sample's patch matrix is that sample's output
/// in C, H, W order, and the weight gradient is the sum over samples of each
/// sample's delta times its patch matrix transposed, so no layout changes are
/// needed. The fixed-point engine shares `patchMatrices` and pooling (generic)
/// and multiplies in `FixedPointArithmetic.convolutionSums` /
/// `convolutionWeightSums`.
public enum Convolution {
    /// Each sample's patch matrix, samples one after the other: row `(c, ky,
    /// kx)` holds, at column `(oy, ox)`, `input[c, oy + ky, ox + kx]`, so each
    /// row is `outHeight` contiguous runs copied from input rows.
    /// Samples are shared among up to `threads` threads (each writes its own).
    public static func patchMatrices<Element>(_ input: [Element], batch: Int, shape: SampleShape, kernelSize k: Int,
                                              threads: Int = 1) -> [Element] {
        let outHeight = shape.height - k + 1, outWidth = shape.width - k + 1
        let positions = outHeight * outWidth
        let patchSize = shape.channels * k * k
        precondition(input.count == batch * shape.featureCount)
        return [Element](unsafeUninitializedCapacity: batch * positions * patchSize) { patches, count in
            guard batch * positions * patchSize > 0 else { return }
            input.withUnsafeBufferPointer { input in
                TilePartition.runSamples(batch: batch, multiplyAdds: batch * positions * patchSize, threads: threads) { b in
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
            count = batch * positions * patchSize
        }
    }

    /// `Matrix` form of `patchMatrices`: `batch * (channels * k * k)` rows of `positions`.
    public static func patchMatrices(_ input: Matrix, shape: SampleShape, kernelSize k: Int, threads: Int = 1) -> Matrix {
        Matrix(rows: input.rows * shape.channels * k * k, columns: (shape.height - k + 1) * (shape.width - k + 1),
               values: patchMatrices(input.values, batch: input.rows, shape: shape, kernelSize: k, threads: threads))
    }

    /// Convolution output `batch x (outChannels * positions)`, channel-major as
    /// a conv output is stored: each sample's patch matrix (`patchMatrices`;
    /// `patches` holds `batch * patchSize` rows of `positions`) multiplied by
    /// `weight` (`outChannels x patchSize`) from the left. The same multiply-adds
    /// as, and counted as, the one product `patches (batch*positions x patchSize) · W^T`.
    public static func forward(patches: Matrix, weight: Matrix, batch: Int, threads: Int,
                               counting: ProductCounting? = nil) -> Matrix {
        let outChannels = weight.rows, patchSize = weight.columns, positions = patches.columns
        precondition(patches.rows == batch * patchSize, "patches do not match the weight's \(patchSize) columns")
        counting?.record(m: batch * positions, k: patchSize, n: outChannels, accumulates: false, leftBytes: 4,
                         rightBytes: 4, resultBytes: 4, resultIsAccumulator: false)
        if patches.values.isEmpty || weight.values.isEmpty { return Matrix(zeros: batch, outChannels * positions) }
        return Matrix(rows: batch, columns: outChannels * positions) { output in
            patches.values.withUnsafeBufferPointer { patches in
                weight.values.withUnsafeBufferPointer { weight in
                    FloatGEMM.multiplyEachSample(
                        .rowMajor(weight.baseAddress!, rows: outChannels, columns: patchSize), aSampleStride: 0,
                        .rowMajor(patches.baseAddress!, rows: patchSize, columns: positions),
                        bSampleStride: patchSize * positions, batch: batch,
                        into: output.baseAddress!, ldc: positions, cSampleStride: outChannels * positions, threads: threads)
                }
            }
        }
    }

    /// The weight gradient `outChannels x patchSize` (a plain sum, not averaged):
    /// over every sample and position, `delta` (channel-major, `batch x
    /// (outChannels * positions)`) times the patch matrices transposed, the
    /// samples added in order. The same multiply-adds as, and counted as,
    /// `delta^T (outChannels x batch*positions) · patches`.
    public static func weightGradient(delta: Matrix, patches: Matrix, outChannels: Int, patchSize: Int, threads: Int,
                                      counting: ProductCounting? = nil) -> Matrix {
        let batch = delta.rows, positions = patches.columns
        precondition(delta.columns == outChannels * positions && patches.rows == batch * patchSize,
                     "delta and patches differ in samples or positions")
        counting?.record(m: outChannels, k: batch * positions, n: patchSize, accumulates: false, leftBytes: 4,
                         rightBytes: 4, resultBytes: 4, resultIsAccumulator: false)
        if delta.values.isEmpty || patches.values.isEmpty { return Matrix(zeros: outChannels, patchSize) }
        return Matrix(rows: outChannels, columns: patchSize) { gradient in
            delta.values.withUnsafeBufferPointer { delta in
                patches.values.withUnsafeBufferPointer { patches in
                    FloatGEMM.multiplySummingSamples(
                        .rowMajor(delta.baseAddress!, rows: outChannels, columns: positions),
                        aSampleStride: outChannels * positions,
                        .transposeOf(patches.baseAddress!, storedRows: patchSize, storedColumns: positions),
                        bSampleStride: patchSize * positions, batch: batch,
                        into: gradient.baseAddress!, ldc: patchSize, threads: threads)
                }
            }
        }
    }
}

/// Values `MaxPool` pools with `PoolingKernel`: the float engine's values and
/// the fixed-point engine's codes.
public protocol PoolableElement {
    static func maxPool(_ input: UnsafePointer<Self>, planes: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Self>, winners: UnsafeMutablePointer<Int32>)
}

extension Float: PoolableElement {
    public static func maxPool(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>) {
        PoolingKernel.maxPool(input, planes: planes, height: height, width: width, output: output, winners: winners)
    }
}

extension Int16: PoolableElement {
    public static func maxPool(_ input: UnsafePointer<Int16>, planes: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Int16>, winners: UnsafeMutablePointer<Int32>) {
        PoolingKernel.maxPool(input, planes: planes, height: height, width: width, output: output, winners: winners)
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
    /// Samples are shared among up to `threads` threads (each writes its own
    /// outputs); each sample is one `PoolingKernel` call.
    public static func forward<Element: PoolableElement>(_ input: [Element], batch: Int, shape: SampleShape, threads: Int = 1,
                                                         recorder: OperationRecorder? = nil) -> (output: [Element], winners: [Int32]) {
        let pooled = outputShape(shape)
        precondition(input.count == batch * shape.featureCount)
        precondition(shape.featureCount <= Int(Int32.max), "winner indices must fit Int32")
        recorder?.count(OperationTally(compares: 3 * batch * pooled.featureCount))
        let total = batch * pooled.featureCount
        var winners: [Int32] = []
        let output = [Element](unsafeUninitializedCapacity: total) { output, count in
            winners = [Int32](unsafeUninitializedCapacity: total) { winners, winnerCount in
                input.withUnsafeBufferPointer { input in
                    guard total > 0 else { return }
                    TilePartition.runSamples(batch: batch, multiplyAdds: 4 * total, threads: threads) { b in
                        Element.maxPool(input.baseAddress! + b * shape.featureCount, planes: shape.channels,
                                        height: shape.height, width: shape.width,
                                        output: output.baseAddress! + b * pooled.featureCount,
                                        winners: winners.baseAddress! + b * pooled.featureCount)
                    }
                }
                winnerCount = total
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
