import Quantized
import XCTest

/// `TensorQuantization`: element-wise the scalar operations, with element `i`
/// rounded by `random.bits(at: i)`, and the counters of SPEC §4.
final class TensorQuantizationTests: XCTestCase {
    private let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)
    private let random = StochasticBits(seed: 8, stream: 1)

    // MARK: quantize

    func testQuantizeCountsSaturationsRoundingToZeroAndTheLargestMagnitude() {
        let values: [Float] = [0.5, -3, 2.5, 0.001, -0.001, 0, .nan, .infinity, 1 / 128, 3 / 128]
        var counters = QuantizationCounters()
        let codes = TensorQuantization.quantize(values, to: q16, mode: .nearestEven, random: random, counters: &counters)
        // 1/128 is half a step: ties to even, 0. 3/128 is 1.5 steps: 2.
        XCTAssertEqual(codes, [32, -128, 127, 0, 0, 0, 0, 127, 0, 2])
        XCTAssertEqual(counters.elements, 10)
        XCTAssertEqual(counters.saturations, 4, "-3, 2.5, NaN, +inf")
        XCTAssertEqual(counters.roundedToZero, 3, "0.001, -0.001, 1/128 (0 itself is not counted)")
        XCTAssertEqual(counters.maxAbsValue, .infinity)
    }

    func testQuantizeAddsToCountersAlreadyHeld() {
        var counters = QuantizationCounters()
        counters.elements = 5
        counters.maxAbsValue = 10
        _ = TensorQuantization.quantize([1, 2], to: q16, mode: .truncate, random: random, counters: &counters)
        XCTAssertEqual(counters.elements, 7)
        XCTAssertEqual(counters.saturations, 1)
        XCTAssertEqual(counters.maxAbsValue, 10)
    }

    func testQuantizeIsTheScalarQuantizeWithBitsAtTheElementIndex() {
        var samples = SampleBits(seed: 51)
        let values = (0..<500).map { _ in Float(samples.unit() * 5 - 2.5) }
        for mode in RoundingMode.allCases {
            var counters = QuantizationCounters()
            let codes = TensorQuantization.quantize(values, to: q16, mode: mode, random: random, counters: &counters)
            for (index, value) in values.enumerated() {
                let expected = FixedPoint.quantize(value, to: q16, mode: mode, randomBits: random.bits(at: UInt64(index)))
                XCTAssertEqual(Int32(codes[index]), expected.code, "\(mode) element \(index)")
            }
        }
    }

    func testSplittingATensorWithFirstIndexGivesTheSameStochasticCodes() {
        var samples = SampleBits(seed: 52)
        let values = (0..<301).map { _ in Float(samples.unit() * 2 - 1) }
        var whole = QuantizationCounters(), parts = QuantizationCounters()
        let expected = TensorQuantization.quantize(values, to: q16, mode: .stochastic, random: random, counters: &whole)
        var codes = [Int16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { input in
            codes.withUnsafeMutableBufferPointer { output in
                for range in [200..<301, 0..<123, 123..<200] {
                    TensorQuantization.quantize(UnsafeBufferPointer(rebasing: input[range]),
                                                into: UnsafeMutableBufferPointer(rebasing: output[range]),
                                                to: q16, mode: .stochastic, random: random,
                                                firstIndex: UInt64(range.lowerBound), counters: &parts)
                }
            }
        }
        XCTAssertEqual(codes, expected)
        XCTAssertEqual(parts, whole)
    }

    func testStochasticQuantizationKeepsSubStepValuesOnAverage() {
        // 0.2 steps of Q1.6 everywhere: nearest rounding loses all of it, stochastic keeps it on average.
        let values = [Float](repeating: 0.2 / 64, count: 20_000)
        var counters = QuantizationCounters()
        let nearest = TensorQuantization.quantize(values, to: q16, mode: .nearestEven, random: random, counters: &counters)
        XCTAssertEqual(nearest.reduce(0) { $0 + Int($1) }, 0)
        XCTAssertEqual(counters.roundedToZero, 20_000)
        let stochastic = TensorQuantization.quantize(values, to: q16, mode: .stochastic, random: random, counters: &counters)
        // Binomial(20000, 0.2): mean 4000, standard deviation 57; allow 5 of them.
        XCTAssertEqual(Double(stochastic.reduce(0) { $0 + Int($1) }), Double(Float(0.2 / 64)) * 64 * 20_000, accuracy: 285)
    }

    // MARK: requantize

    func testRequantizeShiftsFromTheSumScaleAndCounts() {
        // Sums at 2^-12 into Q1.6: shift right by 6.
        let sums: [Int64] = [64 * 32, -64 * 5, 31, 32, 96, 1 << 20, -(1 << 20), 0, -33]
        var counters = QuantizationCounters()
        let codes = TensorQuantization.requantize(sums, fromFractionalBits: 12, to: q16, mode: .nearestEven,
                                                  random: random, counters: &counters)
        XCTAssertEqual(codes, [32, -5, 0, 0, 2, 127, -128, 0, -1])
        XCTAssertEqual(counters.elements, 9)
        XCTAssertEqual(counters.saturations, 2)
        XCTAssertEqual(counters.roundedToZero, 2, "31 and 32 (half a step, ties to even) became 0")
        XCTAssertEqual(counters.maxAbsValue, Double(1 << 20) * 0x1p-12)
    }

    func testRequantizeMatchesShiftThenSaturateInEveryMode() {
        var samples = SampleBits(seed: 53)
        let sums = (0..<400).map { _ in samples.next(in: -(1 << 24)...(1 << 24)) }
        for mode in RoundingMode.allCases {
            for (from, format) in [(20, q16), (14, FixedPointFormat(totalBits: 16, fractionalBits: 12)),
                                   (3, FixedPointFormat(totalBits: 8, fractionalBits: 0, signed: false))] {
                var counters = QuantizationCounters()
                let codes = TensorQuantization.requantize(sums, fromFractionalBits: from, to: format, mode: mode,
                                                          random: random, counters: &counters)
                var saturations = 0
                for (index, sum) in sums.enumerated() {
                    let shifted = FixedPoint.roundingShiftRight(sum, by: from - format.fractionalBits, mode: mode,
                                                                randomBits: random.bits(at: UInt64(index)))
                    let expected = FixedPoint.saturate(shifted, to: format)
                    if expected.saturated { saturations += 1 }
                    XCTAssertEqual(Int32(codes[index]), expected.code, "\(mode) \(format) sum \(binary(sum, width: 26))")
                }
                XCTAssertEqual(counters.saturations, saturations)
            }
        }
    }

    func testRequantizeToAFinerScaleShiftsLeftAndSaturatesInsteadOfOverflowing() {
        // Sums at 2^0 into Q0.15 (n = 15): shift left by 15.
        let format = FixedPointFormat(totalBits: 16, fractionalBits: 15)
        let sums: [Int64] = [0, 1, -1, .max, .min, 1 << 50, -(1 << 50)]
        var counters = QuantizationCounters()
        let codes = TensorQuantization.requantize(sums, fromFractionalBits: 0, to: format, mode: .nearestEven,
                                                  random: random, counters: &counters)
        XCTAssertEqual(codes, [0, 32767, -32768, 32767, -32768, 32767, -32768])
        XCTAssertEqual(counters.saturations, 5, "1 << 15 does not fit; -1 << 15 does")
        // In Q8.7 (n = 7) from 2^-2: shift left by 5; 1023 << 5 = 32736 fits, 1024 << 5 does not.
        let wide = FixedPointFormat(totalBits: 16, fractionalBits: 7)
        var more = QuantizationCounters()
        XCTAssertEqual(TensorQuantization.requantize([1023, 1024, -1024, -1025], fromFractionalBits: 2, to: wide,
                                                     mode: .truncate, random: random, counters: &more),
                       [32736, 32767, -32768, -32768])
        XCTAssertEqual(more.saturations, 2)
    }

    // MARK: dequantize

    func testDequantizeGivesCodeTimesStep() {
        XCTAssertEqual(TensorQuantization.dequantize([-128, -1, 0, 1, 127], format: q16),
                       [-2, -1.0 / 64, 0, 1.0 / 64, 127.0 / 64])
        XCTAssertEqual(TensorQuantization.dequantize([3], format: FixedPointFormat(totalBits: 8, fractionalBits: -3)), [24])
    }

    func testSixteenBitUnsignedFormatsDoNotFitInt16Storage() {
        XCTAssertTrue(FixedPointFormat(totalBits: 16, fractionalBits: 15).storesInInt16)
        XCTAssertTrue(FixedPointFormat(totalBits: 15, fractionalBits: 15, signed: false).storesInInt16)
        XCTAssertFalse(FixedPointFormat(totalBits: 16, fractionalBits: 16, signed: false).storesInInt16)
    }
}
