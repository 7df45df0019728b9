import Foundation
import PepitaEngine
import TestSupport
import XCTest

/// `RandomStream`: a counter-based generator whose n-th draw depends only on
/// (seed, stream, n), so runs repeat, purposes are independent and a saved
/// counter resumes the stream exactly.
final class RandomStreamTests: XCTestCase {
    private func draws(_ stream: RandomStream, count: Int) -> [UInt64] {
        var stream = stream
        return (0..<count).map { _ in stream.next() }
    }

    func testSameSeedAndPurposeGiveTheSameDraws() {
        XCTAssertEqual(draws(RandomStream(seed: 42, purpose: .weights), count: 100),
                       draws(RandomStream(seed: 42, purpose: .weights), count: 100))
    }

    func testDifferentPurposesAndSeedsGiveDifferentDraws() {
        let purposes: [RandomStream.Purpose] = [.weights, .projection, .feedback, .shuffle, .dropout]
        var seen = Set<[UInt64]>()
        for purpose in purposes {
            seen.insert(draws(RandomStream(seed: 42, purpose: purpose), count: 8))
        }
        seen.insert(draws(RandomStream(seed: 43, purpose: .weights), count: 8))
        XCTAssertEqual(seen.count, purposes.count + 1)
        // Not a shifted copy of one another either.
        let weights = Set(draws(RandomStream(seed: 42, purpose: .weights), count: 1000))
        let dropout = Set(draws(RandomStream(seed: 42, purpose: .dropout), count: 1000))
        XCTAssertTrue(weights.isDisjoint(with: dropout))
    }

    func testPurposeIsTheStreamNumber() {
        XCTAssertEqual(draws(RandomStream(seed: 7, purpose: .shuffle), count: 10),
                       draws(RandomStream(seed: 7, stream: RandomStream.Purpose.shuffle.rawValue), count: 10))
    }

    func testStreamRestartedAtCounterContinuesIdentically() {
        var original = RandomStream(seed: 9, purpose: .dropout)
        for _ in 0..<37 { _ = original.next() }
        XCTAssertEqual(original.counter, 37)
        let restarted = RandomStream(seed: 9, purpose: .dropout, counter: 37)
        XCTAssertEqual(draws(original, count: 50), draws(restarted, count: 50))
    }

    func testStreamSurvivesACodableRoundTrip() throws {
        var stream = RandomStream(seed: 5, purpose: .shuffle)
        for _ in 0..<11 { _ = stream.next() }
        let decoded = try JSONDecoder().decode(RandomStream.self, from: JSONEncoder().encode(stream))
        XCTAssertEqual(decoded, stream)
        XCTAssertEqual(draws(decoded, count: 20), draws(stream, count: 20))
    }

    func testEveryDrawAdvancesTheCounterByOne() {
        var stream = RandomStream(seed: 3, purpose: .weights)
        _ = stream.next()
        _ = stream.nextUnitFloat()
        _ = stream.nextUnitDouble()
        _ = stream.nextSymmetric(bound: 2)
        XCTAssertEqual(stream.counter, 4)
    }

    func testNextIndexIsInRangeAndRoughlyUniform() {
        var stream = RandomStream(seed: 1, purpose: .shuffle)
        for bound in [1, 2, 7, 10, 1000] {
            for _ in 0..<200 {
                let index = stream.nextIndex(below: bound)
                XCTAssertTrue((0..<bound).contains(index), "\(index) not below \(bound)")
            }
        }
        // Chi-square over 10 000 draws in 10 buckets (9 degrees of freedom): the
        // 99.99th percentile is about 33; a biased generator lands far beyond.
        let buckets = 10, draws = 10_000
        var counts = [Int](repeating: 0, count: buckets)
        for _ in 0..<draws { counts[stream.nextIndex(below: buckets)] += 1 }
        let expected = Double(draws) / Double(buckets)
        let chiSquare = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chiSquare, 33, "counts \(counts)")
    }

    func testPermutationIsAPermutation() {
        var stream = RandomStream(seed: 2, purpose: .shuffle)
        XCTAssertEqual(stream.permutation(count: 0), [])
        XCTAssertEqual(stream.permutation(count: 1), [0])
        for count in [2, 5, 100] {
            let order = stream.permutation(count: count)
            XCTAssertEqual(order.sorted(), Array(0..<count))
        }
        let order = stream.permutation(count: 30)
        XCTAssertNotEqual(order, Array(0..<30), "a shuffle of 30 that is the identity")
    }

    func testPermutationsAreRoughlyUniformOverThreeElements() {
        // 6 orders of 3 elements, 6000 shuffles: chi-square with 5 degrees of freedom.
        var stream = RandomStream(seed: 4, purpose: .shuffle)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<6000 { counts[stream.permutation(count: 3), default: 0] += 1 }
        XCTAssertEqual(counts.count, 6)
        let chiSquare = counts.values.reduce(0.0) { $0 + pow(Double($1) - 1000, 2) / 1000 }
        XCTAssertLessThan(chiSquare, 26, "counts \(counts)")
    }

    func testBernoulliFillEqualsTheDrawByDrawLoop() {
        // Probabilities whose 2^24 multiple is and is not whole, the extremes and NaN;
        // 70,000 values are shared among threads (blocks of 4,096 and a ragged end).
        let cases: [(Float, [Int])] = [(0.9, [0, 1, 1000, 70_000]), (0.5, [1000, 70_000]), (0.8, [1000]), (1, [1000, 70_000]),
                                       (0, [1000]), (0x1p-24, [1000]), (0.999_999_9, [1000]), (0x1p-30, [1000]), (.nan, [1000])]
        for (probability, counts) in cases {
            for count in counts {
                var loop = RandomStream(seed: 42, purpose: .dropout, counter: 17)
                let start = loop
                var expected = [Float](repeating: 0, count: count)
                for i in expected.indices where loop.nextUnitFloat() < probability { expected[i] = 2.5 }
                forEveryKernelPath { path in
                    for threads in [1, 2, 3] {
                        var fill = start
                        var values = [Float](repeating: -1, count: count)
                        values.withUnsafeMutableBufferPointer {
                            fill.fillBernoulli($0, probability: probability, value: 2.5, threads: threads)
                        }
                        let label = "probability \(probability), \(count) values, \(path), \(threads) threads"
                        XCTAssertEqual(values, expected, label)
                        XCTAssertEqual(fill.counter, loop.counter, label)
                        var next = loop
                        XCTAssertEqual(fill.next(), next.next(), "the streams continue alike: \(label)")
                    }
                }
            }
        }
    }

    func testUnitFloatIsInTheHalfOpenUnitInterval() {
        var stream = RandomStream(seed: 6, purpose: .dropout)
        var total = 0.0
        for _ in 0..<10_000 {
            let value = stream.nextUnitFloat()
            XCTAssertTrue(value >= 0 && value < 1, "\(value)")
            total += Double(value)
        }
        XCTAssertEqual(total / 10_000, 0.5, accuracy: 0.02)
    }

    func testUnitDoubleAndSymmetricStayInTheirIntervals() {
        var stream = RandomStream(seed: 8, purpose: .weights)
        for _ in 0..<5_000 {
            let unit = stream.nextUnitDouble()
            XCTAssertTrue(unit >= 0 && unit < 1, "\(unit)")
            let symmetric = stream.nextSymmetric(bound: 0.25)
            XCTAssertTrue(symmetric >= -0.25 && symmetric <= 0.25, "\(symmetric)")
        }
    }
}
