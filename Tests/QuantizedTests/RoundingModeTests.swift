import Foundation
import Quantized
import XCTest

/// The rounding modes are spelled in config files as their raw values.
final class RoundingModeTests: XCTestCase {
    func testRawValuesAreTheConfigSpellings() {
        XCTAssertEqual(RoundingMode.allCases.map(\.rawValue), ["nearest-even", "nearest-away", "truncate", "stochastic"])
    }

    func testJSONRoundTrip() throws {
        let data = try JSONEncoder().encode(RoundingMode.allCases)
        XCTAssertEqual(String(data: data, encoding: .utf8), #"["nearest-even","nearest-away","truncate","stochastic"]"#)
        XCTAssertEqual(try JSONDecoder().decode([RoundingMode].self, from: data), RoundingMode.allCases)
    }
}
