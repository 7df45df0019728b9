import Quantized
import XCTest

/// Q-notation names parse to formats and back; malformed names and
/// unsupported widths are errors that say what is wrong.
final class FixedPointFormatParsingTests: XCTestCase {
    func testNamesParseToTheirFields() throws {
        let cases: [(String, Int, Int, Bool)] = [
            ("Q1.6", 8, 6, true), ("Q3.12", 16, 12, true), ("UQ0.8", 8, 8, false), ("Q-2.9", 8, 9, true),
            ("Q0.15", 16, 15, true), ("Q7.0", 8, 0, true), ("Q9.-2", 8, -2, true), ("UQ1.15", 16, 15, false),
            ("q1.6", 8, 6, true), ("uq4.4", 8, 4, false),
        ]
        for (name, totalBits, fractionalBits, signed) in cases {
            XCTAssertEqual(try FixedPointFormat(parsing: name),
                           FixedPointFormat(totalBits: totalBits, fractionalBits: fractionalBits, signed: signed), name)
        }
    }

    func testEveryValidFormatRoundTripsThroughItsDescription() throws {
        for totalBits in 2...16 {
            for format in everyFormat(totalBits: totalBits) {
                XCTAssertNoThrow(try format.validate())
                XCTAssertEqual(try FixedPointFormat(parsing: format.description), format)
                XCTAssertEqual(FixedPointFormat(format.description), format)
            }
        }
    }

    func testMalformedNamesAreBadFormatNames() {
        for name in ["", "Q", "Q1", "Q1.", "Q.6", "Q1.6.2", "X1.6", "Q1,6", "Q 1.6", "Q1.6 ", "UQ", "QQ1.6",
                     "Q--1.6", "Q1.+-6", "Q12345.1", "Q99999999999999999999.1", "int8"] {
            XCTAssertThrowsError(try FixedPointFormat(parsing: name), name) { error in
                XCTAssertEqual(error as? FixedPointError, .badFormatName(name))
            }
            XCTAssertNil(FixedPointFormat(name), name)
        }
    }

    func testWellFormedNamesOutsideTheSupportedWidthsSayWhichFieldIsWrong() {
        XCTAssertThrowsError(try FixedPointFormat(parsing: "Q8.8")) { XCTAssertEqual($0 as? FixedPointError, .badTotalBits(17)) }
        XCTAssertThrowsError(try FixedPointFormat(parsing: "Q0.0")) { XCTAssertEqual($0 as? FixedPointError, .badTotalBits(1)) }
        XCTAssertThrowsError(try FixedPointFormat(parsing: "UQ9.8")) { XCTAssertEqual($0 as? FixedPointError, .badTotalBits(17)) }
        XCTAssertThrowsError(try FixedPointFormat(parsing: "Q-30.31")) {
            XCTAssertEqual($0 as? FixedPointError, .badFractionalBits(31))
        }
        XCTAssertThrowsError(try FixedPointFormat(parsing: "Q24.-17")) {
            XCTAssertEqual($0 as? FixedPointError, .badFractionalBits(-17))
        }
    }

    func testValidateRejectsWidthsAndScalesOutsideTheArithmetic() {
        XCTAssertThrowsError(try FixedPointFormat(totalBits: 1, fractionalBits: 0).validate())
        XCTAssertThrowsError(try FixedPointFormat(totalBits: 17, fractionalBits: 0).validate())
        XCTAssertThrowsError(try FixedPointFormat(totalBits: 8, fractionalBits: 31).validate())
        XCTAssertThrowsError(try FixedPointFormat(totalBits: 8, fractionalBits: -17).validate())
        XCTAssertEqual(FixedPointError.badTotalBits(17).description, "total bits must be 2...16, got 17")
        XCTAssertEqual(FixedPointError.badFormatName("Q1").description,
                       "'Q1' is not a fixed-point format (write e.g. Q1.6, Q3.12, UQ0.8)")
    }

    func testRangesAndStepsFollowFromTheFields() {
        let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        XCTAssertEqual(q16.minCode, -128)
        XCTAssertEqual(q16.maxCode, 127)
        XCTAssertEqual(q16.minValue, -2)
        XCTAssertEqual(q16.maxValue, 2 - 0x1p-6)
        let uq08 = FixedPointFormat(totalBits: 8, fractionalBits: 8, signed: false)
        XCTAssertEqual(uq08.minCode, 0)
        XCTAssertEqual(uq08.maxCode, 255)
        XCTAssertEqual(uq08.step, 0x1p-8)
    }

    func testConveniencesNameThePlainIntegerFormats() {
        XCTAssertEqual(FixedPointFormat.int8.description, "Q7.0")
        XCTAssertEqual(FixedPointFormat.int16.description, "Q15.0")
        XCTAssertEqual(FixedPointFormat.uint8.description, "UQ8.0")
        XCTAssertEqual(FixedPointFormat.int8(fractionalBits: 6).description, "Q1.6")
        XCTAssertEqual(FixedPointFormat.int16(fractionalBits: 12).description, "Q3.12")
    }
}
