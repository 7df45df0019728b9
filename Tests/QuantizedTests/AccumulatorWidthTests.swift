import Foundation
import Quantized
import TestSupport
import XCTest

/// `FixedPoint.applyAccumulator(bits:)`: accumulators narrower or wider than 32 bits.
final class AccumulatorWidthTests: XCTestCase {
    private func apply(_ sums: [Int64], bits: Int, policy: AccumulatorPolicy) -> ([Int64], Int) {
        var values = sums
        var counters = QuantizationCounters()
        _ = values.withUnsafeMutableBufferPointer {
            FixedPoint.applyAccumulator($0, bits: bits, policy: policy, counters: &counters)
        }
        return (values, counters.accumulatorOverflows)
    }

    func testSixteenBitAccumulatorSaturatesAndWrapsLikeInt16() {
        let sums: [Int64] = [32767, 32768, -32768, -32769, 70000, -70000, 5]
        let (saturated, saturations) = apply(sums, bits: 16, policy: .saturate)
        XCTAssertEqual(saturated, [32767, 32767, -32768, -32768, 32767, -32768, 5])
        XCTAssertEqual(saturations, 4)
        let (wrapped, wraps) = apply(sums, bits: 16, policy: .wrap)
        XCTAssertEqual(wrapped, sums.map { Int64(Int16(truncatingIfNeeded: $0)) })
        XCTAssertEqual(wraps, 4)
    }

    func testThirtyTwoBitsMatchesTheInt32Accumulator() {
        let sums: [Int64] = [Int64(Int32.max) + 1, Int64(Int32.min) - 7, 1 << 40, -(1 << 40), 12345]
        for policy in AccumulatorPolicy.allCases {
            var reference = sums
            var referenceCounters = QuantizationCounters()
            FixedPoint.applyInt32Accumulator(&reference, policy: policy, counters: &referenceCounters)
            let (values, overflows) = apply(sums, bits: 32, policy: policy)
            XCTAssertEqual(values, reference, "\(policy)")
            XCTAssertEqual(overflows, referenceCounters.accumulatorOverflows)
        }
    }

    func testSixtyFourBitsKeepsEveryExactSum() {
        let sums: [Int64] = [1 << 40, -(1 << 50), Int64.max, Int64.min]
        XCTAssertEqual(apply(sums, bits: 64, policy: .saturate).0, sums)
        XCTAssertEqual(apply(sums, bits: 64, policy: .wrap).1, 0)
    }

    /// The element formula: what `bits` bits hold of `sum` under `policy`.
    private static func held(_ sum: Int64, bits: Int, policy: AccumulatorPolicy) -> Int64 {
        let high = (Int64(1) << (bits - 1)) - 1, low = -high - 1
        guard sum < low || sum > high else { return sum }
        switch policy {
        case .saturate: return sum < low ? low : high
        case .wrap: return (sum << (64 - bits)) >> (64 - bits)
        }
    }

    func testEveryPathAndThreadCountHoldsWhatTheElementFormulaGivesAndReturnsTheLargest() {
        // Large enough to be shared among threads (16 blocks of 4,096 and a
        // ragged end); sums on both sides of every width's limits, and the
        // Int64 extremes, at the start, the end and on both sides of the
        // threads' splits (block 8 for two threads, blocks 5 and 11 for three).
        let random = StochasticBits(seed: 23, stream: 1)
        let count = 16 * 4096 + 37
        var sums = (0..<count).map { i in
            Int64(bitPattern: random.bits(at: UInt64(i))) >> Int64(random.bits(at: UInt64(count + i)) % 64)
        }
        let planted: [Int64] = [Int64.min, Int64.max, 1 << 31, -(1 << 31) - 1, 1 << 47, -(1 << 15) - 1, Int64.max, Int64.min]
        for (index, position) in [0, count - 1, 8 * 4096 - 1, 8 * 4096, 5 * 4096 - 1, 5 * 4096, 11 * 4096 - 1, 11 * 4096]
            .enumerated() {
            sums[position] = planted[index]
        }
        forEveryKernelPath { path in
            for bits in [16, 24, 32, 48, 63] {
                for policy in AccumulatorPolicy.allCases {
                    let expected = sums.map { Self.held($0, bits: bits, policy: policy) }
                    let overflows = zip(sums, expected).filter { $0 != $1 }.count
                    let largest = expected.map(\.magnitude).max()
                    for threads in [1, 2, 3] {
                        let label = "\(path) \(bits) bits \(policy) \(threads) thread(s)"
                        var values = sums
                        var counters = QuantizationCounters()
                        let returned = values.withUnsafeMutableBufferPointer {
                            FixedPoint.applyAccumulator($0, bits: bits, policy: policy, threads: threads, counters: &counters)
                        }
                        XCTAssertEqual(values, expected, label)
                        XCTAssertEqual(counters.accumulatorOverflows, overflows, label)
                        XCTAssertEqual(returned, largest, label)
                    }
                }
            }
        }
    }

