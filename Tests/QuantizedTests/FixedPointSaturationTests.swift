import Quantized
import XCTest

/// `FixedPoint.saturate` clamps to the format's codes and says when it did.
final class FixedPointSaturationTests: XCTestCase {
    func testQ1Point6ClampsToMinus128And127() {
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        XCTAssertTrue(FixedPoint.saturate(127, to: format) == (127, false))
        XCTAssertTrue(FixedPoint.saturate(128, to: format) == (127, true))
        XCTAssertTrue(FixedPoint.saturate(-128, to: format) == (-128, false))
        XCTAssertTrue(FixedPoint.saturate(-129, to: format) == (-128, true))
        XCTAssertTrue(FixedPoint.saturate(.max, to: format) == (127, true))
        XCTAssertTrue(FixedPoint.saturate(.min, to: format) == (-128, true))
    }

    func testUnsignedFormatsClampNegativeValuesToZero() {
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 8, signed: false)
        XCTAssertTrue(FixedPoint.saturate(-1, to: format) == (0, true))
        XCTAssertTrue(FixedPoint.saturate(0, to: format) == (0, false))
        XCTAssertTrue(FixedPoint.saturate(255, to: format) == (255, false))
        XCTAssertTrue(FixedPoint.saturate(256, to: format) == (255, true))
    }

    /// Every width 2...16, signed and unsigned, every value within 300 of the range.
    func testEveryWidthKeepsValuesInsideTheRangeAndClampsTheRest() {
        var failures: [String] = []
        for totalBits in 2...16 {
            for signed in [true, false] {
                let format = FixedPointFormat(totalBits: totalBits, fractionalBits: 0, signed: signed)
                let low: Int64 = signed ? -(1 << (totalBits - 1)) : 0
                let high: Int64 = signed ? (1 << (totalBits - 1)) - 1 : (1 << totalBits) - 1
                for value in (low - 300)...(high + 300) {
                    let expected = (code: Int32(min(max(value, low), high)), saturated: value < low || value > high)
                    let got = FixedPoint.saturate(value, to: format)
                    if got != expected { failures.append("\(format) \(binary(value, width: 20)): got \(got)") }
                }
            }
        }
        XCTAssertEqual(failures, [])
    }
}
