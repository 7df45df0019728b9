import Quantized
import XCTest

/// `FixedPoint.quantize` (real to code, through `Double`) against the integer
/// path `saturate(roundingShiftRight(significand, by: ...))` on the float's
/// exact integer significand: two independent computations of the same
/// rounding. Exhaustive at quarter steps over every int8 format; sampled for
/// int16 formats.
final class FixedPointQuantizeTests: XCTestCase {
    /// `value = significand * 2^exponent` exactly, for finite nonzero floats.
    private static func integerParts(_ value: Float) -> (significand: Int64, exponent: Int) {
        let significand = Int64(value.significandBitPattern) | (value.isNormal ? 1 << 23 : 0)
        let exponent = (value.isNormal ? Int(value.exponent) : -126) - 23
        return (value < 0 ? -significand : significand, exponent)
    }

    /// The code by the integer path: `value * 2^n = significand * 2^(exponent + n)`.
    private static func integerPath(_ value: Float, _ format: FixedPointFormat, _ mode: RoundingMode,
                                    randomBits: UInt64 = 0) -> (code: Int32, saturated: Bool) {
        if value == 0 { return (0, false) }
        let (significand, exponent) = integerParts(value)
        let shift = -(exponent + format.fractionalBits)
        if shift < 0 && significand.magnitude.leadingZeroBitCount <= -shift + 1 {
            return FixedPoint.saturate(significand < 0 ? .min : .max, to: format)   // far out of range
        }
        let shifted = FixedPoint.roundingShiftRight(significand, by: shift, mode: mode, randomBits: randomBits)
        return FixedPoint.saturate(shifted, to: format)
    }

    func testSmallExactCasesInQ1Point6() {
        let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        XCTAssertTrue(FixedPoint.quantize(0.5, to: q16, mode: .nearestEven) == (32, false))
        XCTAssertTrue(FixedPoint.quantize(-2, to: q16, mode: .nearestEven) == (-128, false))
        XCTAssertTrue(FixedPoint.quantize(2, to: q16, mode: .nearestEven) == (127, true))
        // 2.5 steps and -2.5 steps: ties.
        XCTAssertTrue(FixedPoint.quantize(2.5 / 64, to: q16, mode: .nearestEven) == (2, false))
        XCTAssertTrue(FixedPoint.quantize(2.5 / 64, to: q16, mode: .nearestAway) == (3, false))
        XCTAssertTrue(FixedPoint.quantize(-2.5 / 64, to: q16, mode: .nearestAway) == (-3, false))
        XCTAssertTrue(FixedPoint.quantize(-2.5 / 64, to: q16, mode: .truncate) == (-3, false))
    }

    func testRoundingHappensBeforeSaturation() {
        let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        XCTAssertTrue(FixedPoint.quantize(127.4 / 64, to: q16, mode: .nearestEven) == (127, false))
        XCTAssertTrue(FixedPoint.quantize(127.6 / 64, to: q16, mode: .nearestEven) == (127, true))
        XCTAssertTrue(FixedPoint.quantize(127.6 / 64, to: q16, mode: .truncate) == (127, false))
        XCTAssertTrue(FixedPoint.quantize(-128.4 / 64, to: q16, mode: .nearestEven) == (-128, false))
        XCTAssertTrue(FixedPoint.quantize(-128.4 / 64, to: q16, mode: .truncate) == (-128, true))
    }

    func testInfinitiesSaturateAndNaNGivesZeroCountedAsSaturated() {
        for format in [FixedPointFormat(totalBits: 8, fractionalBits: 6),
                       FixedPointFormat(totalBits: 16, fractionalBits: 12),
                       FixedPointFormat(totalBits: 8, fractionalBits: 8, signed: false)] {
            for mode in RoundingMode.allCases {
                XCTAssertTrue(FixedPoint.quantize(.infinity, to: format, mode: mode) == (format.maxCode, true))
                XCTAssertTrue(FixedPoint.quantize(-.infinity, to: format, mode: mode) == (format.minCode, true))
                XCTAssertTrue(FixedPoint.quantize(.nan, to: format, mode: mode) == (0, true))
                XCTAssertTrue(FixedPoint.quantize(.greatestFiniteMagnitude, to: format, mode: mode) == (format.maxCode, true))
            }
        }
    }

