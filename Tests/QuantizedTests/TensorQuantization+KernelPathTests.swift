import Quantized
import TestSupport
import XCTest

/// The whole-tensor loops (`ck_quantize`, `ck_requantize`, compiled once per
/// kernel path) against the scalar `FixedPoint` operations element by element,
/// on inputs full of exact ties, out-of-range values, NaN and infinities, in every
/// rounding mode and on every path this CPU has; counters included.
final class TensorQuantizationKernelPathTests: XCTestCase {
    private let random = StochasticBits(seed: 12, stream: 3)
    private let formats = [FixedPointFormat(totalBits: 8, fractionalBits: 6),
                           FixedPointFormat(totalBits: 16, fractionalBits: 17),
                           FixedPointFormat(totalBits: 8, fractionalBits: -2),
                           FixedPointFormat(totalBits: 8, fractionalBits: 0, signed: false)]

    func testQuantizeEqualsTheScalarQuantizeOnTiesAndEdges() {
        // Every multiple of a quarter step of Q1.6 in [-3, 3]: exact ties and
        // exact codes in both signs, then the edges.
        var values = (-768...768).map { Float($0) / 256 }
        values += [.nan, .infinity, -.infinity, 1e30, -1e30, .leastNonzeroMagnitude, -0.0, 0x1p-29, 127.5, -128.5]
        forEveryKernelPath { path in
            for format in formats {
                for mode in RoundingMode.allCases {
                    var counters = QuantizationCounters()
                    let codes = TensorQuantization.quantize(values, to: format, mode: mode, random: random, counters: &counters)
                    var saturations = 0, roundedToZero = 0
                    for (index, value) in values.enumerated() {
                        let expected = FixedPoint.quantize(value, to: format, mode: mode,
                                                           randomBits: random.bits(at: UInt64(index)))
                        if expected.saturated { saturations += 1 } else if expected.code == 0 && value != 0 { roundedToZero += 1 }
                        XCTAssertEqual(Int32(codes[index]), expected.code, "\(path) \(format) \(mode) value \(value)")
                    }
                    XCTAssertEqual(counters.saturations, saturations, "\(path) \(format) \(mode)")
                    XCTAssertEqual(counters.roundedToZero, roundedToZero, "\(path) \(format) \(mode)")
                    XCTAssertEqual(counters.maxAbsValue, .infinity, "\(path) \(format) \(mode): NaN ignored, infinity counted")
                }
            }
        }
    }

    func testRequantizeEqualsShiftThenSaturateOnTiesAndEdges() {
        // Sums near every multiple of half a step after a shift of 4, and the extremes.
        var sums: [Int64] = []
        for multiple in Int64(-600)...600 {
            let center: Int64 = multiple * 8
            sums.append(contentsOf: [center - 1, center, center + 1])
        }
        let extremes: [Int64] = [.max, .min, .max - 1, .min + 1, 1 << 40, -(1 << 40)]
        sums += extremes
        // Chunks of 1,024 inside Int32 take the 32-bit lanes: a prefix without the
        // extremes, two whole chunks, one and a ragged end, a ragged end alone.
        checkRequantize(sums, prefixes: [sums.count, 2048, 1029, 5])
        // Int32's edges (inside: 32-bit lanes), and sums just beyond it among small
        // ones (the chunk narrowed in 64 bits), ragged.
        let int32 = (Int64(Int32.min), Int64(Int32.max))
        checkRequantize([int32.1, int32.0, int32.1 - 1, int32.0 + 1, 8, -8, 0, 9, -9, 4, 12], prefixes: [11])
        for beyond in [int32.1 + 1, int32.0 - 1, 1 << 32, -(1 << 32)] {
            checkRequantize([8, -8, 9, beyond, -9, 4, 12, 3, 1], prefixes: [9])
            checkRequantize([8, -8, 9, 5, -9, 4, 12, 3, beyond], prefixes: [8]) // in the ragged end
        }
    }

