@testable import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// The fixed-point conv layer's products, `FixedPointArithmetic.convolutionSums`
/// and `convolutionWeightSums`, against the direct sums over the kernel, on
/// every kernel path and 1 to 3 threads; and with the counts, accumulator
/// policy and counters of the one product over patches by position that they
/// compute per sample.
final class FixedPointConvolutionTests: XCTestCase {
    private let shape = SampleShape(channels: 2, height: 6, width: 7)
    private let kernelSize = 3
    private let outChannels = 5
    private var outHeight: Int { shape.height - kernelSize + 1 }
    private var outWidth: Int { shape.width - kernelSize + 1 }
    private var positions: Int { outHeight * outWidth }
    private var patchSize: Int { shape.channels * kernelSize * kernelSize }

    private func codes(_ count: Int, _ range: ClosedRange<Int64>, seed: UInt64) -> [Int16] {
        var values = TestValues(seed: seed)
        let width = Double(range.upperBound - range.lowerBound + 1)
        return (0..<count).map { _ in Int16(range.lowerBound + Int64(values.nextUnit() * width)) }
    }

    /// `x[b, c, y, x]` of a batch stored C, H, W per sample.
    private func pixel(_ input: [Int16], _ b: Int, _ c: Int, _ y: Int, _ x: Int) -> Int64 {
        Int64(input[b * shape.featureCount + (c * shape.height + y) * shape.width + x])
    }

    func testTheLargeBatchesAreLargeEnoughToThread() {
        // 150 samples: both products exceed TilePartition's threshold (2^18 multiply-adds).
        XCTAssertGreaterThanOrEqual(150 * outChannels * positions * patchSize, 1 << 18)
    }

    private func config(accumulatorBits: Int = 32) -> PrecisionConfig {
        var config = PrecisionConfig.preset(named: "int16")!
        config.accumulatorBits = accumulatorBits
        return config
    }

    private func format(_ fractionalBits: Int) -> FixedPointFormat {
        FixedPointFormat(totalBits: 16, fractionalBits: fractionalBits)
    }

