@testable import Quantized
import TestSupport
import XCTest

/// `IntegerGEMM.multiplyEachSample` and `multiplySummingSamples` (a conv
/// layer's per-sample products and its weight update over the batch) against
/// the scalar `ReferenceIntegerGEMM`, sample by sample: exact on every kernel
/// path this CPU has, with the operand ranges taken from every sample (an
/// extreme code in the last sample alone must change the method), with the
/// returned bound holding every sum, and bit-identical for 1, 2 and 3 threads.
final class IntegerGEMMBatchTests: XCTestCase {
    private static let shapes = [
        // (batch, m, n, k): a conv layer's per-sample shape, odd depth, edge panels
        // and row blocks; the first two are large enough to be shared among threads.
        (6, 32, 100, 25), (12, 32, 25, 36), (3, 5, 17, 7), (1, 7, 33, 64),
    ]

    func testSharedShapesAreLargeEnoughToThread() {
        for shape in Self.shapes.prefix(2) { XCTAssertGreaterThanOrEqual(shape.0 * shape.1 * shape.2 * shape.3, 1 << 18) }
    }

    private func eachSample(_ operands: Batch, threads: Int) -> (sums: [Int64], bound: UInt64) {
        let ldc = operands.n + 3, cSampleStride = operands.m * ldc + 5
        var c = [Int64](repeating: 0x5EED, count: operands.batch * cSampleStride)
        let bound = operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                IntegerGEMM.multiplyEachSample(a, aSampleStride: operands.aSampleStride,
                                               b, bSampleStride: operands.bSampleStride,
                                               batch: operands.batch, into: c.baseAddress!, ldc: ldc,
                                               cSampleStride: cSampleStride, threads: threads)
            }
        }
        // Each sample's product, and the padding between rows and samples untouched.
        var expected = [Int64](repeating: 0x5EED, count: c.count)
        for s in 0..<operands.batch {
            let product = operands.referenceProduct(s)
            for i in 0..<operands.m {
                for j in 0..<operands.n { expected[s * cSampleStride + i * ldc + j] = product[i * operands.n + j] }
            }
        }
        if let index = c.indices.first(where: { c[$0] != expected[$0] }) {
            XCTFail("\(operands.description), \(threads) threads: element \(index) got \(c[index]), "
                    + "expected \(expected[index])")
        }
        let largest = (0..<operands.batch).flatMap(operands.referenceProduct).map(\.magnitude).max() ?? 0
        XCTAssertLessThanOrEqual(largest, bound, "\(operands.description): sum bound")
        return (c, bound)
    }

    func testEachSampleIsThatSamplesProductOnOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            for (index, shape) in Self.shapes.enumerated() {
                for (sharedA, transposeB) in [(true, false), (false, true)] {
                    for range: ClosedRange<Int64> in [-128...127, -32768...32767] {
                        let operands = Batch(batch: shape.0, m: shape.1, n: shape.2, k: shape.3, sharedA: sharedA,
                                             transposeB: transposeB, range: range, seed: UInt64(71 + index))
                        let single = eachSample(operands, threads: 1)
                        for threads in [2, 3] {
                            XCTAssertEqual(eachSample(operands, threads: threads).sums, single.sums,
                                           "\(operands.description): \(threads) threads")
                        }
                    }
                }
            }
        }
    }

    private func summingSamples(_ operands: Batch, initial: [Int64]?, threads: Int) -> [Int64] {
        let ldc = operands.n + 2
        var c = initial ?? [Int64](repeating: 0x5EED, count: operands.m * ldc)
        let bound = operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                IntegerGEMM.multiplySummingSamples(a, aSampleStride: operands.aSampleStride,
                                                   b, bSampleStride: operands.bSampleStride,
                                                   batch: operands.batch, into: c.baseAddress!, ldc: ldc,
                                                   accumulate: initial != nil, threads: threads)
            }
        }
        var expected = initial ?? [Int64](repeating: 0x5EED, count: c.count)
        var total = [Int64](repeating: 0, count: operands.m * operands.n)
        for s in 0..<operands.batch {
            for (index, sum) in operands.referenceProduct(s).enumerated() { total[index] += sum }
        }
        for i in 0..<operands.m {
            for j in 0..<operands.n {
                expected[i * ldc + j] = (initial == nil ? 0 : expected[i * ldc + j]) + total[i * operands.n + j]
            }
        }
        if let index = c.indices.first(where: { c[$0] != expected[$0] }) {
            XCTFail("\(operands.description), \(threads) threads: element \(index) got \(c[index]), "
                    + "expected \(expected[index])")
        }
        XCTAssertLessThanOrEqual(total.map(\.magnitude).max() ?? 0, bound, "\(operands.description): sum bound")
        return c
    }

    func testSummingSamplesAddsEverySamplesProductOnOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            for (index, shape) in Self.shapes.enumerated() {
                for (sharedA, transposeB) in [(false, true), (false, false), (true, true)] {
                    for range: ClosedRange<Int64> in [-128...127, -32768...32767] {
                        let operands = Batch(batch: shape.0, m: shape.1, n: shape.2, k: shape.3, sharedA: sharedA,
                                             transposeB: transposeB, range: range, seed: UInt64(91 + index))
                        let initial = (0..<operands.m * (operands.n + 2)).map { Int64($0 * 37 - 500) }
                        for start in [nil, initial] {
                            let single = summingSamples(operands, initial: start, threads: 1)
                            for threads in [2, 3] {
                                XCTAssertEqual(summingSamples(operands, initial: start, threads: threads), single,
                                               "\(operands.description): \(threads) threads")
                            }
                        }
                    }
                }
            }
        }
    }

    func testCodeRangesComeFromEverySample() {
        // int8-range codes except one full-range code in the last sample: the
        // method (and run lengths) must follow it, or sums overflow Int32 runs.
        forEveryKernelPath { _ in
            var operands = Batch(batch: 4, m: 6, n: 16, k: 300, sharedA: true, transposeB: false, range: -128...127, seed: 5)
            operands.a = operands.a.map { _ in -32768 }
            let last = operands.batch * operands.k * operands.n - 1
            operands.b[last] = -32768
            operands.b[last - operands.n] = -32768
            let range = operands.withViews { _, b in
                IntegerGEMM.codeRange(b, sampleStride: operands.bSampleStride, batch: operands.batch, threads: 2)
            }
            XCTAssertEqual(range, -32768...127)
            _ = eachSample(operands, threads: 2)
            _ = summingSamples(operands, initial: nil, threads: 2)
        }
    }

    func testAnAllZeroOperandGivesZeroSums() {
        // Zero codes on one side (a conv layer's PEPITA update when no hidden code
        // differs between the passes): zero sums, the padding untouched, a bound
        // of 0, and C += A B leaving C alone.
        forEveryKernelPath { _ in
            for (zeroA, sharedA) in [(true, false), (false, false), (true, true), (false, true)] {
                var operands = Batch(batch: 6, m: 32, n: 25, k: 36, sharedA: sharedA, transposeB: true, range: -128...127, seed: 3)
                if zeroA { operands.a = operands.a.map { _ in 0 } } else { operands.b = operands.b.map { _ in 0 } }
                XCTAssertEqual(eachSample(operands, threads: 2).bound, 0)
                XCTAssertEqual(summingSamples(operands, initial: nil, threads: 2).filter { $0 == 0 }.count, 32 * 25)
                let initial = (0..<32 * 27).map { Int64($0 * 37 - 500) }
                XCTAssertEqual(summingSamples(operands, initial: initial, threads: 2), initial)
                // One nonzero code, in the last sample's B: not all zero, the products run
                // (the helpers check each against the reference).
                if zeroA { operands.a = operands.a.map { _ in 1 } }
                operands.b[operands.batch * operands.k * operands.n - 1] = 7
                XCTAssertGreaterThan(eachSample(operands, threads: 2).bound, 0)
                _ = summingSamples(operands, initial: initial, threads: 2)
            }
        }
    }

    func testEmptyBatchOrDepth() {
        forEveryKernelPath { _ in
            let operands = Batch(batch: 0, m: 3, n: 4, k: 5, sharedA: true, transposeB: false, range: -9...9, seed: 1)
            XCTAssertEqual(summingSamples(operands, initial: [Int64](repeating: 7, count: 3 * 6), threads: 2),
                           [Int64](repeating: 7, count: 3 * 6))
            XCTAssertEqual(summingSamples(operands, initial: nil, threads: 2).filter { $0 == 0 }.count, 3 * 4)
            _ = eachSample(operands, threads: 2)
            let noDepth = Batch(batch: 3, m: 3, n: 4, k: 0, sharedA: false, transposeB: true, range: -9...9, seed: 1)
            XCTAssertEqual(eachSample(noDepth, threads: 1).bound, 0)
            _ = summingSamples(noDepth, initial: nil, threads: 1)
        }
    }
}

private typealias Batch = SampleBatch<Int16>

extension SampleBatch where Element == Int16 {
    /// Codes uniform in `range`.
    init(batch: Int, m: Int, n: Int, k: Int, sharedA: Bool, transposeB: Bool, range: ClosedRange<Int64>, seed: UInt64) {
        var samples = SampleBits(seed: seed)
        self.init(batch: batch, m: m, n: n, k: k, sharedA: sharedA, transposeB: transposeB,
                  make: { count in (0..<count).map { _ in Int16(samples.next(in: range)) } })
    }

    /// `A_s B_s` by the reference.
    func referenceProduct(_ s: Int) -> [Int64] {
        withViews { a, b in ReferenceIntegerGEMM.multiply(a.movedOn(s * aSampleStride), b.movedOn(s * bSampleStride)) }
    }
}