    /// `requantize` of `sums` (and of each prefix) against the element formula
    /// on every kernel path, format, shift and mode: codes, counts and the largest.
    private func checkRequantize(_ sums: [Int64], prefixes: [Int]) {
        forEveryKernelPath { path in
            for format in formats {
                for shift in [4, 1, 0, 20, 31, -3, 63] {
                    for mode in RoundingMode.allCases {
                        let from = format.fractionalBits + shift
                        var counters = QuantizationCounters()
                        let codes = TensorQuantization.requantize(sums, fromFractionalBits: from, to: format, mode: mode,
                                                                  random: random, counters: &counters)
                        // Per element: saturated, or rounded to zero.
                        var saturatedAt: [Bool] = [], vanishedAt: [Bool] = []
                        for (index, sum) in sums.enumerated() {
                            let expected: (code: Int32, saturated: Bool)
                            if shift < 0 && (sum > Int64(format.maxCode) >> -shift || sum < -(-Int64(format.minCode) >> -shift)) {
                                expected = (sum > 0 ? format.maxCode : format.minCode, true)
                            } else {
                                expected = FixedPoint.saturate(FixedPoint.roundingShiftRight(
                                    sum, by: shift, mode: mode, randomBits: random.bits(at: UInt64(index))), to: format)
                            }
                            saturatedAt.append(expected.saturated)
                            vanishedAt.append(!expected.saturated && expected.code == 0 && sum != 0)
                            XCTAssertEqual(Int32(codes[index]), expected.code, "\(path) \(format) shift \(shift) \(mode) sum \(sum)")
                        }
                        XCTAssertEqual(counters.saturations, saturatedAt.filter { $0 }.count, "\(path) \(format) shift \(shift) \(mode)")
                        XCTAssertEqual(counters.roundedToZero, vanishedAt.filter { $0 }.count, "\(path) \(format) shift \(shift) \(mode)")
                        // The prefixes: codes, counts and the largest |sum|.
                        for prefix in prefixes {
                            var prefixCounters = QuantizationCounters()
                            let prefixCodes = TensorQuantization.requantize(Array(sums[..<prefix]), fromFractionalBits: from, to: format,
                                                                            mode: mode, random: random, counters: &prefixCounters)
                            XCTAssertEqual(prefixCodes, Array(codes[..<prefix]), "\(path) \(format) shift \(shift) \(mode)")
                            XCTAssertEqual(prefixCounters.saturations, saturatedAt[..<prefix].filter { $0 }.count,
                                           "\(path) \(format) shift \(shift) \(mode) prefix \(prefix)")
                            XCTAssertEqual(prefixCounters.roundedToZero, vanishedAt[..<prefix].filter { $0 }.count,
                                           "\(path) \(format) shift \(shift) \(mode) prefix \(prefix)")
                            let largest = sums[..<prefix].map(\.magnitude).max()!
                            XCTAssertEqual(prefixCounters.maxAbsValue,
                                           Double(largest) * Double(sign: .plus, exponent: -from, significand: 1),
                                           "\(path) \(format) shift \(shift) \(mode) prefix \(prefix)")
                        }
                    }
                }
            }
        }
    }

