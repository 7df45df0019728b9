import PepitaEngine
import TestSupport
import XCTest

/// `Convolution` (per-sample patch matrices + the matrix-product kernel)
/// against direct indexing and the direct sum over the kernel, and `MaxPool`
/// on hand-worked examples; the same floats on 1 to 3 threads.
final class ConvolutionTests: XCTestCase {
    /// 2 input channels, 5 x 7 (non-square), batch 2, kernel 3, 3 output channels.
    private let shape = SampleShape(channels: 2, height: 5, width: 7)
    private let kernelSize = 3
    private let outChannels = 3
    private var outHeight: Int { shape.height - kernelSize + 1 }
    private var outWidth: Int { shape.width - kernelSize + 1 }

    private func fixture() -> (input: Matrix, weight: Matrix) {
        var values = TestValues(seed: 41)
        return (values.matrix(2, shape.featureCount, scale: 1),
                values.matrix(outChannels, shape.channels * kernelSize * kernelSize, scale: 1))
    }

    private func patches(_ input: Matrix, shape: SampleShape, kernelSize k: Int, threads: Int = 1) -> Matrix {
        Convolution.patchMatrices(input, shape: shape, kernelSize: k, threads: threads)
    }

    func testSampleLoopsGiveTheSameResultOnOneTwoAndThreeThreads() {
        // Large enough to be shared (100 samples of 2 x 16 x 16, kernel 3, 20
        // channels out) and small enough to stay on one thread (3 samples).
        let input = SampleShape(channels: 2, height: 16, width: 16)
        let pooledInput = SampleShape(channels: 20, height: 14, width: 14)
        forEveryKernelPath { path in
            for batch in [100, 3] {
                var values = TestValues(seed: 43)
                let x = values.matrix(batch, input.featureCount, scale: 1)
                let weight = values.matrix(20, 18, scale: 1)
                let delta = values.matrix(batch, pooledInput.featureCount, scale: 1)
                let single = patches(x, shape: input, kernelSize: 3)
                let output = Convolution.forward(patches: single, weight: weight, batch: batch, threads: 1)
                let gradient = Convolution.weightGradient(delta: delta, patches: single, outChannels: 20, patchSize: 18,
                                                          threads: 1)
                let pooled = MaxPool.forward(output.values, batch: batch, shape: pooledInput)
                // The one-thread results are themselves checked against direct sums and indexing in the other tests.
                for threads in [2, 3] {
                    let label = "[\(path.rawValue)] batch \(batch), \(threads) threads"
                    XCTAssertEqual(patches(x, shape: input, kernelSize: 3, threads: threads), single, label)
                    XCTAssertEqual(Convolution.forward(patches: single, weight: weight, batch: batch, threads: threads),
                                   output, label)
                    XCTAssertEqual(Convolution.weightGradient(delta: delta, patches: single, outChannels: 20, patchSize: 18,
                                                              threads: threads), gradient, label)
                    let threaded = MaxPool.forward(output.values, batch: batch, shape: pooledInput, threads: threads)
                    XCTAssertEqual(threaded.output, pooled.output, label)
                    XCTAssertEqual(threaded.winners, pooled.winners, label)
                }
                // Every pooled value is the largest of its block and names it.
                let channelMajor = output.values
                for b in 0..<batch {
                    for j in 0..<(20 * 7 * 7) {
                        let c = j / 49, oy = j % 49 / 7, ox = j % 7
                        let top = c * 196 + 2 * oy * 14 + 2 * ox
                        let block = [top, top + 1, top + 14, top + 15].map { channelMajor[b * 20 * 196 + $0] }
                        XCTAssertEqual(pooled.output[b * 20 * 49 + j], block.max()!)
                        XCTAssertEqual(channelMajor[b * 20 * 196 + Int(pooled.winners[b * 20 * 49 + j])], block.max()!)
                    }
                }
            }
        }
    }

