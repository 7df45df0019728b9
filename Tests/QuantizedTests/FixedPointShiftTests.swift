import Quantized
import XCTest

/// `FixedPoint.roundingShiftRight` against two oracles that share no code with
/// it (STYLE 15): exact `Double` division (every Int16 value, where a quotient
/// by a power of two is exact) and floor division of the magnitude in `UInt64`
/// (sampled Int64 values at every bit length, every shift). Failures print the
/// operand in binary.
final class FixedPointShiftTests: XCTestCase {
    /// The rounding of `x` by `Double`'s own rules.
    private static func rounded(_ x: Double, _ mode: RoundingMode) -> Double {
        switch mode {
        case .nearestEven: return x.rounded(.toNearestOrEven)
        case .nearestAway: return x.rounded(.toNearestOrAwayFromZero)
        case .truncate: return x.rounded(.down)
        case .stochastic: fatalError("not deterministic")
        }
    }

    /// `value / 2^shift` rounded by `mode`, from the magnitude's unsigned
    /// quotient and remainder (Swift's `/` and `%` on `UInt64`, shift 1...63).
    private static func divisionOracle(_ value: Int64, shift: Int, _ mode: RoundingMode) -> Int64 {
        let divisor = UInt64(1) << shift
        let quotient = value.magnitude / divisor, remainder = value.magnitude % divisor
        // value = floor * divisor + fraction with 0 <= fraction < divisor.
        let floor: Int64, fraction: UInt64
        if value >= 0 {
            (floor, fraction) = (Int64(quotient), remainder)
        } else if remainder == 0 {
            (floor, fraction) = (0 &- Int64(truncatingIfNeeded: quotient), 0)
        } else {
            (floor, fraction) = (0 &- Int64(truncatingIfNeeded: quotient) &- 1, divisor - remainder)
        }
        let aboveHalf = fraction > divisor - fraction, isHalf = fraction == divisor - fraction
        switch mode {
        case .truncate: return floor
        case .nearestEven: return aboveHalf || (isHalf && floor % 2 != 0) ? floor + 1 : floor
        case .nearestAway: return aboveHalf || (isHalf && value > 0) ? floor + 1 : floor
        case .stochastic: fatalError("not deterministic")
        }
    }

    // MARK: Small exact cases

