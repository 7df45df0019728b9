/// Convolution (stride 1, no padding) and 2x2 max pooling on batches stored
/// `batch x (channels * height * width)` in C, H, W order.
///
/// The convolution is im2col + the one matrix-product kernel: the input is
/// unfolded into `columns`, a `(batch * positions) x (inChannels * k * k)` matrix
/// whose row `(b, oy, ox)` holds the input patch under the kernel at that output
/// position, in (channel, ky, kx) order — the order of a conv weight's columns.
public enum Convolution {
    /// The unfolded input patches (see the type's documentation).
    public static func unfold(_ input: Matrix, shape: SampleShape, kernelSize k: Int) -> Matrix {
        let outHeight = shape.height - k + 1, outWidth = shape.width - k + 1
        let positions = outHeight * outWidth
        let patchSize = shape.channels * k * k
        var columns = Matrix(zeros: input.rows * positions, patchSize)
        input.values.withUnsafeBufferPointer { source in
            columns.values.withUnsafeMutableBufferPointer { target in
                for b in 0..<input.rows {
                    let sample = source.baseAddress! + b * shape.featureCount
                    for oy in 0..<outHeight {
                        for ox in 0..<outWidth {
                            var out = target.baseAddress! + ((b * positions) + oy * outWidth + ox) * patchSize
                            for c in 0..<shape.channels {
                                let plane = sample + c * shape.height * shape.width
                                for ky in 0..<k {
                                    let row = plane + (oy + ky) * shape.width + ox
                                    for kx in 0..<k { out[kx] = row[kx] }
                                    out += k
                                }
                            }
                        }
                    }
                }
            }
        }
        return columns
    }

    /// Convolution output `batch x (outChannels * positions)` from unfolded
    /// input `columns` and weight `outChannels x patchSize`.
    public static func forward(columns: Matrix, weight: Matrix, batch: Int, threads: Int) -> Matrix {
        // (batch*positions x patch) * (patch x outChannels): one product, then
        // each sample's (positions x outChannels) block is transposed to C, H, W.
        let positionMajor = product(columns, weight, transposeB: true, threads: threads)
        return positionMajorToChannelMajor(positionMajor, batch: batch)
    }

    /// `sum over b, positions of outer(delta[b, :, position], columns[(b, position), :])`:
    /// the weight gradient `outChannels x patchSize` (a plain sum, not averaged).
    public static func weightGradient(delta: Matrix, columns: Matrix, outChannels: Int, threads: Int) -> Matrix {
        let batch = delta.rows
        let deltaPositionMajor = channelMajorToPositionMajor(delta, batch: batch, channels: outChannels)
        return product(deltaPositionMajor, columns, transposeA: true, threads: threads)
    }

    /// `(batch*positions) x channels` -> `batch x (channels*positions)`.
    static func positionMajorToChannelMajor(_ matrix: Matrix, batch: Int) -> Matrix {
        let channels = matrix.columns, positions = matrix.rows / batch
        var result = Matrix(zeros: batch, channels * positions)
        for b in 0..<batch {
            for p in 0..<positions {
                let source = (b * positions + p) * channels
                for c in 0..<channels {
                    result.values[b * channels * positions + c * positions + p] = matrix.values[source + c]
                }
            }
        }
        return result
    }

    /// `batch x (channels*positions)` -> `(batch*positions) x channels`.
    static func channelMajorToPositionMajor(_ matrix: Matrix, batch: Int, channels: Int) -> Matrix {
        let positions = matrix.columns / channels
        var result = Matrix(zeros: batch * positions, channels)
        for b in 0..<batch {
            for c in 0..<channels {
                let source = b * channels * positions + c * positions
                for p in 0..<positions {
                    result.values[(b * positions + p) * channels + c] = matrix.values[source + p]
                }
            }
        }
        return result
    }
}

/// 2x2 max pooling with stride 2 (odd trailing rows/columns are dropped, as
/// PyTorch's `MaxPool2d(2, 2)` does). The forward pass records, for every
/// pooled value, the flat index of the winning input so backprop can route
/// its gradient there.
public enum MaxPool {
    public static func outputShape(_ shape: SampleShape) -> SampleShape {
        SampleShape(channels: shape.channels, height: shape.height / 2, width: shape.width / 2)
    }

    /// Returns pooled values and the winning input index (within the sample) of each.
    /// Ties go to the first in row-major order.
    public static func forward(_ input: Matrix, shape: SampleShape) -> (output: Matrix, winners: [Int32]) {
        let pooled = outputShape(shape)
        var output = Matrix(zeros: input.rows, pooled.featureCount)
        var winners = [Int32](repeating: 0, count: output.count)
        for b in 0..<input.rows {
            let sampleBase = b * shape.featureCount
            for c in 0..<shape.channels {
                for oy in 0..<pooled.height {
                    for ox in 0..<pooled.width {
                        let topLeft = c * shape.height * shape.width + (2 * oy) * shape.width + 2 * ox
                        var bestIndex = topLeft
                        var best = input.values[sampleBase + topLeft]
                        for index in [topLeft + 1, topLeft + shape.width, topLeft + shape.width + 1] {
                            let value = input.values[sampleBase + index]
                            if value > best { best = value; bestIndex = index }
                        }
                        let outIndex = b * pooled.featureCount + (c * pooled.height + oy) * pooled.width + ox
                        output.values[outIndex] = best
                        winners[outIndex] = Int32(bestIndex)
                    }
                }
            }
        }
        return (output, winners)
    }

    /// Routes each pooled gradient to its winning input; the rest get zero.
    public static func backward(_ gradient: Matrix, winners: [Int32], inputShape: SampleShape) -> Matrix {
        var result = Matrix(zeros: gradient.rows, inputShape.featureCount)
        let pooledCount = gradient.columns
        for b in 0..<gradient.rows {
            for j in 0..<pooledCount {
                let flat = b * pooledCount + j
                result.values[b * inputShape.featureCount + Int(winners[flat])] += gradient.values[flat]
            }
        }
        return result
    }
}