    func testPatchMatrixRowIsTheInputUnderOneKernelOffsetAtEveryPosition() {
        // One channel, 3 x 4, values 0..11; kernel 2: 2 x 3 positions, patches of 4.
        let input = Matrix(rows: 1, columns: 12, values: (0..<12).map(Float.init))
        XCTAssertEqual(patches(input, shape: SampleShape(channels: 1, height: 3, width: 4), kernelSize: 2),
                       Matrix(rowsOf: [[0, 1, 2, 4, 5, 6], [1, 2, 3, 5, 6, 7], [4, 5, 6, 8, 9, 10], [5, 6, 7, 9, 10, 11]]))
    }

    func testPatchMatricesMatchDirectIndexingForTwoChannelsAndABatch() {
        let (input, _) = fixture()
        let matrices = patches(input, shape: shape, kernelSize: kernelSize)
        let positions = outHeight * outWidth, patchSize = shape.channels * kernelSize * kernelSize
        XCTAssertEqual(matrices.rows, 2 * patchSize)
        XCTAssertEqual(matrices.columns, positions)
        for b in 0..<2 {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    for c in 0..<shape.channels {
                        for ky in 0..<kernelSize {
                            for kx in 0..<kernelSize {
                                let expected = input[b, (c * shape.height + oy + ky) * shape.width + ox + kx]
                                let got = matrices[b * patchSize + (c * kernelSize + ky) * kernelSize + kx, oy * outWidth + ox]
                                XCTAssertEqual(got, expected, "b \(b) oy \(oy) ox \(ox) c \(c) ky \(ky) kx \(kx)")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(Convolution.patchMatrices([Float](), batch: 0, shape: shape, kernelSize: kernelSize), [])
    }

    func testForwardMatchesDirectConvolutionInChannelMajorOrder() {
        let (input, weight) = fixture()
        let matrices = patches(input, shape: shape, kernelSize: kernelSize)
        for threads in [1, 2] {
            let output = Convolution.forward(patches: matrices, weight: weight, batch: 2, threads: threads)
            let weightGrid = Oracle.grid(weight)
            let expected = Oracle.grid(input).map {
                Oracle.convolve($0, shape: shape, weight: weightGrid, kernelSize: kernelSize)
            }
            XCTAssertEqual(output.columns, outChannels * outHeight * outWidth)
            XCTAssertNil(Oracle.mismatch(output, expected, absolute: 1e-5, relative: 1e-5), "threads \(threads)")
        }
    }

    func testForwardOfASingleOneHotKernelShiftsTheInput() {
        // A kernel with a single 1 at (ky, kx) = (1, 2) reads input(oy + 1, ox + 2): exact.
        let input = Matrix(rows: 1, columns: 20, values: (0..<20).map(Float.init))  // 1 x 4 x 5
        var weight = Matrix(zeros: 1, 9)
        weight[0, 1 * 3 + 2] = 1
        let matrices = patches(input, shape: SampleShape(channels: 1, height: 4, width: 5), kernelSize: 3)
        let output = Convolution.forward(patches: matrices, weight: weight, batch: 1, threads: 1)
        XCTAssertEqual(output, Matrix(rowsOf: [[7, 8, 9, 12, 13, 14]]))
    }

    func testWeightGradientIsTheSumOverBatchAndPositionsOfDeltaTimesPatch() {
        let (input, _) = fixture()
        var values = TestValues(seed: 42)
        let positions = outHeight * outWidth
        let delta = values.matrix(2, outChannels * positions, scale: 1)
        let patchSize = shape.channels * kernelSize * kernelSize
        let gradient = Convolution.weightGradient(delta: delta, patches: patches(input, shape: shape, kernelSize: kernelSize),
                                                  outChannels: outChannels, patchSize: patchSize, threads: 1)
        var expected = Oracle.zeros(outChannels, shape.channels * kernelSize * kernelSize)
        for b in 0..<2 {
            for oc in 0..<outChannels {
                for oy in 0..<outHeight {
                    for ox in 0..<outWidth {
                        let d = Double(delta[b, (oc * outHeight + oy) * outWidth + ox])
                        for c in 0..<shape.channels {
                            for ky in 0..<kernelSize {
                                for kx in 0..<kernelSize {
                                    let pixel = Double(input[b, (c * shape.height + oy + ky) * shape.width + ox + kx])
                                    expected[oc][(c * kernelSize + ky) * kernelSize + kx] += d * pixel
                                }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertNil(Oracle.mismatch(gradient, expected, absolute: 1e-5, relative: 1e-5))
    }

    // MARK: Max pooling

    /// Two channels of 4 x 5 (the odd last column is dropped), hand-worked:
    ///
    ///     channel 0            channel 1
    ///     1 3 | 2 2 | 9        -1 -2 | 0 0 | 0
    ///     0 3 | 2 5 | 9        -3 -4 | 0 0 | 0
    ///     ----+-----           ------+----
    ///     7 1 | 4 4 | 9         6  8 | 1 1 | 0
    ///     1 7 | 4 4 | 9         8  8 | 1 1 | 0
    private let poolShape = SampleShape(channels: 2, height: 4, width: 5)
    private let poolInput: Matrix = {
        let channel0: [Float] = [1, 3, 2, 2, 9, 0, 3, 2, 5, 9, 7, 1, 4, 4, 9, 1, 7, 4, 4, 9]
        let channel1: [Float] = [-1, -2, 0, 0, 0, -3, -4, 0, 0, 0, 6, 8, 1, 1, 0, 8, 8, 1, 1, 0]
        return Matrix(rows: 1, columns: 40, values: channel0 + channel1)
    }()

    func testMaxPoolTakesTheLargestOfEachTwoByTwoBlockAndDropsTheOddColumn() {
        XCTAssertEqual(MaxPool.outputShape(poolShape), SampleShape(channels: 2, height: 2, width: 2))
        let (output, _) = MaxPool.forward(poolInput, shape: poolShape)
        XCTAssertEqual(output, Matrix(rowsOf: [[3, 5, 7, 4, -1, 0, 8, 1]]))
    }

    func testMaxPoolTiesGoToTheFirstInRowMajorOrder() {
        let (_, winners) = MaxPool.forward(poolInput, shape: poolShape)
        // channel 0: 3 at (0,1) and (1,1) -> (0,1); 5 at (1,3); 7 at (2,0) and (3,1) -> (2,0); all 4s -> (2,2).
        // channel 1 (offset 20): -1 at (0,0); all 0s -> (0,2); 8 at (2,1), (3,0), (3,1) -> (2,1); all 1s -> (2,2).
        let expected: [Int32] = [1, 8, 10, 12, 20, 22, 31, 32]
        XCTAssertEqual(winners, expected)
    }

    func testMaxPoolBackwardRoutesEachGradientToItsWinnerOnly() {
        let (_, winners) = MaxPool.forward(poolInput, shape: poolShape)
        let gradient = Matrix(rowsOf: [[10, 20, 30, 40, 50, 60, 70, 80]])
        let routed = MaxPool.backward(gradient, winners: winners, inputShape: poolShape)
        var expected = [Float](repeating: 0, count: 40)
        for (index, winner) in [1, 8, 10, 12, 20, 22, 31, 32].enumerated() { expected[winner] = gradient[0, index] }
        XCTAssertEqual(routed, Matrix(rows: 1, columns: 40, values: expected))
    }

    func testMaxPoolHandlesEachSampleOfABatchSeparately() {
        var values = TestValues(seed: 43)
        let shape = SampleShape(channels: 3, height: 5, width: 6)
        let input = values.matrix(3, shape.featureCount, scale: 1)
        let (output, winners) = MaxPool.forward(input, shape: shape)
        for b in 0..<3 {
            let expected = Oracle.maxPool(Oracle.grid(input)[b], shape: shape)
            XCTAssertEqual(output.values[b * 18 ..< (b + 1) * 18].map(Double.init), expected.output, "sample \(b)")
            XCTAssertEqual(winners[b * 18 ..< (b + 1) * 18].map(Int.init), expected.winners, "sample \(b)")
        }
    }
}
