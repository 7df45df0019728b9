import PepitaEngine
import TestSupport
import XCTest

/// `Convolution` (im2col + the matrix-product kernel) against the direct sum
/// over the kernel, and `MaxPool` on hand-worked examples.
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

    private func assertLayoutChangesMoveEveryValue<Element: Equatable & TransposableElement>(_ make: (Int) -> Element) {
        // Sizes around the eight-row blocks of the float transpose, and an empty batch.
        for (batch, positions, channels) in [(3, 7, 5), (2, 33, 17), (1, 16, 16), (4, 1, 40), (0, 9, 3), (2, 8, 9), (1, 576, 32)] {
            let values = (0..<(batch * positions * channels)).map(make)
            let channelMajor = Convolution.positionMajorToChannelMajor(values, batch: batch, channels: channels)
            var expected = values
            for b in 0..<batch {
                for p in 0..<positions {
                    for c in 0..<channels {
                        expected[b * channels * positions + c * positions + p] = values[(b * positions + p) * channels + c]
                    }
                }
            }
            XCTAssertEqual(channelMajor, expected, "\(Element.self) \(batch) x \(positions) x \(channels)")
            XCTAssertEqual(Convolution.channelMajorToPositionMajor(channelMajor, batch: batch, channels: channels), values)
        }
        // No positions: a batch of empty samples.
        XCTAssertEqual(Convolution.positionMajorToChannelMajor([Element](), batch: 2, channels: 3), [])
    }

    func testLayoutChangesMoveEveryValueToItsIndexAndBack() {
        // Int16 codes through the generic loop; Float and Int64 (fixed-point sums)
        // through the vectorised transposes on every kernel path.
        assertLayoutChangesMoveEveryValue { Int16(truncatingIfNeeded: $0 * 7 - 3) }
        forEveryKernelPath { _ in
            assertLayoutChangesMoveEveryValue { Float($0 * 7 - 3) }
            assertLayoutChangesMoveEveryValue { Int64($0 * 7 - 3) << 33 | Int64($0) }
        }
    }

    func testSampleLoopsGiveTheSameResultOnOneTwoAndThreeThreads() {
        // Large enough to be shared (100 samples of 2 x 16 x 16, kernel 3, 20
        // channels out) and small enough to stay on one thread (3 samples).
        let input = SampleShape(channels: 2, height: 16, width: 16)
        for batch in [100, 3] {
            var values = TestValues(seed: 43)
            let x = values.matrix(batch, input.featureCount, scale: 1).values
            let single = Convolution.unfold(x, batch: batch, shape: input, kernelSize: 3)
            let positions = 14 * 14, channels = 20
            let sums = values.matrix(batch * positions, channels, scale: 1).values
            let channelMajor = Convolution.positionMajorToChannelMajor(sums, batch: batch, channels: channels)
            let pooledInput = SampleShape(channels: channels, height: 14, width: 14)
            let pooled = MaxPool.forward(channelMajor, batch: batch, shape: pooledInput)
            // The one-thread results are themselves checked against direct indexing below and in the other tests.
            XCTAssertEqual(single, Convolution.unfold(x, batch: batch, shape: input, kernelSize: 3, threads: 1))
            for threads in [2, 3] {
                let label = "batch \(batch), \(threads) threads"
                XCTAssertEqual(Convolution.unfold(x, batch: batch, shape: input, kernelSize: 3, threads: threads), single, label)
                XCTAssertEqual(Convolution.positionMajorToChannelMajor(sums, batch: batch, channels: channels, threads: threads),
                               channelMajor, label)
                XCTAssertEqual(Convolution.channelMajorToPositionMajor(channelMajor, batch: batch, channels: channels,
                                                                       threads: threads), sums, label)
                let threaded = MaxPool.forward(channelMajor, batch: batch, shape: pooledInput, threads: threads)
                XCTAssertEqual(threaded.output, pooled.output, label)
                XCTAssertEqual(threaded.winners, pooled.winners, label)
            }
            // Every pooled value is the largest of its block and names it.
            for b in 0..<batch {
                for j in 0..<(channels * 7 * 7) {
                    let c = j / 49, oy = j % 49 / 7, ox = j % 7
                    let top = c * 196 + 2 * oy * 14 + 2 * ox
                    let block = [top, top + 1, top + 14, top + 15].map { channelMajor[b * channels * 196 + $0] }
                    XCTAssertEqual(pooled.output[b * channels * 49 + j], block.max()!)
                    XCTAssertEqual(channelMajor[b * channels * 196 + Int(pooled.winners[b * channels * 49 + j])], block.max()!)
                }
            }
        }
    }

    func testUnfoldRowIsThePatchUnderTheKernelInChannelRowColumnOrder() {
        // One channel, 3 x 4, values 0..11; kernel 2: 2 x 3 positions, patches of 4.
        let input = Matrix(rows: 1, columns: 12, values: (0..<12).map(Float.init))
        let columns = Convolution.unfold(input, shape: SampleShape(channels: 1, height: 3, width: 4), kernelSize: 2)
        XCTAssertEqual(columns, Matrix(rowsOf: [[0, 1, 4, 5], [1, 2, 5, 6], [2, 3, 6, 7],
                                                [4, 5, 8, 9], [5, 6, 9, 10], [6, 7, 10, 11]]))
    }

    func testUnfoldMatchesDirectIndexingForTwoChannelsAndABatch() {
        let (input, _) = fixture()
        let columns = Convolution.unfold(input, shape: shape, kernelSize: kernelSize)
        let positions = outHeight * outWidth
        XCTAssertEqual(columns.rows, 2 * positions)
        XCTAssertEqual(columns.columns, shape.channels * kernelSize * kernelSize)
        for b in 0..<2 {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    for c in 0..<shape.channels {
                        for ky in 0..<kernelSize {
                            for kx in 0..<kernelSize {
                                let expected = input[b, (c * shape.height + oy + ky) * shape.width + ox + kx]
                                let got = columns[b * positions + oy * outWidth + ox, (c * kernelSize + ky) * kernelSize + kx]
                                XCTAssertEqual(got, expected, "b \(b) oy \(oy) ox \(ox) c \(c) ky \(ky) kx \(kx)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testForwardMatchesDirectConvolutionInChannelMajorOrder() {
        let (input, weight) = fixture()
        let columns = Convolution.unfold(input, shape: shape, kernelSize: kernelSize)
        for threads in [1, 2] {
            let output = Convolution.forward(columns: columns, weight: weight, batch: 2, threads: threads)
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
        let columns = Convolution.unfold(input, shape: SampleShape(channels: 1, height: 4, width: 5), kernelSize: 3)
        let output = Convolution.forward(columns: columns, weight: weight, batch: 1, threads: 1)
        XCTAssertEqual(output, Matrix(rowsOf: [[7, 8, 9, 12, 13, 14]]))
    }

    func testWeightGradientIsTheSumOverBatchAndPositionsOfDeltaTimesPatch() {
        let (input, _) = fixture()
        var values = TestValues(seed: 42)
        let positions = outHeight * outWidth
        let delta = values.matrix(2, outChannels * positions, scale: 1)
        let columns = Convolution.unfold(input, shape: shape, kernelSize: kernelSize)
        let gradient = Convolution.weightGradient(delta: delta, columns: columns, outChannels: outChannels, threads: 1)
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