    func testHalfwayCasesFollowEachRule() {
        // (value, shift) -> (nearest-even, nearest-away, truncate)
        let cases: [(Int64, Int, Int64, Int64, Int64)] = [
            (5, 1, 2, 3, 2),      //  2.5
            (-5, 1, -2, -3, -3),  // -2.5
            (3, 1, 2, 2, 1),      //  1.5
            (-3, 1, -2, -2, -2),  // -1.5
            (7, 2, 2, 2, 1),      //  1.75
            (-7, 2, -2, -2, -2),  // -1.75
            (1, 2, 0, 0, 0),      //  0.25
            (-1, 2, 0, 0, -1),    // -0.25
            (-1, 1, 0, -1, -1),   // -0.5
            (1, 1, 0, 1, 0),      //  0.5
        ]
        for (value, shift, even, away, truncate) in cases {
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .nearestEven), even, "\(value) >> \(shift)")
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .nearestAway), away, "\(value) >> \(shift)")
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .truncate), truncate, "\(value) >> \(shift)")
        }
    }

    func testZeroAndNegativeShiftsAreExactLeftShiftsInEveryMode() {
        for mode in RoundingMode.allCases {
            XCTAssertEqual(FixedPoint.roundingShiftRight(-37, by: 0, mode: mode, randomBits: .max), -37)
            XCTAssertEqual(FixedPoint.roundingShiftRight(-37, by: -3, mode: mode, randomBits: .max), -296)
            XCTAssertEqual(FixedPoint.roundingShiftRight(1, by: -62, mode: mode), 1 << 62)
            XCTAssertEqual(FixedPoint.roundingShiftRight(-1, by: -63, mode: mode), .min)
        }
    }

    func testShiftBy63AtTheEndsOfInt64() {
        // Int64.min / 2^63 is exactly -1; Int64.max / 2^63 is just below 1.
        for mode in deterministicModes {
            XCTAssertEqual(FixedPoint.roundingShiftRight(.min, by: 63, mode: mode), -1, "\(mode)")
        }
        XCTAssertEqual(FixedPoint.roundingShiftRight(.max, by: 63, mode: .nearestEven), 1)
        XCTAssertEqual(FixedPoint.roundingShiftRight(.max, by: 63, mode: .nearestAway), 1)
        XCTAssertEqual(FixedPoint.roundingShiftRight(.max, by: 63, mode: .truncate), 0)
        XCTAssertEqual(FixedPoint.roundingShiftRight(.max, by: 63, mode: .stochastic, randomBits: 0), 0)
        XCTAssertEqual(FixedPoint.roundingShiftRight(.max, by: 63, mode: .stochastic, randomBits: 1), 1)
    }

    // MARK: Exhaustive against Double division

    func testEveryInt16ValueAtEveryShiftMatchesExactDoubleDivision() {
        var failures = 0, firstFailure = ""
        for mode in deterministicModes {
            for shift in -3...18 {
                let scale = Double(sign: .plus, exponent: -shift, significand: 1)
                for value in Int64(Int16.min)...Int64(Int16.max) {
                    let expected = Int64(Self.rounded(Double(value) * scale, mode))
                    let got = FixedPoint.roundingShiftRight(value, by: shift, mode: mode)
                    if got != expected {
                        failures += 1
                        if firstFailure.isEmpty {
                            firstFailure = "\(mode) \(binary(value, width: 16)) >> \(shift): got \(got), expected \(expected)"
                        }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, firstFailure)
    }

    // MARK: Sampled Int64 against unsigned division

    func testSampledInt64ValuesAtEveryShiftMatchUnsignedDivision() {
        var samples = SampleBits(seed: 11)
        var values: [Int64] = [.min, .min + 1, .max, .max - 1, 0, 1, -1]
        for power in 0..<63 {
            let p = Int64(1) << power
            values += [p, p - 1, p + 1, -p, -p - 1, -p + 1]
        }
        for _ in 0..<1_500 { values.append(samples.int64SpreadOverBitLengths()) }
        var failures = 0, firstFailure = ""
        for mode in deterministicModes {
            for shift in 1...63 {
                for value in values {
                    let expected = Self.divisionOracle(value, shift: shift, mode)
                    let got = FixedPoint.roundingShiftRight(value, by: shift, mode: mode)
                    if got != expected {
                        failures += 1
                        if firstFailure.isEmpty {
                            firstFailure = "\(mode) \(binary(value)) >> \(shift): got \(got), expected \(expected)"
                        }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, firstFailure)
    }

    // MARK: Stochastic rounding

    /// Hermite's identity, `sum over r in 0..<2^s of floor((v + r) / 2^s) = v`:
    /// over every pattern of the low `s` random bits, stochastic rounding
    /// averages to exactly `v / 2^s`, and rounds up for exactly `v mod 2^s` patterns.
    func testStochasticRoundingOverAllRandomBitPatternsAveragesToTheExactQuotient() {
        var failures: [String] = []
        for shift in 1...8 {
            for value in Int64(Int8.min)...Int64(Int8.max) {
                let floor = value >> shift
                var sum: Int64 = 0, ups: Int64 = 0, outside = false
                for pattern in 0..<(UInt64(1) << shift) {
                    let got = FixedPoint.roundingShiftRight(value, by: shift, mode: .stochastic, randomBits: pattern)
                    if got != floor && got != floor + 1 { outside = true }
                    sum += got
                    if got == floor + 1 { ups += 1 }
                }
                if outside || sum != value || ups != value & ((1 << shift) - 1) {
                    failures.append("\(binary(value, width: 8)) >> \(shift): sum \(sum), \(ups) up, outside \(outside)")
                }
            }
        }
        XCTAssertEqual(failures, [])
    }

    func testStochasticRoundingUsesOnlyTheLowShiftBitsOfTheRandomBits() {
        var samples = SampleBits(seed: 12)
        for _ in 0..<2_000 {
            let value = samples.int64SpreadOverBitLengths()
            let shift = Int(samples.next() % 63) + 1
            let random = samples.next()
            let mask = (UInt64(1) << shift) &- 1
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .stochastic, randomBits: random),
                           FixedPoint.roundingShiftRight(value, by: shift, mode: .stochastic, randomBits: random & mask),
                           "\(binary(value)) >> \(shift)")
        }
    }

    func testStochasticRoundingWithNoRandomBitsFloorsAndWithAllOnesCeils() {
        var samples = SampleBits(seed: 13)
        for _ in 0..<2_000 {
            let value = samples.int64SpreadOverBitLengths()
            let shift = Int(samples.next() % 62) + 1
            let floor = value >> shift
            let exact = value & ((1 << shift) - 1) == 0
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .stochastic, randomBits: 0), floor)
            XCTAssertEqual(FixedPoint.roundingShiftRight(value, by: shift, mode: .stochastic, randomBits: .max),
                           exact ? floor : floor + 1, "\(binary(value)) >> \(shift)")
        }
    }

    func testStochasticRoundingWithCounterBitsIsUnbiasedForAFixedValue() {
        // 0b1011_0110 / 2^5 = 5.6875: rounds up with probability 0.6875.
        let random = StochasticBits(seed: 42, stream: 7)
        let draws = 40_000
        var sum: Int64 = 0
        for index in 0..<draws {
            sum += FixedPoint.roundingShiftRight(0b1011_0110, by: 5, mode: .stochastic,
                                                 randomBits: random.bits(at: UInt64(index)))
        }
        let mean = Double(sum) / Double(draws)
        // Standard deviation of the mean: sqrt(0.6875 * 0.3125 / draws) = 0.0023; allow 5 of them.
        XCTAssertEqual(mean, 5.6875, accuracy: 0.012)
    }
}