    /// Sums nearly all inside Int32 (the AVX2 path skips whole vectors of them
    /// and only takes their largest |sum|), with Int32's ends, their neighbours
    /// just outside at each of a vector's eight positions, and a ragged end.
    func testThirtyTwoBitsOnSumsMostlyInsideInt32() {
        let random = StochasticBits(seed: 29, stream: 2)
        let count = 8 * 300 + 5
        var sums = (0..<count).map { i in Int64(Int32(truncatingIfNeeded: random.bits(at: UInt64(i)))) >> 3 }
        let edges: [Int64] = [Int64(Int32.min), Int64(Int32.max), Int64(Int32.max) + 1, Int64(Int32.min) - 1, 1 << 40, -(1 << 33)]
        for position in 0..<8 {
            sums[16 * position + position] = edges[position % edges.count]
            sums[200 + 16 * position + position] = edges[(position + 2) % edges.count]
        }
        sums[count - 2] = Int64(Int32.max) + 5
        forEveryKernelPath { path in
            for policy in AccumulatorPolicy.allCases {
                let expected = sums.map { Self.held($0, bits: 32, policy: policy) }
                for threads in [1, 2] {
                    var values = sums
                    var counters = QuantizationCounters()
                    let returned = values.withUnsafeMutableBufferPointer {
                        FixedPoint.applyAccumulator($0, bits: 32, policy: policy, threads: threads, counters: &counters)
                    }
                    let label = "\(path) \(policy) \(threads) thread(s)"
                    XCTAssertEqual(values, expected, label)
                    XCTAssertEqual(counters.accumulatorOverflows, zip(sums, expected).filter { $0 != $1 }.count, label)
                    XCTAssertEqual(returned, expected.map(\.magnitude).max(), label)
                }
            }
            // Every sum inside: the largest (Int32.min) is in a vector the AVX2 path skips.
            var inside = sums.map { Self.held($0, bits: 31, policy: .saturate) }
            inside[1000] = Int64(Int32.min)
            var counters = QuantizationCounters()
            let returned = inside.withUnsafeMutableBufferPointer {
                FixedPoint.applyAccumulator($0, bits: 32, policy: .saturate, counters: &counters)
            }
            XCTAssertEqual(returned, UInt64(1) << 31, "\(path)")
            XCTAssertEqual(counters.accumulatorOverflows, 0, "\(path)")
        }
    }

    func testAnEmptyBufferHasLargestZeroAndSixtyFourBitsReadNothing() {
        var counters = QuantizationCounters()
        var none: [Int64] = []
        let empty = none.withUnsafeMutableBufferPointer {
            FixedPoint.applyAccumulator($0, bits: 32, policy: .saturate, threads: 2, counters: &counters)
        }
        XCTAssertEqual(empty, 0)
        var sums: [Int64] = [1 << 40, -3]
        let wide = sums.withUnsafeMutableBufferPointer {
            FixedPoint.applyAccumulator($0, bits: 64, policy: .wrap, threads: 2, counters: &counters)
        }
        XCTAssertNil(wide)
        XCTAssertEqual(counters.accumulatorOverflows, 0)
    }

    func testConfigReadsAccumulatorBitsAndRejectsOutOfRange() throws {
        let good = try PrecisionConfig(json: Data(#"{"base": "int16", "accumulatorBits": 48}"#.utf8), file: "wide.json")
        XCTAssertEqual(good.accumulatorBits, 48)
        XCTAssertEqual(PrecisionConfig.preset(named: "int8")?.accumulatorBits, 32)
        for bad in [#"{"base": "int16", "accumulatorBits": 8}"#, #"{"base": "int16", "accumulatorBits": 32.5}"#,
                    #"{"base": "int16", "accumulatorBits": "32"}"#] {
            XCTAssertThrowsError(try PrecisionConfig(json: Data(bad.utf8), file: "bad.json")) { error in
                XCTAssertEqual((error as? PrecisionConfigError)?.key, "accumulatorBits", bad)
            }
        }
    }
}