    /// Every 8-bit format (n in -16...30, signed and unsigned), every quarter step
    /// from three codes below the range to three above, every deterministic mode.
    func testEveryQuarterStepOfEveryInt8FormatMatchesTheIntegerPath() {
        var failures = 0, firstFailure = ""
        for format in everyFormat(totalBits: 8) {
            let quarter = Float(sign: .plus, exponent: -(format.fractionalBits + 2), significand: 1)
            for quarters in (Int(format.minCode) - 3) * 4 ... (Int(format.maxCode) + 3) * 4 {
                let value = Float(quarters) * quarter
                for mode in deterministicModes {
                    let got = FixedPoint.quantize(value, to: format, mode: mode)
                    let expected = FixedPoint.saturate(
                        FixedPoint.roundingShiftRight(Int64(quarters), by: 2, mode: mode), to: format)
                    if got != expected {
                        failures += 1
                        if firstFailure.isEmpty {
                            firstFailure = "\(format) \(mode) \(quarters)/4 steps: got \(got), expected \(expected)"
                        }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, firstFailure)
    }

    func testEveryInt8CodeSurvivesValueAndQuantizeUnchanged() {
        for format in everyFormat(totalBits: 8) {
            for code in format.minCode...format.maxCode {
                let value = Float(FixedPoint.value(code, format: format))
                for mode in RoundingMode.allCases {
                    let got = FixedPoint.quantize(value, to: format, mode: mode, randomBits: .max)
                    if got != (code, false) { XCTFail("\(format) \(mode) code \(code): got \(got)"); return }
                }
            }
        }
    }

    func testSampledFloatsInInt16FormatsMatchTheIntegerPath() {
        let formats = ["Q3.12", "Q1.14", "Q15.0", "Q-2.17", "UQ0.15", "Q0.15", "Q7.8"].map { try! FixedPointFormat(parsing: $0) }
        var samples = SampleBits(seed: 21)
        var failures = 0, firstFailure = ""
        for format in formats {
            for _ in 0..<3_000 {
                // Magnitudes from 2^-24 to 2^20 of the format's step... and beyond its range.
                let magnitude = Double(sign: .plus, exponent: Int(samples.next() % 44) - 24 - format.fractionalBits,
                                       significand: 1 + samples.unit())
                let value = Float(samples.next() & 1 == 0 ? magnitude : -magnitude)
                let randomBits = samples.next()
                for mode in deterministicModes {
                    let got = FixedPoint.quantize(value, to: format, mode: mode, randomBits: randomBits)
                    let expected = Self.integerPath(value, format, mode)
                    if got != expected {
                        failures += 1
                        if firstFailure.isEmpty { firstFailure = "\(format) \(mode) \(value): got \(got), expected \(expected)" }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, firstFailure)
    }

    func testStochasticQuantizationRoundsToANeighbourAndIsUnbiased() {
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        for value: Float in [0.3, -0.3] {   // +-19.2000007... steps
            let exactSteps = Double(value) * 64
            let floor = exactSteps < 0 ? -20 : 19
            let random = StochasticBits(seed: 3, stream: value < 0 ? 1 : 0)
            let draws = 40_000
            var sum = 0, neighbours = 0
            for index in 0..<draws {
                let (code, saturated) = FixedPoint.quantize(value, to: format, mode: .stochastic,
                                                            randomBits: random.bits(at: UInt64(index)))
                if !saturated && (code == floor || code == floor + 1) { neighbours += 1 }
                sum += Int(code)
            }
            XCTAssertEqual(neighbours, draws, "\(value): codes other than \(floor) and \(floor + 1)")
            // Standard deviation of the mean: sqrt(0.2 * 0.8 / draws) = 0.002; allow 5 of them.
            XCTAssertEqual(Double(sum) / Double(draws), exactSteps, accuracy: 0.01, "\(value)")
        }
    }

    func testStochasticQuantizationIsDeterministicForTheSameBits() {
        let format = FixedPointFormat(totalBits: 16, fractionalBits: 12)
        var samples = SampleBits(seed: 22)
        for _ in 0..<1_000 {
            let value = Float(samples.unit() * 16 - 8), bits = samples.next()
            XCTAssertTrue(FixedPoint.quantize(value, to: format, mode: .stochastic, randomBits: bits)
                          == FixedPoint.quantize(value, to: format, mode: .stochastic, randomBits: bits))
        }
    }

    func testValueIsTheCodeTimesTheStep() {
        XCTAssertEqual(FixedPoint.value(-128, format: FixedPointFormat(totalBits: 8, fractionalBits: 6)), -2)
        XCTAssertEqual(FixedPoint.value(3, format: FixedPointFormat(totalBits: 8, fractionalBits: -2)), 12)
        XCTAssertEqual(FixedPoint.value(1, format: FixedPointFormat(totalBits: 16, fractionalBits: 30)), 0x1p-30)
    }
}
