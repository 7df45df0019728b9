import CKernels

/// Exact integer matrix product `C = A B` (or `C += A B`) of `Int16` codes into
/// `Int64` sums: the one kernel every layer of the integer engine calls.
///
/// Layout: `A` is an `m x k` view, `B` a `k x n` view (either may be a
/// transpose, see `IntegerMatrixView`), `C` is dense row-major `m x n` with
/// leading dimension `ldc`. If A's codes have scale `2^-na` and B's `2^-nb`,
/// `C` holds sums at scale `2^-(na + nb)` (README equations 2 to 4).
///
/// Exactness: the result is the exact sum of products on every `KernelPath`, for
/// any blocking or thread count (integer addition is associative). The AVX paths
/// add runs of products in `Int32` lanes and widen each run's sum into `Int64`;
/// the operands' code ranges (scanned first) choose how
/// (`Sources/CKernels/IntegerGEMM.c`): int8-range codes as unsigned-times-signed
/// byte quads (`vpdpbusd`, AVX-512 VNNI), other codes as `Int16` pairs
/// (`vpdpwssd` / `vpmaddwd`) in runs short enough that
/// `runLength * max|a| * max|b| <= Int32.max` (when runs of 12 products fit, or
/// runs of `k`), and wider codes by splitting B into its high and low bytes. The
/// portable path adds every product into `Int64`. `C` itself is updated with wrapping `Int64` adds; the
/// caller keeps `C + A B` within `Int64` (products alone need `k < 2^33`).
///
/// An operand whose codes are all zero (the code ranges say so) makes every
/// sum zero: `ck_igemm` then sets `C` to zeros (or leaves it with `accumulate`)
/// without running the tiles. int8 PEPITA meets this often: its first-layer update
/// `(h - h_mod)^T x_mod` is zero whenever no hidden code differs between the two passes.
///
/// Work is split over whole row blocks or whole column panels (`TilePartition`),
/// never over `k`. The operation count is `m * n * k` multiply-adds, as for
/// `ReferenceIntegerGEMM`.
public enum IntegerGEMM {
    /// Returns a bound on every `|(A B)[i][j]|` from the operands' code ranges,
    /// `k * max|a| * max|b|` (saturating at `UInt64.max`): a caller whose
    /// accumulator holds that bound knows no sum can overflow it without
    /// reading the sums. `largestMagnitude`, when given, receives the largest
    /// `|C[i][j]|` where the kernel takes it as it stores the sums (the AVX2
    /// and AVX-512 tiles, `k` up to one block of depth, not the split method,
    /// no `accumulate`: a weight update's `dY^T X`; 0 on every path when an
    /// operand is all zero codes), else nil (scan `C` for it).
    @discardableResult
    public static func multiply(
        _ a: IntegerMatrixView, _ b: IntegerMatrixView,
        into c: UnsafeMutablePointer<Int64>, ldc: Int,
        accumulate: Bool = false, threads: Int = 1, largestMagnitude: UnsafeMutablePointer<UInt64?>? = nil
    ) -> UInt64 {
        largestMagnitude?.pointee = nil
        if TilePartition.finishedTrivially(a, b, into: c, ldc: ldc, accumulate: accumulate) { return 0 }
        let path = KernelPath.active.code
        let m = a.rows, n = b.columns, k = a.columns
        let aView = ck_int16_view(a), bView = ck_int16_view(b)
        let aRange = aView.codeRange(threads: threads), bRange = bView.codeRange(threads: threads)
        let sumBound = productBound(k: k, aCodes: aRange, bCodes: bRange)
        var largest: UInt64 = 0
        withUnsafeMutablePointer(to: &largest) { largest in
            TilePartition.runTiles(m: m, n: n, k: k, rowBlock: Int(ck_int_row_block(path)),
                                   panelWidth: Int(ck_int_panel_width(path)), threads: threads) { rows, columns in
                ck_igemm(path, aView, bView, aRange.lowerBound, aRange.upperBound, bRange.lowerBound, bRange.upperBound,
                         c, ldc, rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound, accumulate ? 1 : 0,
                         largestMagnitude == nil ? nil : largest)
            }
        }
        largestMagnitude?.pointee = largest == .max ? nil : largest
        return sumBound
    }

