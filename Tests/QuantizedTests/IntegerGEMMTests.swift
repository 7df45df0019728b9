@testable import Quantized
import TestSupport
import XCTest

/// `IntegerGEMM.multiply` against the scalar `ReferenceIntegerGEMM` (STYLE 16):
/// exact equality on every transpose combination, on shapes at every edge of the
/// blocking (part of a row block, part of a column panel, one to three panels,
/// depth past one and two blocks), for int8-range codes (byte quads), mid-range
/// int16 codes (Int16 pairs in short Int32 runs) and full-range int16 codes (B
/// split in bytes), and bit-identical for 1, 2 and 3 threads; on every kernel
/// path this CPU has (`forEveryKernelPath`), so every path gives the same sums.
final class IntegerGEMMTests: XCTestCase {
    private static let edgeSizes = [1, 3, 4, 5, 15, 16, 17, 33]

    /// Storage and views for one product `op(A) op(B)` with `op(A)` m x k and `op(B)` k x n.
    private struct Operands {
        var a: [Int16], b: [Int16]
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool

        init(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, range: ClosedRange<Int64>,
             samples: inout SampleBits) {
            self.m = m; self.n = n; self.k = k
            self.transposeA = transposeA; self.transposeB = transposeB
            a = (0..<m * k).map { _ in Int16(samples.next(in: range)) }
            b = (0..<k * n).map { _ in Int16(samples.next(in: range)) }
        }

