import Foundation
import Quantized
import TestSupport
import XCTest

/// `FloatGEMM.multiply` against the scalar `ReferenceGEMM` (STYLE 16) on every
/// transpose combination and on shapes at every edge of the kernel's blocking:
/// one row / column, part of a 4-row group, part of a 32-column panel, exactly
/// one, two and three panels, and `k` past one and two `kBlock`s; on every
/// kernel path this CPU has (`forEveryKernelPath`).
///
/// Tolerance: a sum of `k` float products (plus the accumulator) differs from the
/// exact sum by at most `gamma_(k+1) * sum(|a||b|)` with `gamma_n ~ n * 2^-24`
/// (Higham, Accuracy and Stability, §3.1); the reference's own rounding to float
/// adds half an ulp of the result. The bound used is twice that.
final class FloatGEMMTests: XCTestCase {
    private static let edgeSizes = [1, 3, 4, 5, 31, 32, 33, 65]

    /// Storage and views for one product `op(A) op(B)` with `op(A)` m x k and `op(B)` k x n.
    private struct Operands {
        var a: [Float], b: [Float]
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool

        init(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, values: inout TestValues) {
            self.m = m; self.n = n; self.k = k
            self.transposeA = transposeA; self.transposeB = transposeB
            a = values.floats(m * k, scale: 1)
            b = values.floats(k * n, scale: 1)
        }