    func testReluAndDropoutEqualTheElementwiseFormulaAndReturnTheLargestOnOneTwoAndThreeThreads() {
        var samples = SampleBits(seed: 15)
        let mantissa: Int64 = 9_363
        // 1,000 sums stay on one thread (not a multiple of any vector width); 140,001 are shared.
        for count in [1000, 140_001] {
            let sums = (0..<count).map { _ in samples.next(in: -(1 << 40)...(1 << 40)) }
            let keep = (0..<count).map { index -> Float in [0, 1.25, .nan, -1, 0x1p-149][index % 5] }
            let expectedRelu = sums.map { max($0, 0) }
            let expectedDropped = zip(sums, keep).map { sum, keep in keep > 0 ? max(sum, 0) * mantissa : 0 }
            forEveryKernelPath { path in
                for threads in [1, 2, 3] {
                    let label = "\(path) \(count) sums, \(threads) threads"
                    var relu = sums
                    let largestRelu = relu.withUnsafeMutableBufferPointer {
                        TensorQuantization.reluAndDropout($0, keep: nil, mantissa: 0, threads: threads)
                    }
                    XCTAssertEqual(relu, expectedRelu, "\(label): ReLU")
                    XCTAssertEqual(largestRelu, expectedRelu.max()!.magnitude, "\(label): ReLU's largest")
                    var dropped = sums
                    let largestDropped = dropped.withUnsafeMutableBufferPointer { values in
                        keep.withUnsafeBufferPointer {
                            TensorQuantization.reluAndDropout(values, keep: $0, mantissa: mantissa, threads: threads)
                        }
                    }
                    XCTAssertEqual(dropped, expectedDropped, "\(label): dropout")
                    XCTAssertEqual(largestDropped, expectedDropped.max()!.magnitude, "\(label): dropout's largest")
                }
            }
        }
        // All negative: nothing is left, and the largest is 0.
        var negative: [Int64] = [-5, -1, -(1 << 50)]
        XCTAssertEqual(negative.withUnsafeMutableBufferPointer { TensorQuantization.reluAndDropout($0, keep: nil, mantissa: 0) }, 0)
        XCTAssertEqual(negative, [0, 0, 0])
    }

    func testGateByCodesEqualsTheElementwiseFormulaAndReturnsTheLargest() {
        var samples = SampleBits(seed: 16)
        let count = 1001
        let sums = (0..<count).map { _ in samples.next(in: -(1 << 40)...(1 << 40)) }
        let codes = (0..<count).map { _ in Int16(samples.next(in: -3...3)) }
        forEveryKernelPath { path in
            for mantissa: Int64 in [0, 1, 9_363] {
                var gated = sums
                let largest = gated.withUnsafeMutableBufferPointer { values in
                    codes.withUnsafeBufferPointer { TensorQuantization.gate(values, byCodes: $0, mantissa: mantissa) }
                }
                XCTAssertEqual(gated, zip(sums, codes).map { sum, code in code > 0 ? sum * mantissa : 0 }, "\(path) \(mantissa)")
                XCTAssertEqual(largest, gated.map(\.magnitude).max(), "\(path) \(mantissa): the largest afterwards")
            }
            // Int64.min passes a gate of scale 1, and its magnitude is 2^63.
            var extreme: [Int64] = [5, Int64.min, -7]
            let largest = extreme.withUnsafeMutableBufferPointer { values in
                [Int16(1), 1, 0].withUnsafeBufferPointer { TensorQuantization.gate(values, byCodes: $0, mantissa: 1) }
            }
            XCTAssertEqual(extreme, [5, Int64.min, 0], "\(path)")
            XCTAssertEqual(largest, Int64.min.magnitude, "\(path)")
        }
    }