        /// Calls `body` with the views; A is stored `k x m` when transposed, B `n x k`.
        func withViews<R>(_ body: (IntegerMatrixView, IntegerMatrixView) -> R) -> R {
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    let aView = transposeA
                        ? IntegerMatrixView.transposeOf(aBuffer.baseAddress!, storedRows: k, storedColumns: m)
                        : IntegerMatrixView.rowMajor(aBuffer.baseAddress!, rows: m, columns: k)
                    let bView = transposeB
                        ? IntegerMatrixView.transposeOf(bBuffer.baseAddress!, storedRows: n, storedColumns: k)
                        : IntegerMatrixView.rowMajor(bBuffer.baseAddress!, rows: k, columns: n)
                    return body(aView, bView)
                }
            }
        }

        /// The whole `m x ldc` buffer after the fast kernel, C starting as `initial`
        /// (a sentinel when not given).
        func fast(ldc: Int? = nil, initial: [Int64]? = nil, accumulate: Bool? = nil, threads: Int = 1) -> [Int64] {
            let ldc = ldc ?? n
            var c = initial ?? [Int64](repeating: 0x5EED, count: m * ldc)
            let accumulating = accumulate ?? (initial != nil)
            var taken: UInt64?
            let bound = withViews { aView, bView in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    IntegerGEMM.multiply(aView, bView, into: cBuffer.baseAddress!, ldc: ldc, accumulate: accumulating,
                                         threads: threads, largestMagnitude: &taken)
                }
            }
            // The returned bound holds every sum of the product; a largest
            // magnitude the kernel took is the largest sum's, and only for C = A B.
            let largest = (0..<m).flatMap { row in (0..<n).map { c[row * ldc + $0].magnitude } }.max() ?? 0
            if !accumulating { XCTAssertLessThanOrEqual(largest, bound, "\(description): sum bound") }
            if let taken {
                XCTAssertFalse(accumulating, "\(description): a largest magnitude taken while accumulating")
                XCTAssertEqual(taken, largest, "\(description), \(threads) thread(s): largest magnitude")
            }
            return c
        }

        func reference() -> [Int64] { withViews { ReferenceIntegerGEMM.multiply($0, $1) } }

        var description: String { "[\(KernelPath.active.rawValue)] m \(m) n \(n) k \(k) transposeA \(transposeA) transposeB \(transposeB)" }
    }

    private func assertEqualSums(_ got: [Int64], _ expected: [Int64], _ operands: Operands,
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard let index = got.indices.first(where: { got[$0] != expected[$0] }) else { return }
        XCTFail("\(operands.description): element (\(index / operands.n), \(index % operands.n)) got \(got[index]), "
                + "expected \(expected[index])", file: file, line: line)
    }

    // MARK: Small exact cases

    func testTwoByTwoProduct() {
        forEveryKernelPath { _ in
            let a: [Int16] = [1, -2, 3, 4], b: [Int16] = [5, 6, -7, 8]
            var c = [Int64](repeating: 0, count: 4)
            let bound = a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    IntegerGEMM.multiply(.rowMajor(aBuffer.baseAddress!, rows: 2, columns: 2),
                                         .rowMajor(bBuffer.baseAddress!, rows: 2, columns: 2), into: &c, ldc: 2)
                }
            }
            XCTAssertEqual(c, [19, -10, -13, 50])
            XCTAssertEqual(bound, 2 * 4 * 8, "k * max|a| * max|b|")
        }
    }

    func testSumsBeyondInt32AreExact() {
        forEveryKernelPath { _ in
            // 40 products of (-32768)^2 = 2^30: the sum 40 * 2^30 needs 36 bits.
            let k = 40
            let a = [Int16](repeating: .min, count: k), b = [Int16](repeating: .min, count: k)
            var c: [Int64] = [0]
            let bound = a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    IntegerGEMM.multiply(.rowMajor(aBuffer.baseAddress!, rows: 1, columns: k),
                                         .rowMajor(bBuffer.baseAddress!, rows: k, columns: 1), into: &c, ldc: 1)
                }
            }
            XCTAssertEqual(c, [Int64(k) << 30])
            XCTAssertEqual(bound, UInt64(k) << 30, "the bound is reached here")
        }
    }

    func testEmptyInnerDimensionGivesZerosOrLeavesTheAccumulatorAlone() {
        forEveryKernelPath { _ in
            let dummy: [Int16] = [0]
            var c: [Int64] = [7, 7, 7, 7, 7, 7]
            dummy.withUnsafeBufferPointer { buffer in
                let a = IntegerMatrixView(base: buffer.baseAddress!, rows: 2, columns: 0, rowStride: 0, columnStride: 1)
                let b = IntegerMatrixView(base: buffer.baseAddress!, rows: 0, columns: 3, rowStride: 3, columnStride: 1)
                IntegerGEMM.multiply(a, b, into: &c, ldc: 3, accumulate: true)
                XCTAssertEqual(c, [7, 7, 7, 7, 7, 7])
                IntegerGEMM.multiply(a, b, into: &c, ldc: 3, accumulate: false)
                XCTAssertEqual(c, [0, 0, 0, 0, 0, 0])
            }
        }
    }

    func testAnAllZeroOperandGivesZerosOrLeavesTheAccumulatorAlone() {
        // Zero codes on one side (PEPITA's int8 first-layer update when no hidden
        // code differs between the passes): the bound and the largest are 0, C
        // is zeros (its padding past n untouched), and C += A B leaves C alone.
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 12)
            for zeroA in [true, false] {
                for threads in [1, 2] {
                    var operands = Operands(m: 70, n: 33, k: 64, transposeA: true, transposeB: false, range: -128...127,
                                            samples: &samples)
                    if zeroA { operands.a = operands.a.map { _ in 0 } } else { operands.b = operands.b.map { _ in 0 } }
                    let ldc = 35, context = "\(operands.description), zero \(zeroA ? "A" : "B"), \(threads) thread(s)"
                    var c = [Int64](repeating: 0x5EED, count: operands.m * ldc)
                    var taken: UInt64? = .max
                    let bound = operands.withViews { a, b in
                        IntegerGEMM.multiply(a, b, into: &c, ldc: ldc, threads: threads, largestMagnitude: &taken)
                    }
                    XCTAssertEqual(bound, 0, context)
                    XCTAssertEqual(taken, 0, context)
                    XCTAssertEqual(c, (0..<c.count).map { $0 % ldc < operands.n ? 0 : 0x5EED }, context)
                    let initial = (0..<c.count).map { Int64($0) - 100 }
                    c = initial
                    operands.withViews { a, b in
                        _ = IntegerGEMM.multiply(a, b, into: &c, ldc: ldc, accumulate: true, threads: threads,
                                                 largestMagnitude: &taken)
                    }
                    XCTAssertEqual(c, initial, context)
                    XCTAssertNil(taken, context)
                }
            }
        }
    }

    func testMethodFollowsTheOperandRanges() {
        let int8: ClosedRange<Int32> = -128...127, int16: ClosedRange<Int32> = -32768...32767
        XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: int8, bCodes: int8, path: .scalar), "int64")
        XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: int16, bCodes: int16, path: .scalar), "int64")
        if KernelPath.avx512.isSupported {
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: int8, bCodes: int8, path: .avx512), "vpdpbusd")
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: -128...128, bCodes: int8, path: .avx512), "vpdpwssd",
                           "+128 is no signed byte")
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: -4000...4000, bCodes: -4000...4000, path: .avx512), "vpdpwssd")
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: int16, bCodes: int16, path: .avx512), "vpdpwssd split")
        }
        if KernelPath.avx2.isSupported {
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: int8, bCodes: int8, path: .avx2), "vpmaddwd")
            // Runs of 12 products of 13377^2 fit in Int32, runs of 12 of 13378^2 do not.
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: -13377...13377, bCodes: -13377...13377, path: .avx2), "vpmaddwd")
            XCTAssertEqual(IntegerGEMM.method(k: 784, aCodes: -13378...13378, bCodes: -13378...13378, path: .avx2),
                           "vpmaddwd split")
            // A shorter product in Int32 runs when a run can hold its k products: 11 of 13900^2 fit in Int32, 12 do not.
            XCTAssertEqual(IntegerGEMM.method(k: 11, aCodes: -13900...13900, bCodes: -13900...13900, path: .avx2), "vpmaddwd")
            XCTAssertEqual(IntegerGEMM.method(k: 10, aCodes: -13900...13900, bCodes: -13900...13900, path: .avx2), "vpmaddwd")
            XCTAssertEqual(IntegerGEMM.method(k: 12, aCodes: -13900...13900, bCodes: -13900...13900, path: .avx2),
                           "vpmaddwd split")
            // Full Int16 codes: not even one pair fits.
            XCTAssertEqual(IntegerGEMM.method(k: 1, aCodes: int16, bCodes: int16, path: .avx2), "vpmaddwd split")
        }
    }

    /// Products of large codes in short Int32 runs (a conv layer's k = 25 in
    /// int16, in runs of 16; k = 600 in runs of 12, more blocks than one span
    /// of packed panels holds), or in one run holding the whole sum: exact at
    /// the runs' limit, with a row of A and a column of B at their largest
    /// magnitude, in both signs; alone and added to C on two threads.
    func testShortProductsOfLargeCodesAreExact() {
        let cases: [(k: Int, a: ClosedRange<Int64>, b: ClosedRange<Int64>)] = [
            (25, -8018...8018, 0...16490), (25, -13377...13377, -13377...13377), (600, -13377...13377, -13377...13377),
            (11, -13900...13900, -13900...13900),
            (12, -13900...13900, -13900...13900), (2, -32768...32767, -32767...32767), (3, -32768...32767, -32767...32767),
        ]
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 67)
            for test in cases {
                for (aEnd, bEnd) in [(test.a.lowerBound, test.b.lowerBound), (test.a.lowerBound, test.b.upperBound),
                                     (test.a.upperBound, test.b.upperBound)] {
                    let m = 13, n = 37, k = test.k, transposeB = k % 2 == 0
                    var operands = Operands(m: m, n: n, k: k, transposeA: false, transposeB: transposeB, range: test.a,
                                            samples: &samples)
                    operands.b = (0..<k * n).map { _ in Int16(samples.next(in: test.b)) }
                    for p in 0..<k {
                        operands.a[p] = Int16(aEnd)
                        operands.b[transposeB ? p : p * n] = Int16(bEnd)
                    }
                    let expected = operands.reference()
                    assertEqualSums(operands.fast(), expected, operands)
                    // Added to what C holds, on two threads (each its own rows or columns).
                    let initial = (0..<m * n).map { Int64($0 % 7) - 3 }
                    assertEqualSums(operands.fast(initial: initial, threads: 2), zip(initial, expected).map { $0 &+ $1 }, operands)
                }
            }
        }
    }

    // MARK: Against the reference

    func testMatchesReferenceOnEveryEdgeShapeAndTransposeCombination() {
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 61)
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for m in Self.edgeSizes {
                        for n in Self.edgeSizes {
                            for k in [1, 4, 17, 33] {
                                let range: ClosedRange<Int64> = (m + n + k) % 2 == 0 ? -128...127 : -32768...32767
                                let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                        range: range, samples: &samples)
                                assertEqualSums(operands.fast(), operands.reference(), operands)
                            }
                        }
                    }
                }
            }
        }
    }

    func testMatchesReferenceWhenDepthSpansSeveralBlocksAndRunLengths() {
        forEveryKernelPath { _ in
                var samples = SampleBits(seed: 62)
            // Ranges giving byte quads (int8), Int16 pairs in runs of 134 products
            // (|a|, |b| <= 4000) and of 20 (|a|, |b| <= 10000: spans of several
            // k blocks), and the split into high and low bytes (full Int16 codes).
            for range: ClosedRange<Int64> in [-128...127, -4000...4000, -10000...10000, -32768...32767] {
                for k in [255, 256, 257, 600, 1100] {
                    for (m, n) in [(1, 1), (5, 17), (4, 16)] {
                        for transposeA in [false, true] {
                            for transposeB in [false, true] {
                                let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                        range: range, samples: &samples)
                                assertEqualSums(operands.fast(), operands.reference(), operands)
                            }
                        }
                    }
                }
            }
        }
    }

    func testTransposedBWithEvenStrideAndOddDepthMatchesReference() {
        // B = the transpose of an n x (k + 1) matrix cut to k columns: an even
        // column stride with an odd depth, so the packing's eight-column word
        // transpose meets a final half-filled pair in every panel.
        forEveryKernelPath { path in
            var samples = SampleBits(seed: 64)
            for (m, n, k) in [(5, 24, 17), (7, 17, 33), (6, 40, 1)] {
                for range: ClosedRange<Int64> in [-128...127, -4000...4000] {
                    let stride = k + 1
                    let a = (0..<(m * k)).map { _ in Int16(samples.next(in: range)) }
                    let bStored = (0..<(n * stride)).map { _ in Int16(samples.next(in: range)) }
                    var c = [Int64](repeating: 0, count: m * n)
                    let expected = a.withUnsafeBufferPointer { aBuffer in
                        bStored.withUnsafeBufferPointer { bBuffer in
                            let aView = IntegerMatrixView.rowMajor(aBuffer.baseAddress!, rows: m, columns: k)
                            let bView = IntegerMatrixView(base: bBuffer.baseAddress!, rows: k, columns: n, rowStride: 1,
                                                          columnStride: stride)
                            IntegerGEMM.multiply(aView, bView, into: &c, ldc: n)
                            return ReferenceIntegerGEMM.multiply(aView, bView)
                        }
                    }
                    XCTAssertEqual(c, expected, "\(path) m \(m) n \(n) k \(k) codes \(range)")
                }
            }
        }
    }

    func testRowMajorAWithEvenStrideAndOddDepthMatchesReference() {
        // A = an m x (k + 1) matrix cut to k columns: rows of Int16 pairs packed
        // eight at a time by the word transpose, with a final half-filled pair
        // for odd k; m from one row block to several with a partial last one, k
        // within one block and across blocks (and run lengths for wider codes).
        forEveryKernelPath { path in
            var samples = SampleBits(seed: 65)
            for (m, n, k) in [(8, 16, 17), (13, 17, 33), (64, 20, 255), (17, 33, 600), (30, 16, 1)] {
                for range: ClosedRange<Int64> in [-128...127, -4000...4000] {
                    let stride = k + 1
                    let aStored = (0..<(m * stride)).map { _ in Int16(samples.next(in: range)) }
                    let b = (0..<(k * n)).map { _ in Int16(samples.next(in: range)) }
                    for threads in [1, 2] {
                        var c = [Int64](repeating: 0, count: m * n)
                        let expected = aStored.withUnsafeBufferPointer { aBuffer in
                            b.withUnsafeBufferPointer { bBuffer in
                                let aView = IntegerMatrixView(base: aBuffer.baseAddress!, rows: m, columns: k, rowStride: stride,
                                                              columnStride: 1)
                                let bView = IntegerMatrixView.rowMajor(bBuffer.baseAddress!, rows: k, columns: n)
                                IntegerGEMM.multiply(aView, bView, into: &c, ldc: n, threads: threads)
                                return ReferenceIntegerGEMM.multiply(aView, bView)
                            }
                        }
                        XCTAssertEqual(c, expected, "\(path) m \(m) n \(n) k \(k) codes \(range), \(threads) threads")
                    }
                }
            }
        }
    }

    func testSumBoundFollowsTheExtremeCodeWhereverAThreadScansIt() {
        // Operands of at least 2^18 codes are scanned for their range in bands
        // on several threads: the one extreme code, put in different bands (and
        // in a transposed operand, whose bands are its stored columns), must be
        // found on every thread count; the bound is k * max|a| * max|b|.
        let big = 512, k = 600, small = 8
        forEveryKernelPath { path in
            for position in [0, 5, big * k / 2 + 3, big * k - 1] {
                for extreme: Int16 in [-32768, 30000] {
                    var large = [Int16](repeating: 3, count: big * k)
                    large[position] = extreme
                    let other = [Int16](repeating: -2, count: small * k)
                    for threads in [1, 2, 3] {
                        var c = [Int64](repeating: 0, count: big * small)
                        // A large (big x k, row-major), then B large (the transpose of a big x k matrix).
                        let bounds = large.withUnsafeBufferPointer { largeBuffer in
                            other.withUnsafeBufferPointer { otherBuffer in
                                (IntegerGEMM.multiply(.rowMajor(largeBuffer.baseAddress!, rows: big, columns: k),
                                                      .transposeOf(otherBuffer.baseAddress!, storedRows: small, storedColumns: k),
                                                      into: &c, ldc: small, threads: threads),
                                 IntegerGEMM.multiply(.rowMajor(otherBuffer.baseAddress!, rows: small, columns: k),
                                                      .transposeOf(largeBuffer.baseAddress!, storedRows: big, storedColumns: k),
                                                      into: &c, ldc: big, threads: threads))
                            }
                        }
                        let expected = UInt64(k) * UInt64(extreme.magnitude) * 2
                        XCTAssertEqual(bounds.0, expected, "\(path) A extreme at \(position), \(threads) threads")
                        XCTAssertEqual(bounds.1, expected, "\(path) B extreme at \(position), \(threads) threads")
                    }
                }
            }
        }
    }

    func testLargestMagnitudeIsTakenByTheVectorTilesForOneBlockOfDepth() {
        // C = A B of int8-range and mid-range codes with k up to one block of
        // depth, on the AVX2 and AVX-512 paths (pairs, and on AVX-512 the byte
        // quads with their column offsets): the tiles take the largest |C| as
        // they store it, wherever it lies (first and last row, the last panel's
        // edge, each thread's part). Not taken for two blocks of depth, for
        // C += A B, for the split method or on the scalar path.
        var samples = SampleBits(seed: 65)
        forEveryKernelPath { path in
            for (m, n, k) in [(7, 19, 64), (130, 33, 62), (6, 203, 220), (1, 1, 1)] {
                for (range, extreme) in [(Int64(-128)...127, Int16(-128)), (-3000...3000, 3000)] {
                    let operands = Operands(m: m, n: n, k: k, transposeA: true, transposeB: false, range: range, samples: &samples)
                    for row in [0, m / 2, m - 1] {
                        for column in [0, n / 2, n - 1] {
                            // Column `column` of B and row `row` of A (stored k x m) all extreme:
                            // C[row][column] is the largest, positive or (every other placement) negative.
                            var placed = operands
                            let bExtreme: Int16 = (row + column) % 2 == 0 ? extreme : (extreme == -128 ? 127 : -extreme)
                            for p in 0..<k {
                                placed.a[p * m + row] = extreme
                                placed.b[p * n + column] = bExtreme
                            }
                            for threads in [1, 2, 3] {
                                var taken: UInt64?
                                var c = [Int64](repeating: 0, count: m * n)
                                placed.withViews { aView, bView in
                                    _ = IntegerGEMM.multiply(aView, bView, into: &c, ldc: n, threads: threads, largestMagnitude: &taken)
                                }
                                let label = "\(path) \(m)x\(n)x\(k) \(range) extreme at \(row), \(column), \(threads) thread(s)"
                                XCTAssertEqual(c, placed.reference(), label)
                                if path == .scalar {
                                    XCTAssertNil(taken, label)
                                } else {
                                    XCTAssertEqual(taken, UInt64(k) * UInt64(extreme.magnitude) * UInt64(bExtreme.magnitude), label)
                                }
                            }
                        }
                    }
                }
            }
            // A zero but for one code of 1 (an all-zero A skips the tiles), in a
            // last row block of 1 and 4 rows: the padding rows must sum to zero
            // too (they are computed, not stored), so the largest is |B|'s first row's.
            for m in [7, 130] {
                var nearlyZero = Operands(m: m, n: 19, k: 62, transposeA: true, transposeB: false, range: -128...127, samples: &samples)
                nearlyZero.a = [Int16](repeating: 0, count: m * 62)
                nearlyZero.a[0] = 1
                var taken: UInt64?
                var c = [Int64](repeating: 1, count: m * 19)
                nearlyZero.withViews { aView, bView in
                    _ = IntegerGEMM.multiply(aView, bView, into: &c, ldc: 19, largestMagnitude: &taken)
                }
                XCTAssertEqual(c, nearlyZero.reference())
                if path != .scalar {
                    XCTAssertEqual(taken, nearlyZero.b[..<19].map(\.magnitude).max().map(UInt64.init), "\(path) A nearly zero, \(m) rows")
                }
            }
            let twoBlocks = Operands(m: 5, n: 17, k: 1100, transposeA: false, transposeB: true, range: -128...127, samples: &samples)
            var c = [Int64](repeating: 0, count: 5 * 17)
            for accumulate in [false, true] {
                var taken: UInt64? = 7
                twoBlocks.withViews { aView, bView in
                    _ = IntegerGEMM.multiply(aView, bView, into: &c, ldc: 17, accumulate: accumulate, largestMagnitude: &taken)
                }
                XCTAssertNil(taken, "\(path): two blocks of depth, accumulate \(accumulate)")
            }
            let wide = Operands(m: 5, n: 17, k: 64, transposeA: false, transposeB: true, range: -32768...32767, samples: &samples)
            var taken: UInt64? = 7
            wide.withViews { aView, bView in
                _ = IntegerGEMM.multiply(aView, bView, into: &c, ldc: 17, largestMagnitude: &taken)
            }
            XCTAssertNil(taken, "\(path): the split method")
        }
    }

    func testAccumulateAddsTheProductToWhatCHolds() {
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 63)
            for (m, n, k) in [(1, 1, 1), (5, 17, 15), (4, 16, 33), (9, 3, 300)] {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        let operands = Operands(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                                range: -32768...32767, samples: &samples)
                        let initial = (0..<m * n).map { _ in samples.next(in: -(1 << 40)...(1 << 40)) }
                        let expected = zip(operands.reference(), initial).map { $0 + $1 }
                        assertEqualSums(operands.fast(initial: initial), expected, operands)
                    }
                }
            }
        }
    }

    func testLeadingDimensionWiderThanNLeavesThePaddingUntouched() {
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 64)
            for (m, n, k) in [(5, 17, 7), (4, 16, 300), (3, 1, 5)] {
                let operands = Operands(m: m, n: n, k: k, transposeA: false, transposeB: true, range: -128...127,
                                        samples: &samples)
                let ldc = n + 3, sentinel: Int64 = -12345
                for accumulate in [false, true] {
                    var initial = [Int64](repeating: sentinel, count: m * ldc)
                    for i in 0..<m { for j in 0..<n { initial[i * ldc + j] = accumulate ? 1 : 0x5EED } }
                    let got = operands.fast(ldc: ldc, initial: initial, accumulate: accumulate)
                    var dense: [Int64] = []
                    for i in 0..<m {
                        dense.append(contentsOf: got[i * ldc ..< i * ldc + n])
                        XCTAssertEqual(Array(got[i * ldc + n ..< (i + 1) * ldc]), [sentinel, sentinel, sentinel],
                                       "padding of row \(i) was written")
                    }
                    assertEqualSums(dense, operands.reference().map { $0 + (accumulate ? 1 : 0) }, operands)
                }
            }
        }
    }

    // MARK: Threads

    /// Shapes with `m * n * k >= 2^18`, so that more than one thread is used:
    /// more 16-column panels than 4-row groups (split over panels) and the reverse.
    private static let threadedShapes = [
        (m: 6, n: 203, k: 220),   // 13 panels vs 2 row groups: split over panels
        (m: 130, n: 33, k: 62),   // 3 panels vs 33 row groups: split over rows
    ]

    func testThreadedShapesAreLargeEnoughToThread() {
        for shape in Self.threadedShapes { XCTAssertGreaterThanOrEqual(shape.m * shape.n * shape.k, 1 << 18) }
    }

    func testResultsAreIdenticalForOneTwoAndThreeThreads() {
        forEveryKernelPath { _ in
            var samples = SampleBits(seed: 65)
            for shape in Self.threadedShapes {
                for (transposeA, transposeB) in [(false, true), (true, false)] {
                    let operands = Operands(m: shape.m, n: shape.n, k: shape.k, transposeA: transposeA,
                                            transposeB: transposeB, range: -32768...32767, samples: &samples)
                    let single = operands.fast(threads: 1)
                    assertEqualSums(single, operands.reference(), operands)
                    for threads in [2, 3] {
                        XCTAssertEqual(operands.fast(threads: threads), single, "\(operands.description): \(threads) threads")
                    }
                }
            }
        }
    }
}
