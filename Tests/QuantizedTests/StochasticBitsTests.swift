import Dispatch
import Foundation
import Quantized
import XCTest

/// `StochasticBits` is the documented SplitMix64 formula, and a pure function of
/// (seed, stream, index): the same bits in any order, on any thread.
final class StochasticBitsTests: XCTestCase {
    /// Sequential SplitMix64 as published (Steele, Lea, Flood 2014; Vigna's
    /// `splitmix64.c`): add the golden gamma to the state, then finalise.
    private struct SequentialSplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func output(number: Int) -> UInt64 {
            for _ in 0..<number { _ = next() }
            return next()
        }
    }

    func testSequentialReferenceGivesTheKnownFirstOutputForSeedZero() {
        var generator = SequentialSplitMix64(state: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
    }

    func testKeyIsOutputNumberStreamOfSplitMix64SeededWithSeed() {
        for (seed, stream) in [(UInt64(0), UInt64(0)), (1, 0), (0, 5), (12345, 17), (.max, 3)] {
            var sequential = SequentialSplitMix64(state: seed)
            XCTAssertEqual(StochasticBits(seed: seed, stream: stream).key, sequential.output(number: Int(stream)))
        }
    }

    func testBitsAtIndexIsOutputNumberIndexOfSplitMix64SeededWithTheKey() {
        let random = StochasticBits(seed: 2024, stream: 9)
        var sequential = SequentialSplitMix64(state: random.key)
        for index in 0..<1_000 {
            XCTAssertEqual(random.bits(at: UInt64(index)), sequential.next(), "index \(index)")
        }
    }

    func testBitsDoNotDependOnCallOrderOrThreads() {
        let random = StochasticBits(seed: 99, stream: 4)
        let count = 20_000
        let forward = (0..<count).map { random.bits(at: UInt64($0)) }
        var backward = [UInt64](repeating: 0, count: count)
        for index in (0..<count).reversed() { backward[index] = random.bits(at: UInt64(index)) }
        var threaded = [UInt64](repeating: 0, count: count)
        threaded.withUnsafeMutableBufferPointer { buffer in
            let target = buffer
            DispatchQueue.concurrentPerform(iterations: 7) { part in
                for index in stride(from: part, to: count, by: 7) { target[index] = random.bits(at: UInt64(index)) }
            }
        }
        XCTAssertEqual(forward, backward)
        XCTAssertEqual(forward, threaded)
        XCTAssertEqual(forward, (0..<count).map { StochasticBits(seed: 99, stream: 4).bits(at: UInt64($0)) })
    }

    func testDifferentSeedsStreamsAndSubstreamsGiveDifferentBits() {
        let base = StochasticBits(seed: 1, stream: 0)
        let others = [StochasticBits(seed: 2, stream: 0), StochasticBits(seed: 1, stream: 1),
                      base.substream(0), base.substream(1)]
        let first = (0..<64).map { base.bits(at: $0) }
        for other in others {
            XCTAssertNotEqual((0..<64).map { other.bits(at: $0) }, first)
        }
        XCTAssertEqual(base.substream(5), StochasticBits(seed: base.key, stream: 5))
    }

    func testEachBitIsSetAboutHalfTheTime() {
        let random = StochasticBits(seed: 5, stream: 5)
        let draws = 20_000
        var ones = [Int](repeating: 0, count: 64)
        for index in 0..<draws {
            let bits = random.bits(at: UInt64(index))
            for position in 0..<64 where bits >> position & 1 == 1 { ones[position] += 1 }
        }
        // Binomial(20000, 1/2): standard deviation 71; allow 6 of them.
        for position in 0..<64 { XCTAssertEqual(Double(ones[position]), 10_000, accuracy: 430, "bit \(position)") }
    }

    func testCodableRoundTripKeepsSeedAndStream() throws {
        let random = StochasticBits(seed: 77, stream: 3)
        let data = try JSONEncoder().encode(random)
        XCTAssertEqual(String(data: data, encoding: .utf8)?.contains("key"), false)
        let decoded = try JSONDecoder().decode(StochasticBits.self, from: data)
        XCTAssertEqual(decoded, random)
        XCTAssertEqual(decoded.bits(at: 10), random.bits(at: 10))
    }
}
