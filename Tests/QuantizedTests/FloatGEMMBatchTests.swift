@testable import Quantized
import TestSupport
import XCTest

/// `FloatGEMM.multiplyEachSample` and `multiplySummingSamples` (a conv layer's
/// per-sample products and its weight gradient over the batch) give exactly
/// the floats of `multiply` called sample by sample (the sum: sample 0 written,
/// then each next sample added with `accumulate`), on every kernel path this
/// CPU has and on 1, 2 and 3 threads. `multiply` itself is checked against the
/// reference in `FloatGEMMTests`.
final class FloatGEMMBatchTests: XCTestCase {
    private static let shapes = [
        // (batch, m, n, k): a conv layer's per-sample shape; depth past one k
        // block; edge panels and row blocks. The first two are large enough to share.
        (6, 32, 100, 25), (4, 20, 25, 300), (3, 5, 17, 7), (1, 7, 33, 64),
    ]

    func testSharedShapesAreLargeEnoughToThread() {
        for shape in Self.shapes.prefix(2) { XCTAssertGreaterThanOrEqual(shape.0 * shape.1 * shape.2 * shape.3, 1 << 18) }
    }

    private func eachSample(_ operands: Batch, threads: Int) -> [Float] {
        let ldc = operands.n + 3, cSampleStride = operands.m * ldc + 5
        var c = [Float](repeating: -7, count: operands.batch * cSampleStride)
        operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                FloatGEMM.multiplyEachSample(a, aSampleStride: operands.aSampleStride, b, bSampleStride: operands.bSampleStride,
                                             batch: operands.batch, into: c.baseAddress!, ldc: ldc,
                                             cSampleStride: cSampleStride, threads: threads)
            }
        }
        return c
    }

    private func sampleBySample(_ operands: Batch) -> [Float] {
        let ldc = operands.n + 3, cSampleStride = operands.m * ldc + 5
        var c = [Float](repeating: -7, count: operands.batch * cSampleStride)
        operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                for s in 0..<operands.batch {
                    FloatGEMM.multiply(a.movedOn(s * operands.aSampleStride), b.movedOn(s * operands.bSampleStride),
                                       into: c.baseAddress! + s * cSampleStride, ldc: ldc)
                }
            }
        }
        return c
    }

    func testEachSampleGivesThatSamplesProductOnOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            for (index, shape) in Self.shapes.enumerated() {
                for (sharedA, transposeB) in [(true, false), (false, true)] {
                    let operands = Batch(batch: shape.0, m: shape.1, n: shape.2, k: shape.3, sharedA: sharedA,
                                         transposeB: transposeB, seed: UInt64(31 + index))
                    let expected = sampleBySample(operands)
                    for threads in [1, 2, 3] {
                        XCTAssertEqual(eachSample(operands, threads: threads), expected, "\(operands.description): \(threads) threads")
                    }
                }
            }
        }
    }

    private func summingSamples(_ operands: Batch, initial: [Float]?, threads: Int) -> [Float] {
        var c = initial ?? [Float](repeating: -7, count: operands.m * (operands.n + 2))
        operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                FloatGEMM.multiplySummingSamples(a, aSampleStride: operands.aSampleStride, b, bSampleStride: operands.bSampleStride,
                                                 batch: operands.batch, into: c.baseAddress!, ldc: operands.n + 2,
                                                 accumulate: initial != nil, threads: threads)
            }
        }
        return c
    }

    private func accumulated(_ operands: Batch, initial: [Float]?) -> [Float] {
        var c = initial ?? [Float](repeating: -7, count: operands.m * (operands.n + 2))
        operands.withViews { a, b in
            c.withUnsafeMutableBufferPointer { c in
                for s in 0..<operands.batch {
                    FloatGEMM.multiply(a.movedOn(s * operands.aSampleStride), b.movedOn(s * operands.bSampleStride),
                                       into: c.baseAddress!, ldc: operands.n + 2, accumulate: initial != nil || s > 0)
                }
            }
        }
        return c
    }

    func testSummingSamplesAddsEachSamplesProductInOrderOnOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            for (index, shape) in Self.shapes.enumerated() {
                for (sharedA, transposeB) in [(false, true), (false, false), (true, true)] {
                    let operands = Batch(batch: shape.0, m: shape.1, n: shape.2, k: shape.3, sharedA: sharedA,
                                         transposeB: transposeB, seed: UInt64(51 + index))
                    var values = TestValues(seed: 3)
                    let initial = values.floats(operands.m * (operands.n + 2), scale: 1)
                    for start in [nil, initial] {
                        let expected = accumulated(operands, initial: start)
                        for threads in [1, 2, 3] {
                            XCTAssertEqual(summingSamples(operands, initial: start, threads: threads), expected,
                                           "\(operands.description): \(threads) threads, accumulate \(start != nil)")
                        }
                    }
                }
            }
        }
    }

    func testEmptyBatchWritesZerosOrLeavesTheAccumulatorAlone() {
        let operands = Batch(batch: 0, m: 3, n: 4, k: 5, sharedA: true, transposeB: false, seed: 1)
        XCTAssertEqual(summingSamples(operands, initial: [Float](repeating: 2, count: 18), threads: 2),
                       [Float](repeating: 2, count: 18))
        XCTAssertEqual(summingSamples(operands, initial: nil, threads: 2).filter { $0 == 0 }.count, 12)
        XCTAssertEqual(eachSample(operands, threads: 2), [])
    }
}

private typealias Batch = SampleBatch<Float>

extension SampleBatch where Element == Float {
    /// Floats uniform in [-1, 1).
    init(batch: Int, m: Int, n: Int, k: Int, sharedA: Bool, transposeB: Bool, seed: UInt64) {
        var values = TestValues(seed: seed)
        self.init(batch: batch, m: m, n: n, k: k, sharedA: sharedA, transposeB: transposeB,
                  make: { values.floats($0, scale: 1) })
    }
}