    func testConvolutionSumsAreTheDirectSumsChannelMajor() {
        forEveryKernelPath { path in
            for (batch, range) in [(150, -128...127), (3, -32768...32767), (0, -5...5)] as [(Int, ClosedRange<Int64>)] {
                let input = FixedMatrix(rows: batch, columns: shape.featureCount,
                                        codes: codes(batch * shape.featureCount, range, seed: 7), format: format(5))
                let weight = FixedMatrix(rows: outChannels, columns: patchSize,
                                         codes: codes(outChannels * patchSize, range, seed: 8), format: format(9))
                let patches = FixedMatrix(rows: batch * patchSize, columns: positions,
                                          codes: Convolution.patchMatrices(input.codes, batch: batch, shape: shape,
                                                                           kernelSize: kernelSize),
                                          format: input.format)
                for threads in [1, 2, 3] {
                    let arithmetic = FixedPointArithmetic(config: config(accumulatorBits: 64), seed: 1, threads: threads)
                    let sums = arithmetic.convolutionSums(patches: patches, weight: weight, batch: batch, role: .activations,
                                                          operands: (.activations, .weights))
                    XCTAssertEqual(sums.rows, batch)
                    XCTAssertEqual(sums.columns, outChannels * positions)
                    XCTAssertEqual(sums.fractionalBits, 14)
                    for b in 0..<batch {
                        for o in 0..<outChannels {
                            for oy in 0..<outHeight {
                                for ox in 0..<outWidth {
                                    var expected: Int64 = 0
                                    for c in 0..<shape.channels {
                                        for ky in 0..<kernelSize {
                                            for kx in 0..<kernelSize {
                                                let w = Int64(weight.codes[o * patchSize + (c * kernelSize + ky) * kernelSize + kx])
                                                expected += w * pixel(input.codes, b, c, oy + ky, ox + kx)
                                            }
                                        }
                                    }
                                    let got = sums.values[(b * outChannels + o) * positions + oy * outWidth + ox]
                                    if got != expected {
                                        return XCTFail("[\(path.rawValue)] batch \(batch), \(threads) threads: sample \(b) "
                                                       + "channel \(o) (\(oy), \(ox)) got \(got), expected \(expected)")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testConvolutionWeightSumsAreTheDirectSumsOverSamplesAndPositions() {
        forEveryKernelPath { path in
            for (batch, range) in [(150, -128...127), (3, -32768...32767), (0, -5...5)] as [(Int, ClosedRange<Int64>)] {
                let input = codes(batch * shape.featureCount, range, seed: 9)
                let delta = FixedMatrix(rows: batch, columns: outChannels * positions,
                                        codes: codes(batch * outChannels * positions, range, seed: 10), format: format(12))
                let patches = FixedMatrix(rows: batch * patchSize, columns: positions,
                                          codes: Convolution.patchMatrices(input, batch: batch, shape: shape,
                                                                           kernelSize: kernelSize),
                                          format: format(3))
                var results: [[Int64]] = []
                for threads in [1, 2, 3] {
                    let arithmetic = FixedPointArithmetic(config: config(accumulatorBits: 64), seed: 1, threads: threads)
                    let sums = arithmetic.convolutionWeightSums(delta: delta, patches: patches, outChannels: outChannels,
                                                                patchSize: patchSize, role: .updates,
                                                                operands: (.errors, .activations))
                    XCTAssertEqual(sums.rows, outChannels)
                    XCTAssertEqual(sums.columns, patchSize)
                    XCTAssertEqual(sums.fractionalBits, 15)
                    results.append(sums.values)
                }
                XCTAssertEqual(results[1], results[0], "[\(path.rawValue)] batch \(batch): 2 threads")
                XCTAssertEqual(results[2], results[0], "[\(path.rawValue)] batch \(batch): 3 threads")
                for o in 0..<outChannels {
                    for c in 0..<shape.channels {
                        for ky in 0..<kernelSize {
                            for kx in 0..<kernelSize {
                                var expected: Int64 = 0
                                for b in 0..<batch {
                                    for oy in 0..<outHeight {
                                        for ox in 0..<outWidth {
                                            let position = oy * outWidth + ox
                                            let d = Int64(delta.codes[(b * outChannels + o) * positions + position])
                                            expected += d * pixel(input, b, c, oy + ky, ox + kx)
                                        }
                                    }
                                }
                                let got = results[0][o * patchSize + (c * kernelSize + ky) * kernelSize + kx]
                                XCTAssertEqual(got, expected,
                                               "[\(path.rawValue)] batch \(batch): channel \(o) from \(c) (\(ky), \(kx))")
                            }
                        }
                    }
                }
            }
        }
    }

    func testCountsPolicyAndCountersAreThoseOfTheOneProductOverPatchesByPosition() {
        // 16-bit accumulators: full-range codes overflow them, so the policy runs
        // and counts, as it does on the one product over patches by position.
        let batch = 3
        let input = codes(batch * shape.featureCount, -32768...32767, seed: 11)
        let weight = FixedMatrix(rows: outChannels, columns: patchSize,
                                 codes: codes(outChannels * patchSize, -32768...32767, seed: 12), format: format(9))
        let delta = FixedMatrix(rows: batch, columns: outChannels * positions,
                                codes: codes(batch * outChannels * positions, -32768...32767, seed: 13), format: format(12))
        let patches = FixedMatrix(rows: batch * patchSize, columns: positions,
                                  codes: Convolution.patchMatrices(input, batch: batch, shape: shape,
                                                                   kernelSize: kernelSize),
                                  format: format(5))
        // The operands of the one-product form: patches by position
        // (`(batch * positions) x patchSize`) and deltas by position.
        let unfolded = FixedMatrix(rows: batch * positions, columns: patchSize, codes: (0..<batch * positions * patchSize).map {
            patches.codes[($0 / (positions * patchSize) * patchSize + $0 % patchSize) * positions + $0 / patchSize % positions]
        }, format: format(5))
        let deltaByPosition = FixedMatrix(rows: batch * positions, columns: outChannels,
                                          codes: (0..<batch * positions * outChannels).map {
            delta.codes[($0 / (positions * outChannels) * outChannels + $0 % outChannels) * positions
                        + $0 / outChannels % positions]
        }, format: delta.format)
        func arithmetic() -> FixedPointArithmetic {
            let arithmetic = FixedPointArithmetic(config: config(accumulatorBits: 16), seed: 1, threads: 2)
            arithmetic.operations = OperationRecorder()
            return arithmetic
        }
        let conv = arithmetic(), product = arithmetic()

        let sums = conv.convolutionSums(patches: patches, weight: weight, batch: batch, role: .activations,
                                        operands: (.activations, .weights))
        let positionMajor = product.sums(unfolded, weight, transposeB: true, role: .activations,
                                         operands: (.activations, .weights))
        for b in 0..<batch {
            for o in 0..<outChannels {
                for position in 0..<positions {
                    XCTAssertEqual(sums.values[(b * outChannels + o) * positions + position],
                                   positionMajor.values[(b * positions + position) * outChannels + o])
                }
            }
        }
        let weightSums = conv.convolutionWeightSums(delta: delta, patches: patches, outChannels: outChannels,
                                                    patchSize: patchSize, role: .updates, operands: (.errors, .activations))
        let weightProduct = product.sums(deltaByPosition, unfolded, transposeA: true, role: .updates,
                                         operands: (.errors, .activations))
        XCTAssertEqual(weightSums.values, weightProduct.values)

        XCTAssertGreaterThan(conv.counters[.activations]!.accumulatorOverflows, 0)
        XCTAssertGreaterThan(conv.counters[.updates]!.accumulatorOverflows, 0)
        XCTAssertEqual(conv.counters, product.counters)
        XCTAssertEqual(conv.operations!.recorded, product.operations!.recorded)
        XCTAssertEqual(conv.operations!.recorded.total.macs, 2 * batch * positions * patchSize * outChannels)
    }
}
