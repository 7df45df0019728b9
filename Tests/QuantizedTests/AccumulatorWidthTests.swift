import Foundation
import Quantized
import XCTest

/// `FixedPoint.applyAccumulator(bits:)`: accumulators narrower or wider than 32 bits.
final class AccumulatorWidthTests: XCTestCase {
    private func apply(_ sums: [Int64], bits: Int, policy: AccumulatorPolicy) -> ([Int64], Int) {
        var values = sums
        var counters = QuantizationCounters()
        values.withUnsafeMutableBufferPointer {
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