    func testRequantizeIsTheSameOnOneTwoAndThreeThreads() {
        // Large enough to be shared among threads (16 blocks of 4,096 and a
        // ragged end), in every mode: stochastic bits follow the element index.
        var samples = SampleBits(seed: 17)
        let sums = (0..<(16 * 4096 + 77)).map { index in samples.next(in: index % 5 == 0 ? -(1 << 40)...(1 << 40) : -5000...5000) }
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 3)
        forEveryKernelPath { path in
            for mode in RoundingMode.allCases {
                var reference = QuantizationCounters()
                let one = TensorQuantization.requantize(sums, fromFractionalBits: 7, to: format, mode: mode, random: random,
                                                        threads: 1, counters: &reference)
                for threads in [2, 3] {
                    var counters = QuantizationCounters()
                    let codes = TensorQuantization.requantize(sums, fromFractionalBits: 7, to: format, mode: mode, random: random,
                                                              threads: threads, counters: &counters)
                    XCTAssertEqual(codes, one, "\(path) \(mode) \(threads) threads")
                    XCTAssertEqual(counters, reference, "\(path) \(mode) \(threads) threads")
                }
                XCTAssertGreaterThan(reference.saturations, 0)
                XCTAssertGreaterThan(reference.roundedToZero, 0)
            }
        }
    }

    func testQuantizeIsTheSameOnOneTwoAndThreeThreads() {
        // Large enough to be shared among threads (16 blocks of 4,096 and a
        // ragged end), with NaN, saturating values and values that round to
        // zero; the largest |value| in the last block: stochastic bits follow
        // the element index, counts add up and the largest is taken over parts.
        var samples = SampleBits(seed: 18)
        var values = (0..<(16 * 4096 + 77)).map { index -> Float in
            index % 997 == 3 ? .nan : Float(samples.next(in: -300_000...300_000)) / 65_536
        }
        values[16 * 4096 + 70] = -7.5
        let format = FixedPointFormat(totalBits: 8, fractionalBits: 6)
        forEveryKernelPath { path in
            for mode in RoundingMode.allCases {
                var reference = QuantizationCounters()
                let one = TensorQuantization.quantize(values, to: format, mode: mode, random: random, threads: 1,
                                                      counters: &reference)
                for threads in [2, 3] {
                    var counters = QuantizationCounters()
                    let codes = TensorQuantization.quantize(values, to: format, mode: mode, random: random, threads: threads,
                                                            counters: &counters)
                    XCTAssertEqual(codes, one, "\(path) \(mode) \(threads) threads")
                    XCTAssertEqual(counters, reference, "\(path) \(mode) \(threads) threads")
                }
                XCTAssertGreaterThan(reference.saturations, 0)
                XCTAssertGreaterThan(reference.roundedToZero, 0)
                XCTAssertEqual(reference.maxAbsValue, 7.5)
            }
        }
    }

    func testLargestMagnitudeOfSumsOnEveryPathAndThreadCount() {
        // At the start, the end and on both sides of the splits between threads
        // (66 blocks of 4,096: two parts split at block 33, three at 22 and 44),
        // Int64.min included; large enough to be shared among threads.
        var samples = SampleBits(seed: 14)
        let count = 65 * 4096 + 5
        let base = (0..<count).map { _ in samples.next(in: -1_000_000...1_000_000) }
        forEveryKernelPath { path in
            for position in [0, 1, 7, 33 * 4096 - 1, 33 * 4096, 22 * 4096 - 1, 22 * 4096, 44 * 4096, count - 1] {
                for extreme: Int64 in [-5_000_000_000, 5_000_000_000, .min, .max] {
                    var sums = base
                    sums[position] = extreme
                    for threads in [1, 2, 3] {
                        let largest = sums.withUnsafeBufferPointer { TensorQuantization.maxMagnitude($0, threads: threads) }
                        XCTAssertEqual(largest, extreme.magnitude, "\(path) position \(position) \(threads) thread(s)")
                    }
                }
            }
            XCTAssertEqual([Int64]().withUnsafeBufferPointer { TensorQuantization.maxMagnitude($0, threads: 2) }, 0)
        }
    }

    func testQuantizeReportsTheLargestFiniteMagnitudeIgnoringNaNInEveryLane() {
        // The maximum sits at every position of a vector's worth of lanes in turn,
        // among NaN, negative zero, subnormals and smaller values of both signs.
        forEveryKernelPath { path in
            for position in 0..<37 {
                var values = (0..<37).map { Float($0 % 5) * (($0 % 2 == 0) ? -0.25 : 0.125) }
                values[(position + 3) % 37] = .nan
                values[(position + 5) % 37] = -0.0
                values[(position + 7) % 37] = .leastNonzeroMagnitude
                values[position] = position % 2 == 0 ? -3.75 : 3.75
                var counters = QuantizationCounters()
                counters.maxAbsValue = 0
                _ = TensorQuantization.quantize(values, to: formats[0], mode: .nearestEven, random: random, counters: &counters)
                XCTAssertEqual(counters.maxAbsValue, 3.75, "\(path), maximum at \(position)")
            }
            var counters = QuantizationCounters()
            counters.maxAbsValue = 0.5
            _ = TensorQuantization.quantize([.nan, -0.0, 0.25], to: formats[0], mode: .truncate, random: random, counters: &counters)
            XCTAssertEqual(counters.maxAbsValue, 0.5, "\(path): an earlier larger maximum stays")
        }
    }
}
