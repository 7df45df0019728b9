import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// Elementwise helpers of `FixedPointArithmetic` against `FixedPoint`'s scalar operations.
final class FixedPointArithmeticTests: XCTestCase {
    func testExactSumsKeepTheirGivenLargestMagnitudeOnlyUntilTheirValuesChange() {
        // The given value is returned as is (here deliberately not the values'
        // largest, to see that no scan runs), and forgotten by any change.
        var sums = ExactSums(rows: 1, columns: 3, values: [4, -9, 2], fractionalBits: 3, maxMagnitude: 99)
        XCTAssertEqual(sums.maxMagnitude(), 99)
        sums.fractionalBits = 5
        XCTAssertEqual(sums.maxMagnitude(), 99, "the scale is not the values")
        sums.values[2] = -40
        XCTAssertEqual(sums.maxMagnitude(), 40)
        var inPlace = ExactSums(rows: 1, columns: 3, values: [4, -9, 2], fractionalBits: 3, maxMagnitude: 9)
        inPlace.values.withUnsafeMutableBufferPointer { $0[0] = 1 << 40 }
        XCTAssertEqual(inPlace.maxMagnitude(threads: 2), 1 << 40)
        XCTAssertEqual(ExactSums(rows: 1, columns: 3, values: [4, -9, 2], fractionalBits: 3).maxMagnitude(), 9)
        // An in-place change that gives the largest afterwards is kept the same way.
        var changed = ExactSums(rows: 1, columns: 3, values: [4, -9, 2], fractionalBits: 3, maxMagnitude: 9)
        changed.changeValues { values in
            values[1] = 0
            return 77
        }
        XCTAssertEqual(changed.values, [4, 0, 2])
        XCTAssertEqual(changed.maxMagnitude(), 77)
        changed.values[0] = -5
        XCTAssertEqual(changed.maxMagnitude(), 5)
    }

    func testUpdateSumsCarryTheirLargestMagnitude() {
        // dY^T X as the PEPITA update forms it (k = batch), on 1 and 2 threads:
        // whether or not the kernel took it, the largest magnitude is the scan's.
        // Codes spread over Q0.7 by a multiplicative hash (deterministic).
        func codes(_ count: Int, _ seed: Int) -> [Int16] { (0..<count).map { Int16(($0 &* 2_654_435_761 &+ seed) % 256 - 128) } }
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 7)
        forEveryKernelPath { path in
            for threads in [1, 2] {
                let arithmetic = FixedPointArithmetic(config: PrecisionConfig.preset(named: "int8")!, seed: 1, threads: threads)
                let delta = FixedMatrix(rows: 64, columns: 300, codes: codes(64 * 300, 7),
                                        format: format)
                let input = FixedMatrix(rows: 64, columns: 70, codes: codes(64 * 70, 3),
                                        format: format)
                let sums = arithmetic.sums(delta, input, transposeA: true, role: .updates, operands: (.activations, .modulatedInput),
                                           takingLargest: true)
                XCTAssertEqual(sums.maxMagnitude(), sums.values.map(\.magnitude).max(), "\(path), \(threads) thread(s)")
            }
        }
    }

    func testSumsPassedThroughTheAccumulatorPolicyCarryTheirLargestMagnitude() {
        // Int16 codes near both ends, 64 deep: sums beyond Int32, so the policy
        // pass runs (and counts overflows); its largest is the scan's, on every
        // path, 1 and 2 threads (36,000 sums: shared between them), both policies.
        func codes(_ count: Int, _ seed: Int) -> [Int16] {
            (0..<count).map { Int16(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) % 2048 + ($0 % 2 == 0 ? 30_700 : -32_768)) }
        }
        let format = FixedPointFormat(totalBits: 16, fractionalBits: 12)
        forEveryKernelPath { path in
            for policy in AccumulatorPolicy.allCases {
                for threads in [1, 2] {
                    var config = PrecisionConfig.preset(named: "int16")!
                    config.accumulatorOverflow = policy
                    let arithmetic = FixedPointArithmetic(config: config, seed: 1, threads: threads)
                    let delta = FixedMatrix(rows: 64, columns: 300, codes: codes(64 * 300, 7), format: format)
                    let input = FixedMatrix(rows: 64, columns: 120, codes: codes(64 * 120, 3), format: format)
                    let sums = arithmetic.sums(delta, input, transposeA: true, role: .updates, operands: (.activations, .modulatedInput))
                    let label = "\(path), \(policy), \(threads) thread(s)"
                    XCTAssertGreaterThan(arithmetic.counters[.updates]?.accumulatorOverflows ?? 0, 0, label)
                    XCTAssertEqual(sums.maxMagnitude(), sums.values.map(\.magnitude).max(), label)
                }
            }
        }
    }

    func testSaturatingSumClampsToTheFormatAndCountsEverySaturation() {
        // Pairs of Q1.6 codes whose sums cross either end, and sums inside; a
        // length that is not a multiple of any vector width. Also an unsigned
        // 4-bit format (codes 0...15). On every kernel path this CPU has.
        let formats = [FixedPointFormat(totalBits: 8, fractionalBits: 6), FixedPointFormat(totalBits: 4, fractionalBits: 2, signed: false)]
        forEveryKernelPath { path in
            for format in formats {
                let codes = (Int(format.minCode)...Int(format.maxCode)).map { Int16($0) }
                var left: [Int16] = [], right: [Int16] = []
                for a in codes {
                    for b in codes.reversed() where (a + b) % 3 != 0 || a == b {
                        left.append(a)
                        right.append(b)
                    }
                }
                left.append(Int16(format.maxCode))
                right.append(Int16(format.maxCode))
                let arithmetic = FixedPointArithmetic(config: PrecisionConfig.preset(named: "int8")!, seed: 1, threads: 1)
                let sum = arithmetic.saturatingSum(FixedMatrix(rows: 1, columns: left.count, codes: left, format: format),
                                                   FixedMatrix(rows: 1, columns: right.count, codes: right, format: format),
                                                   role: .modulatedInput)
                var saturations = 0
                for i in left.indices {
                    let expected = FixedPoint.saturate(Int64(left[i]) + Int64(right[i]), to: format)
                    XCTAssertEqual(Int32(sum.codes[i]), expected.code, "\(path) \(format) \(left[i]) + \(right[i])")
                    if expected.saturated { saturations += 1 }
                }
                XCTAssertGreaterThan(saturations, 0)
                XCTAssertNotEqual(left.count % 16, 0)
                XCTAssertEqual(sum.format, format)
                XCTAssertEqual(arithmetic.counters[.modulatedInput]?.saturations, saturations, "\(path) \(format)")
            }
        }
    }
}
