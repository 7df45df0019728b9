import Foundation
@testable import Quantized
import XCTest

/// `IntegerSoftmax` against the softmax of the same real logits in `Double`:
/// the documented bound `|p_int - p_exact| <= 0.5 * 2^-n + 2^-20` (one step for
/// UQ0.n formats, whose largest value is below 1), measured over many random
/// rows for 8- and 16-bit outputs; rows sum to 1 within half a step per element;
/// the argmax of a clear winner is kept.
final class IntegerSoftmaxTests: XCTestCase {
    private let formatsWithOne = ["Q1.6", "UQ1.7", "Q1.14", "UQ1.14"].map { try! FixedPointFormat(parsing: $0) }
    private let formatsBelowOne = ["UQ0.8", "UQ0.15"].map { try! FixedPointFormat(parsing: $0) }

    /// Softmax of `logits * 2^-fractionalBits` in Double, max-subtracted.
    private static func exactSoftmax(_ logits: [Int64], fractionalBits: Int) -> [Double] {
        let largest = logits.max()!
        let scale = Double(sign: .plus, exponent: -fractionalBits, significand: 1)
        let exponentials = logits.map { Foundation.exp((Double($0) - Double(largest)) * scale) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    /// A row of `count` logits at scale 2^-fractionalBits, spread over about +-spread (real units).
    private static func randomRow(count: Int, fractionalBits: Int, spread: Double, samples: inout SampleBits) -> [Int64] {
        (0..<count).map { _ in
            Int64(((samples.unit() * 2 - 1) * spread * Double(sign: .plus, exponent: fractionalBits, significand: 1)).rounded())
        }
    }

    private func probabilities(_ logits: [Int64], _ fractionalBits: Int, _ format: FixedPointFormat) -> [Int16] {
        var counters = QuantizationCounters()
        return IntegerSoftmax.probabilities(logits: logits, logitFractionalBits: fractionalBits, output: format,
                                            counters: &counters)
    }

    // MARK: Small exact cases

    func testOneLogitGivesProbabilityOne() {
        XCTAssertEqual(probabilities([12345], 8, try! FixedPointFormat(parsing: "Q1.6")), [64])
        XCTAssertEqual(probabilities([-7], 0, try! FixedPointFormat(parsing: "Q1.14")), [16384])
        XCTAssertEqual(probabilities([], 0, try! FixedPointFormat(parsing: "Q1.14")), [])
    }

    func testProbabilityOneSaturatesInUQ0Point8AndIsCounted() {
        var counters = QuantizationCounters()
        let codes = IntegerSoftmax.probabilities(logits: [1000, 0], logitFractionalBits: 0,
                                                 output: try! FixedPointFormat(parsing: "UQ0.8"), counters: &counters)
        XCTAssertEqual(codes, [255, 0])
        XCTAssertEqual(counters.elements, 2)
        XCTAssertEqual(counters.saturations, 1)
        XCTAssertEqual(counters.roundedToZero, 1)
        XCTAssertEqual(counters.maxAbsValue, 1)
    }

    func testEqualLogitsGiveEqualShares() {
        let q114 = try! FixedPointFormat(parsing: "Q1.14")
        XCTAssertEqual(probabilities([5, 5, 5, 5], 3, q114), [4096, 4096, 4096, 4096])
        XCTAssertEqual(probabilities([-9, -9, -9], 3, q114), [5461, 5461, 5461])   // 16384 / 3 = 5461.3
    }

    func testExtremeLogitsNeitherOverflowNorLoseTheWinner() {
        let q114 = try! FixedPointFormat(parsing: "Q1.14")
        XCTAssertEqual(probabilities([.min, .max, 0], 0, q114), [0, 16384, 0])
        // At 2^-62 the same codes are -2, 2 and 0: an ordinary row.
        let exact = Self.exactSoftmax([.min, .max, 0], fractionalBits: 62)
        for (code, p) in zip(probabilities([.min, .max, 0], 62, q114), exact) {
            XCTAssertEqual(Double(code) * 0x1p-14, p, accuracy: 0x1p-15 + 0x1p-20)
        }
        XCTAssertEqual(probabilities([3, 3 - (1 << 40)], -16, q114), [16384, 0])
    }

    // MARK: The exponential

    /// `exp2` of every 2^-12 step of the exponent in [-40, 0] is within
    /// 2^-26 relative plus 2^-31 absolute of Double's `exp2`.
    func testBase2ExponentialIsWithinItsErrorBound() {
        var worst = 0.0
        for step in stride(from: -40 << 12, through: 0, by: 1) {
            let exponentQ24 = Int64(step) << 12
            let exact = Foundation.exp2(Double(step) * 0x1p-12)
            let got = Double(IntegerSoftmax.exp2(exponentQ24)) * 0x1p-30
            let excess = abs(got - exact) - (exact * 0x1p-26 + 0x1p-31)
            worst = max(worst, excess)
            if excess > 0 { XCTFail("2^(\(Double(step) * 0x1p-12)): got \(got), exact \(exact)"); return }
        }
        XCTAssertLessThanOrEqual(worst, 0)
    }

    func testTableHoldsRoundedPowersOfTwo() {
        for (index, entry) in IntegerSoftmax.exp2Table.enumerated() {
            XCTAssertEqual(Double(entry), (Foundation.exp2(Double(index) / 32) * 0x1p30).rounded(), accuracy: 0.5001,
                           "entry \(index)")
        }
    }

    // MARK: Against Double softmax

    /// Measures `max |p_int - p_exact|` in steps of the output format over random
    /// rows (2 to 100 logits, logit scales 2^0 to 2^40, spreads 0.01 to 40) and
    /// checks it against the bound. Prints the measured maxima.
    func testErrorAgainstDoubleSoftmaxIsWithinTheBound() {
        var samples = SampleBits(seed: 71)
        var worstSteps: [String: Double] = [:]
        for format in formatsWithOne + formatsBelowOne {
            let step = format.step
            let bound = (formatsBelowOne.contains(format) ? step : 0.5 * step) + 0x1p-20
            var worst = 0.0
            for row in 0..<500 {
                let count = [2, 3, 10, 10, 10, 100][row % 6]
                let fractionalBits = Int(samples.next() % 41)
                let spread = [0.01, 0.5, 3, 10, 40][Int(samples.next() % 5)]
                let logits = Self.randomRow(count: count, fractionalBits: fractionalBits, spread: spread, samples: &samples)
                let exact = Self.exactSoftmax(logits, fractionalBits: fractionalBits)
                let codes = probabilities(logits, fractionalBits, format)
                for index in logits.indices {
                    let error = abs(Double(codes[index]) * step - exact[index])
                    worst = max(worst, error)
                    if error > bound {
                        XCTFail("\(format) row \(logits) at 2^-\(fractionalBits): p[\(index)] = \(codes[index]) steps, "
                                + "exact \(exact[index] / step) steps, error \(error / step) steps > bound \(bound / step)")
                        return
                    }
                }
            }
            worstSteps[format.description] = worst / step
        }
        print("IntegerSoftmax max |p_int - p_exact| in output steps: "
              + worstSteps.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", "))
    }

    /// Before the final rounding, `e_i / S` is within 2^-20 of the exact probability.
    func testRatioBeforeOutputRoundingIsWithinTwoToTheMinus20() {
        var samples = SampleBits(seed: 72)
        var worst = 0.0
        for row in 0..<300 {
            let count = [2, 10, 100, 1000][row % 4]
            let fractionalBits = Int(samples.next() % 41)
            let logits = Self.randomRow(count: count, fractionalBits: fractionalBits, spread: [0.5, 5, 30][row % 3],
                                        samples: &samples)
            let exact = Self.exactSoftmax(logits, fractionalBits: fractionalBits)
            let largest = logits.max()!
            let exponentials = logits.map {
                IntegerSoftmax.exp2(IntegerSoftmax.base2Exponent(difference: $0 - largest, fractionalBits: fractionalBits))
            }
            let sum = Double(exponentials.reduce(0, +))
            for index in logits.indices { worst = max(worst, abs(Double(exponentials[index]) / sum - exact[index])) }
        }
        print("IntegerSoftmax max |e_i / S - p_exact| = 2^\(String(format: "%.2f", log2(worst)))")
        XCTAssertLessThanOrEqual(worst, 0x1p-20)
    }

    func testRowsSumToOneWithinHalfAStepPerElement() {
        var samples = SampleBits(seed: 73)
        for format in formatsWithOne {
            let one = 1 << format.fractionalBits
            for row in 0..<300 {
                let count = [2, 5, 10, 30][row % 4]
                let logits = Self.randomRow(count: count, fractionalBits: 12, spread: 6, samples: &samples)
                let total = probabilities(logits, 12, format).reduce(0) { $0 + Int($1) }
                XCTAssertLessThanOrEqual(abs(total - one), count / 2 + 1, "\(format) row \(logits)")
            }
        }
    }

    func testArgmaxOfAClearWinnerIsKept() {
        var samples = SampleBits(seed: 74)
        for format in formatsWithOne + formatsBelowOne {
            for _ in 0..<200 {
                var logits = Self.randomRow(count: 10, fractionalBits: 10, spread: 4, samples: &samples)
                let winner = Int(samples.next() % 10)
                logits[winner] = logits.max()! + 1024   // ahead by 1.0: p_winner > e / (e + 9) ~ 0.23 more than any other
                let codes = probabilities(logits, 10, format)
                let argmax = codes.indices.max { codes[$0] < codes[$1] }!
                XCTAssertEqual(argmax, winner, "\(format) \(logits) -> \(codes)")
                XCTAssertEqual(codes.filter { $0 == codes[winner] }.count, 1, "\(format): the winner is tied")
            }
        }
    }

    func testCountersCountEveryElementAndTheZeros() {
        var counters = QuantizationCounters()
        _ = IntegerSoftmax.probabilities(logits: [0, -(20 << 8), 0, -(20 << 8)], logitFractionalBits: 8,
                                         output: try! FixedPointFormat(parsing: "Q1.6"), counters: &counters)
        XCTAssertEqual(counters.elements, 4)
        XCTAssertEqual(counters.saturations, 0)
        XCTAssertEqual(counters.roundedToZero, 2, "e^-20 / 2 is far below one step of Q1.6")
        XCTAssertEqual(counters.maxAbsValue, 0.5, accuracy: 1e-6)
    }
}