        /// Calls `body` with the views; A is stored `k x m` when transposed, B `n x k`.
        func withViews<R>(_ body: (StridedMatrix, StridedMatrix) -> R) -> R {
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    let aView = transposeA
                        ? StridedMatrix.transposeOf(aBuffer.baseAddress!, storedRows: k, storedColumns: m)
                        : StridedMatrix.rowMajor(aBuffer.baseAddress!, rows: m, columns: k)
                    let bView = transposeB
                        ? StridedMatrix.transposeOf(bBuffer.baseAddress!, storedRows: n, storedColumns: k)
                        : StridedMatrix.rowMajor(bBuffer.baseAddress!, rows: k, columns: n)
                    return body(aView, bView)
                }
            }
        }

        /// `sum_p |a[i, p]| |b[p, j]|` for every element, in Double.
        func magnitudes() -> [Double] {
            withViews { aView, bView in
                var result = [Double](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for p in 0..<k { sum += abs(Double(aView[i, p]) * Double(bView[p, j])) }
                        result[i * n + j] = sum
                    }
                }
                return result
            }
        }

        /// `C = op(A) op(B)` (+ `initial` when accumulating) by the fast kernel, with
        /// leading dimension `ldc`, C starting as `initial` (NaN when not given);
        /// returns the whole `m x ldc` buffer.
        func fast(ldc: Int? = nil, initial: [Float]? = nil, accumulate: Bool? = nil, threads: Int = 1) -> [Float] {
            let ldc = ldc ?? n
            var c = initial ?? [Float](repeating: .nan, count: m * ldc)
            withViews { aView, bView in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    FloatGEMM.multiply(aView, bView, into: cBuffer.baseAddress!, ldc: ldc,
                                       accumulate: accumulate ?? (initial != nil), threads: threads)
                }
            }
            return c
        }

        /// `fast` with B packed first by `FloatGEMM.pack` (on `packThreads` threads).
        func fastPacked(initial: [Float]? = nil, threads: Int = 1, packThreads: Int = 1) -> [Float] {
            var c = initial ?? [Float](repeating: .nan, count: m * n)
            withViews { aView, bView in
                let packed = FloatGEMM.pack(bView, threads: packThreads)
                c.withUnsafeMutableBufferPointer { cBuffer in
                    FloatGEMM.multiply(aView, packed, into: cBuffer.baseAddress!, ldc: n, accumulate: initial != nil,
                                       threads: threads)
                }
            }
            return c
        }

        func reference() -> [Float] { withViews { ReferenceGEMM.multiply($0, $1) } }

        var description: String { "[\(KernelPath.active.rawValue)] m \(m) n \(n) k \(k) transposeA \(transposeA) transposeB \(transposeB)" }
    }

    /// Asserts `got` (dense `m x n`) is within the error bound of `reference`
    /// (+ `initial`), naming the first element that is not.
    private func assertWithinBound(_ got: [Float], _ reference: [Float], initial: [Float]? = nil,
                                   _ operands: Operands, file: StaticString = #filePath, line: UInt = #line) {
        let magnitudes = operands.magnitudes()
        let terms = Double(operands.k + 1)
        for index in got.indices {
            let base = Double(initial?[index] ?? 0)
            let expected = Double(reference[index]) + base
            let bound = 2 * (terms * 0x1p-24 * (magnitudes[index] + abs(base)) + abs(expected) * 0x1p-24) + 1e-30
            let difference = abs(Double(got[index]) - expected)
            if !(difference <= bound) {
                XCTFail("\(operands.description): element (\(index / operands.n), \(index % operands.n)) "
                        + "got \(got[index]), expected \(expected), |difference| \(difference) > bound \(bound)",
                        file: file, line: line)
                return
            }
        }
    }

    // MARK: Small exact cases

    func testTwoByTwoProductIsExact() {
        forEveryKernelPath { _ in
            let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
            var c = [Float](repeating: 0, count: 4)
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    FloatGEMM.multiply(.rowMajor(aBuffer.baseAddress!, rows: 2, columns: 2),
                                       .rowMajor(bBuffer.baseAddress!, rows: 2, columns: 2),
                                       into: &c, ldc: 2)
                }
            }
            XCTAssertEqual(c, [19, 22, 43, 50])
        }
    }

    func testTransposedViewsReadTheTranspose() {
        forEveryKernelPath { _ in
            // A^T with A = [[1, 2], [3, 4]] is [[1, 3], [2, 4]]; times B^T with B = [[5, 6], [7, 8]].
            let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
            var c = [Float](repeating: 0, count: 4)
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    FloatGEMM.multiply(.transposeOf(aBuffer.baseAddress!, storedRows: 2, storedColumns: 2),
                                       .transposeOf(bBuffer.baseAddress!, storedRows: 2, storedColumns: 2),
                                       into: &c, ldc: 2)
                }
            }
            // [[1, 3], [2, 4]] * [[5, 7], [6, 8]]
            XCTAssertEqual(c, [23, 31, 34, 46])
        }
    }

    func testEmptyInnerDimensionGivesZerosOrLeavesTheAccumulatorAlone() {
        forEveryKernelPath { _ in
            let dummy: [Float] = [0]
            var c: [Float] = [7, 7, 7, 7, 7, 7]
            dummy.withUnsafeBufferPointer { buffer in
                let a = StridedMatrix(base: buffer.baseAddress!, rows: 2, columns: 0, rowStride: 0, columnStride: 1)
                let b = StridedMatrix(base: buffer.baseAddress!, rows: 0, columns: 3, rowStride: 3, columnStride: 1)
                FloatGEMM.multiply(a, b, into: &c, ldc: 3, accumulate: true)
                XCTAssertEqual(c, [7, 7, 7, 7, 7, 7])
                FloatGEMM.multiply(a, b, into: &c, ldc: 3, accumulate: false)
                XCTAssertEqual(c, [0, 0, 0, 0, 0, 0])
            }
        }
    }

    // MARK: Against the reference

    func testMatchesReferenceOnEveryEdgeShapeAndTransposeCombination() {
        forEveryKernelPath { _ in
            var values = TestValues(seed: 1)
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for m in Self.edgeSizes {
                        for n in Self.edgeSizes {
                            for k in Self.edgeSizes {
                                let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                        values: &values)
                                assertWithinBound(operands.fast(), operands.reference(), operands)
                            }
                        }
                    }
                }
            }
        }
    }

    func testMatchesReferenceWhenDepthSpansSeveralKBlocks() {
        forEveryKernelPath { _ in
            XCTAssertEqual(FloatGEMM.kBlock, 256, "the shapes below assume kBlock = 256")
            var values = TestValues(seed: 2)
            for k in [255, 256, 257, 513, 800] {
                for (m, n) in [(1, 1), (5, 33), (4, 32), (3, 65)] {
                    for transposeA in [false, true] {
                        for transposeB in [false, true] {
                            let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                    values: &values)
                            assertWithinBound(operands.fast(), operands.reference(), operands)
                        }
                    }
                }
            }
        }
    }

    func testAccumulateAddsTheProductToWhatCHolds() {
        forEveryKernelPath { _ in
            var values = TestValues(seed: 3)
            for (m, n, k) in [(1, 1, 1), (5, 33, 31), (4, 32, 65), (33, 3, 400), (65, 65, 800)] {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                values: &values)
                        let initial = values.floats(m * n, scale: 4)
                        assertWithinBound(operands.fast(initial: initial), operands.reference(), initial: initial, operands)
                    }
                }
            }
        }
    }

    func testLeadingDimensionWiderThanNLeavesThePaddingUntouched() {
        forEveryKernelPath { _ in
            var values = TestValues(seed: 4)
            for (m, n, k) in [(5, 33, 7), (4, 32, 400), (3, 1, 5)] {
                let operands = Operands(m: m, n: n, k: k, transposeA: false, transposeB: true, values: &values)
                let ldc = n + 3
                let sentinel: Float = -12345
                for accumulate in [false, true] {
                    var initial = [Float](repeating: sentinel, count: m * ldc)
                    for i in 0..<m { for j in 0..<n { initial[i * ldc + j] = accumulate ? 1 : .nan } }
                    let got = operands.fast(ldc: ldc, initial: initial, accumulate: accumulate)
                    var dense: [Float] = []
                    for i in 0..<m {
                        dense.append(contentsOf: got[i * ldc ..< i * ldc + n])
                        for j in n..<ldc {
                            XCTAssertEqual(got[i * ldc + j], sentinel, "padding at row \(i) column \(j) was written")
                        }
                    }
                    assertWithinBound(dense, operands.reference(),
                                      initial: accumulate ? [Float](repeating: 1, count: m * n) : nil, operands)
                }
            }
        }
    }

    // MARK: Threads

    /// Shapes with `m * n * k >= 2^18`, so that more than one thread is used:
    /// more 32-column panels than 4-row groups (split over panels) and the
    /// reverse (split over row groups), with ragged edges in both directions.
    private static let threadedShapes = [
        (m: 6, n: 203, k: 300),   // 7 panels vs 2 row groups: split over panels
        (m: 9, n: 100, k: 400),   // 4 panels vs 3 row groups, depth past kBlock
        (m: 203, n: 20, k: 70),   // 1 panel vs 51 row groups: split over rows
        (m: 130, n: 33, k: 90),   // 2 panels vs 33 row groups
    ]

    func testThreadedShapesAreLargeEnoughToThread() {
        for shape in Self.threadedShapes { XCTAssertGreaterThanOrEqual(shape.m * shape.n * shape.k, 1 << 18) }
    }

    func testResultsAreBitIdenticalForOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            var values = TestValues(seed: 5)
            for shape in Self.threadedShapes {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        let operands = Operands(m: shape.m, n: shape.n, k: shape.k, transposeA: transposeA,
                                                transposeB: transposeB, values: &values)
                        let single = operands.fast(threads: 1)
                        for threads in [2, 3] {
                            let threaded = operands.fast(threads: threads)
                            XCTAssertEqual(threaded.map(\.bitPattern), single.map(\.bitPattern),
                                           "\(operands.description): \(threads) threads differ from 1")
                        }
                        let initial = values.floats(shape.m * shape.n, scale: 1)
                        let accumulated = operands.fast(initial: initial, threads: 1)
                        XCTAssertEqual(operands.fast(initial: initial, threads: 3).map(\.bitPattern),
                                       accumulated.map(\.bitPattern), "\(operands.description): accumulate, 3 threads")
                        assertWithinBound(single, operands.reference(), operands)
                    }
                }
            }
        }
    }

    func testProductsByAPackedOperandEqualTheUnpackedProduct() {
        // Edge shapes, depths past one and two k blocks and the threaded shapes,
        // B stored or transposed, packed and multiplied on 1 to 3 threads, into a
        // fresh C and accumulating: the same floats as multiply(a, b).
        forEveryKernelPath { _ in
            var values = TestValues(seed: 7)
            var shapes = [(m: 1, n: 1, k: 1), (m: 5, n: 33, k: 31), (m: 65, n: 3, k: 4), (m: 3, n: 65, k: 257),
                          (m: 7, n: 40, k: 600), (m: 4, n: 0, k: 5), (m: 4, n: 6, k: 0)]
            shapes += Self.threadedShapes
            for shape in shapes {
                for transposeB in [false, true] {
                    let operands = Operands(m: shape.m, n: shape.n, k: shape.k, transposeA: false, transposeB: transposeB,
                                            values: &values)
                    let expected = operands.fast().map(\.bitPattern)
                    let initial = values.floats(shape.m * shape.n, scale: 1)
                    let accumulated = operands.fast(initial: initial).map(\.bitPattern)
                    for (threads, packThreads) in [(1, 1), (2, 2), (3, 1), (1, 3)] {
                        let label = "\(operands.description), \(threads) threads, packed on \(packThreads)"
                        XCTAssertEqual(operands.fastPacked(threads: threads, packThreads: packThreads).map(\.bitPattern),
                                       expected, label)
                        XCTAssertEqual(operands.fastPacked(initial: initial, threads: threads, packThreads: packThreads)
                                           .map(\.bitPattern), accumulated, "\(label), accumulating")
                    }
                }
            }
        }
    }

    /// Products started from several threads at once: one gets the helper pool,
    /// the others run on Dispatch's threads; every result is still the one-thread one.
    func testProductsStartedTogetherMatchOneAtATime() {
        var values = TestValues(seed: 11)
        let shape = Self.threadedShapes[0]
        let operands = (0..<4).map { index in
            Operands(m: shape.m, n: shape.n, k: shape.k, transposeA: index % 2 == 1, transposeB: index >= 2, values: &values)
        }
        let expected = operands.map { $0.fast(threads: 1).map(\.bitPattern) }
        let results = ResultSlots(count: operands.count * 8)
        DispatchQueue.concurrentPerform(iterations: operands.count * 8) { index in
            results.store(operands[index % operands.count].fast(threads: 2).map(\.bitPattern), at: index)
        }
        for index in 0..<operands.count * 8 {
            XCTAssert(results.value(at: index) == expected[index % operands.count],
                      "\(operands[index % operands.count].description): product \(index) started together differs")
        }
    }

    /// One slot per concurrent product, written once each from different threads.
    private final class ResultSlots: @unchecked Sendable {
        private var slots: [[UInt32]]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: [], count: count) }
        func store(_ value: [UInt32], at index: Int) { lock.lock(); slots[index] = value; lock.unlock() }
        func value(at index: Int) -> [UInt32] { lock.lock(); defer { lock.unlock() }; return slots[index] }
    }
}