    /// The products of a batch stored sample after sample (a conv layer's
    /// per-sample patches): `C_s = A_s B_s` for each `s` in `0..<batch`, where
    /// `A_s` is `a` moved on `s * aSampleStride` codes (0: the same `A` for every
    /// sample; otherwise the samples lie back to back, the stride one sample's
    /// stored lines), `B_s` likewise, and `C_s` starts `s * cSampleStride` sums
    /// into `c`. Each sample's product runs on one thread; samples are shared
    /// among up to `threads` threads. The same sums as `batch` calls of
    /// `multiply`; returns the bound of every sum as `multiply` does.
    @discardableResult
    public static func multiplyEachSample(
        _ a: IntegerMatrixView, aSampleStride: Int, _ b: IntegerMatrixView, bSampleStride: Int, batch: Int,
        into c: UnsafeMutablePointer<Int64>, ldc: Int, cSampleStride: Int, threads: Int = 1
    ) -> UInt64 {
        let path = KernelPath.active.code
        let m = a.rows, n = b.columns, k = a.columns
        let aRange = codeRange(a, sampleStride: aSampleStride, batch: batch, threads: threads)
        let bRange = codeRange(b, sampleStride: bSampleStride, batch: batch, threads: threads)
        TilePartition.runEachSample(m: m, n: n, k: k, innerOfB: b.rows, batch: batch, into: c, ldc: ldc,
                                    cSampleStride: cSampleStride, threads: threads) { s in
            ck_igemm(path, ck_int16_view(a.movedOn(s * aSampleStride)), ck_int16_view(b.movedOn(s * bSampleStride)),
                     aRange.lowerBound, aRange.upperBound, bRange.lowerBound, bRange.upperBound,
                     c + s * cSampleStride, ldc, 0, m, 0, n, 0, nil)
        }
        return batch == 0 ? 0 : productBound(k: k, aCodes: aRange, bCodes: bRange)
    }

    /// The sum of a batch's products (a conv layer's weight update over its
    /// samples), exactly: `C = sum over s of A_s B_s` (or `C +=` it), operands
    /// moved on per sample as in `multiplyEachSample`. Threads share whole row
    /// blocks or panels of `C`, as in `multiply`, and each adds the samples in
    /// order. Returns the bound `batch * k * max|a| * max|b|` of every sum.
    @discardableResult
    public static func multiplySummingSamples(
        _ a: IntegerMatrixView, aSampleStride: Int, _ b: IntegerMatrixView, bSampleStride: Int, batch: Int,
        into c: UnsafeMutablePointer<Int64>, ldc: Int, accumulate: Bool = false, threads: Int = 1
    ) -> UInt64 {
        let path = KernelPath.active.code
        let aRange = codeRange(a, sampleStride: aSampleStride, batch: batch, threads: threads)
        let bRange = codeRange(b, sampleStride: bSampleStride, batch: batch, threads: threads)
        TilePartition.runSummingSamples(m: a.rows, n: b.columns, k: a.columns, innerOfB: b.rows, batch: batch, into: c,
                                        ldc: ldc, accumulate: accumulate, rowBlock: Int(ck_int_row_block(path)),
                                        panelWidth: Int(ck_int_panel_width(path)), threads: threads) { s, rows, columns, add in
            ck_igemm(path, ck_int16_view(a.movedOn(s * aSampleStride)), ck_int16_view(b.movedOn(s * bSampleStride)),
                     aRange.lowerBound, aRange.upperBound, bRange.lowerBound, bRange.upperBound,
                     c, ldc, rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound, add ? 1 : 0, nil)
        }
        return productBound(k: a.columns * batch, aCodes: aRange, bCodes: bRange)
    }

