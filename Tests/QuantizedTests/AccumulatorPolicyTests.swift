import Quantized
import XCTest

/// `FixedPoint.applyInt32Accumulator`: sums inside Int32 untouched; outside,
/// clamped (`saturate`) or reduced modulo 2^32 (`wrap`), and counted either way.
final class AccumulatorPolicyTests: XCTestCase {
    private let crossing: [Int64] = [0, -5, Int64(Int32.max), Int64(Int32.max) + 1, Int64(Int32.min),
                                     Int64(Int32.min) - 1, (1 << 40) + 5, -(1 << 40) - 7, (1 << 32) + 3]

    func testSaturateClampsSumsOutsideInt32AndCountsThem() {
        var sums = crossing, counters = QuantizationCounters()
        FixedPoint.applyInt32Accumulator(&sums, policy: .saturate, counters: &counters)
        let max = Int64(Int32.max), min = Int64(Int32.min)
        XCTAssertEqual(sums, [0, -5, max, max, min, min, max, min, max])
        XCTAssertEqual(counters.accumulatorOverflows, 5)
        XCTAssertEqual(counters.elements, 0, "applying the accumulator narrows no element to a code")
    }

    func testWrapKeepsTheLow32BitsAndCountsThem() {
        var sums = crossing, counters = QuantizationCounters()
        FixedPoint.applyInt32Accumulator(&sums, policy: .wrap, counters: &counters)
        XCTAssertEqual(sums, [0, -5, Int64(Int32.max), Int64(Int32.min), Int64(Int32.min), Int64(Int32.max), 5, -7, 3])
        XCTAssertEqual(counters.accumulatorOverflows, 5)
    }

    /// Addition modulo 2^32 does not depend on order: the wrapped exact sum is
    /// what a wrapping 32-bit adder holds after the terms in any order.
    func testWrapEqualsAWrappingInt32AdderInAnyOrder() {
        var samples = SampleBits(seed: 41)
        for _ in 0..<200 {
            let terms = (0..<50).map { _ in Int32(truncatingIfNeeded: samples.next(in: -(1 << 30)...(1 << 30))) }
            var exact = [terms.reduce(Int64(0)) { $0 + Int64($1) }]
            var counters = QuantizationCounters()
            FixedPoint.applyInt32Accumulator(&exact, policy: .wrap, counters: &counters)
            let forward = terms.reduce(Int32(0), &+)
            let backward = terms.reversed().reduce(Int32(0), &+)
            XCTAssertEqual(exact[0], Int64(forward))
            XCTAssertEqual(exact[0], Int64(backward))
        }
    }

    func testPolicyNamesAreTheConfigSpellings() {
        XCTAssertEqual(AccumulatorPolicy(rawValue: "saturate"), .saturate)
        XCTAssertEqual(AccumulatorPolicy(rawValue: "wrap"), .wrap)
        XCTAssertNil(AccumulatorPolicy(rawValue: "clip"))
    }
}
