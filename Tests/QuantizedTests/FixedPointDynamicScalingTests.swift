import Quantized
import XCTest

/// `FixedPoint.dynamicFractionalBits` picks the finest power-of-two step at
/// which a tensor's largest magnitude does not saturate.
final class FixedPointDynamicScalingTests: XCTestCase {
    func testTheLargestMagnitudeExactlyAtTheTopCodeKeepsThatScale() {
        // 8-bit signed: maxCode 127. 127 * 2^-7 fits with n = 7; a hair more needs n = 6.
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 127.0 / 128, totalBits: 8, signed: true), 7)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: (127.0 / 128).nextUp, totalBits: 8, signed: true), 6)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 1, totalBits: 8, signed: true), 6)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 1, totalBits: 16, signed: true), 14)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 1, totalBits: 8, signed: false), 7)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 255.0 / 256, totalBits: 8, signed: false), 8)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: -3, totalBits: 8, signed: true), 5)
    }

    func testZeroGivesTheFinestScaleAndNonFiniteOrHugeTheCoarsest() {
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 0, totalBits: 8, signed: true), 30)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 1e-30, totalBits: 8, signed: true), 30)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 127 * 65536, totalBits: 8, signed: true), -16)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: 1e30, totalBits: 8, signed: true), -16)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: .infinity, totalBits: 8, signed: true), -16)
        XCTAssertEqual(FixedPoint.dynamicFractionalBits(maxAbs: .nan, totalBits: 16, signed: true), -16)
    }

    /// At the chosen `n` the largest magnitude quantises without saturating in
    /// every mode; at `n + 1` it would not fit.
    func testChosenScaleIsTheFinestThatDoesNotSaturate() {
        var samples = SampleBits(seed: 31)
        for _ in 0..<2_000 {
            let totalBits = [4, 8, 12, 16][Int(samples.next() % 4)]
            let signed = samples.next() & 1 == 0
            let maxAbs = Float(Double(sign: .plus, exponent: Int(samples.next() % 40) - 26, significand: 1 + samples.unit()))
            let n = FixedPoint.dynamicFractionalBits(maxAbs: Double(maxAbs), totalBits: totalBits, signed: signed)
            let format = FixedPointFormat(totalBits: totalBits, fractionalBits: n, signed: signed)
            for mode in RoundingMode.allCases {
                XCTAssertFalse(FixedPoint.quantize(maxAbs, to: format, mode: mode, randomBits: .max).saturated,
                               "\(maxAbs) in \(format) \(mode)")
            }
            if n < 30 {
                XCTAssertGreaterThan(Double(maxAbs) * Double(sign: .plus, exponent: n + 1, significand: 1),
                                     Double(format.maxCode), "\(maxAbs): n + 1 = \(n + 1) also fits")
            }
        }
    }
}
