import Foundation
import Quantized
import XCTest

/// `QuantizationCounters` start at zero, merge by adding counts and keeping the
/// larger magnitude, and round-trip through JSON.
final class QuantizationCountersTests: XCTestCase {
    private func counters(_ elements: Int, _ saturations: Int, _ roundedToZero: Int, _ maxAbs: Double,
                          _ overflows: Int) -> QuantizationCounters {
        var counters = QuantizationCounters()
        counters.elements = elements
        counters.saturations = saturations
        counters.roundedToZero = roundedToZero
        counters.maxAbsValue = maxAbs
        counters.accumulatorOverflows = overflows
        return counters
    }

    func testNewCountersAreZero() {
        XCTAssertEqual(QuantizationCounters(), counters(0, 0, 0, 0, 0))
    }

    func testMergeAddsCountsAndKeepsTheLargerMaxAbs() {
        var left = counters(10, 2, 3, 1.5, 1)
        left.merge(counters(5, 1, 0, 0.25, 4))
        XCTAssertEqual(left, counters(15, 3, 3, 1.5, 5))
        XCTAssertEqual(counters(1, 0, 0, 0.5, 0) + counters(2, 1, 1, 8, 1), counters(3, 1, 1, 8, 1))
        var total = QuantizationCounters()
        total += counters(4, 4, 4, 4, 4)
        XCTAssertEqual(total, counters(4, 4, 4, 4, 4))
    }

    func testJSONRoundTrip() throws {
        let original = counters(100, 7, 12, 3.75, 2)
        let decoded = try JSONDecoder().decode(QuantizationCounters.self, from: JSONEncoder().encode(original))
        XCTAssertEqual(decoded, original)
    }
}