    /// The smallest and largest code of every sample of `view` (samples back to
    /// back, `sampleStride` apart, or all the same for 0): the range of the one
    /// view over their stored lines.
    static func codeRange(_ view: IntegerMatrixView, sampleStride: Int, batch: Int, threads: Int) -> ClosedRange<Int32> {
        guard sampleStride != 0 && batch > 1 else { return ck_int16_view(view).codeRange(threads: threads) }
        let rowsStored = view.columnStride == 1 || view.rowStride != 1
        let lines = rowsStored ? view.rows : view.columns, lineStride = rowsStored ? view.rowStride : view.columnStride
        precondition(sampleStride == lines * lineStride, "samples \(sampleStride) apart are not stored back to back")
        let all = rowsStored
            ? IntegerMatrixView(base: view.base, rows: view.rows * batch, columns: view.columns,
                                rowStride: view.rowStride, columnStride: view.columnStride)
            : IntegerMatrixView(base: view.base, rows: view.rows, columns: view.columns * batch,
                                rowStride: view.rowStride, columnStride: view.columnStride)
        return ck_int16_view(all).codeRange(threads: threads)
    }

    /// `k * max|a| * max|b|` for codes in these ranges, saturating at `UInt64.max`.
    static func productBound(k: Int, aCodes: ClosedRange<Int32>, bCodes: ClosedRange<Int32>) -> UInt64 {
        let aLargest = UInt64(max(aCodes.lowerBound.magnitude, aCodes.upperBound.magnitude))
        let bLargest = UInt64(max(bCodes.lowerBound.magnitude, bCodes.upperBound.magnitude))
        let (codes, codesOverflow) = aLargest.multipliedReportingOverflow(by: bLargest)
        let (bound, boundOverflow) = codes.multipliedReportingOverflow(by: UInt64(k))
        return codesOverflow || boundOverflow ? .max : bound
    }

    /// The instruction (method) the active path uses for products of depth `k` of
    /// operands with these code ranges: `vpdpbusd`, `vpdpwssd`, `vpdpwssd split`,
    /// `vpmaddwd`, `vpmaddwd split` or `int64`.
    public static func method(k: Int, aCodes: ClosedRange<Int32>, bCodes: ClosedRange<Int32>,
                              path: KernelPath = .active) -> String {
        let method = ck_igemm_method(path.code, k, aCodes.lowerBound, aCodes.upperBound, bCodes.lowerBound, bCodes.upperBound)
        return String(cString: ck_igemm_method_name(path.code, method))
    }
}

extension ck_int16_view {
    init(_ view: IntegerMatrixView) {
        self.init(base: view.base, rows: view.rows, columns: view.columns,
                  row_stride: view.rowStride, column_stride: view.columnStride)
    }

    /// The smallest and largest code in the view; a large view is scanned in
    /// bands of its stored lines (rows, or columns of a transpose) on up to
    /// `threads` threads (a range does not depend on the split).
    func codeRange(threads: Int = 1) -> ClosedRange<Int32> {
        guard rows > 0 && columns > 0 else { return 0...0 }
        let transposed = row_stride == 1 && column_stride != 1
        let lines = Int(transposed ? columns : rows)
        // Slots that received no lines keep .max...min and drop out of the union.
        let parts = TilePartition.mapBlocks(count: lines, block: 8, multiplyAdds: Int(rows * columns), threads: threads,
                                            unused: (low: Int32.max, high: Int32.min)) { chosen in
            let view = transposed
                ? ck_int16_view(base: base + chosen.lowerBound * column_stride, rows: rows, columns: chosen.count,
                                row_stride: row_stride, column_stride: column_stride)
                : ck_int16_view(base: base + chosen.lowerBound * row_stride, rows: chosen.count, columns: columns,
                                row_stride: row_stride, column_stride: column_stride)
            var low: Int32 = 0, high: Int32 = 0
            ck_int16_range(view, &low, &high)
            return (low, high)
        }
        return parts.map(\.low).min()!...parts.map(\.high).max()!
    }
}
