import CKernels

/// Single-precision matrix product `C = A B` (or `C += A B`), the one kernel every
/// dense and convolution layer of the float engine calls.
///
/// Layout: `A` is an `m x k` view, `B` a `k x n` view (either may be a transpose,
/// see `StridedMatrix`), `C` is dense row-major `m x n` with leading dimension `ldc`.
///
/// How it computes (`Sources/CKernels/FloatGEMM.c`): `k` is cut into equal blocks
/// of at most 256; per block, A is packed in blocks of `rowBlock` rows and B in
/// zero-padded panels of `panelWidth` columns, and a register tile accumulates
/// `a[i, p] * b[p, j]` over the block with fused multiply-add (AVX2: 6x16,
/// AVX-512: 8x32; the portable path: 4x16 plain multiply then add). Each block's
/// sum is added to `C` in block order. `KernelPath.active` picks the path.
///
/// Determinism: on a given path every element of `C` is the same sequence of float
/// operations whatever the thread count and wherever it falls in a tile, so results
/// are bit-identical for any `threads`. Work is split over whole row blocks or whole
/// column panels (`TilePartition`), never over `k`. Paths differ only by rounding.
public enum FloatGEMM {
    /// Register-block rows of the active path's tile.
    public static var rowBlock: Int { Int(ck_float_row_block(KernelPath.active.code)) }
    /// Register-block columns of the active path's tile.
    public static var panelWidth: Int { Int(ck_float_panel_width(KernelPath.active.code)) }
    /// The largest depth summed in one register tile before adding into `C`.
    public static let kBlock = 256

    public static func multiply(
        _ a: StridedMatrix, _ b: StridedMatrix,
        into c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, threads: Int = 1
    ) {
        if TilePartition.finishedTrivially(a, b, into: c, ldc: ldc, accumulate: accumulate) { return }
        let path = KernelPath.active.code
        let m = a.rows, n = b.columns, k = a.columns
        let aView = ck_float_view(a), bView = ck_float_view(b)
        runTiles(m: m, n: n, k: k, path: path, threads: threads) { rows, columns in
            ck_sgemm(path, aView, bView, c, ldc, rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound,
                     accumulate ? 1 : 0)
        }
    }
}

extension FloatGEMM {
    /// The products of a batch stored sample after sample (a conv layer's
    /// per-sample patches): `C_s = A_s B_s` for each `s` in `0..<batch`, where
    /// `A_s` is `a` moved on `s * aSampleStride` floats (0: the same `A` for
    /// every sample), `B_s` likewise, and `C_s` starts `s * cSampleStride` floats
    /// into `c`. Each sample's product runs on one thread (samples shared among
    /// up to `threads` threads) and gives the floats `multiply` gives for it.
    public static func multiplyEachSample(
        _ a: StridedMatrix, aSampleStride: Int, _ b: StridedMatrix, bSampleStride: Int, batch: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, cSampleStride: Int, threads: Int = 1
    ) {
        let path = KernelPath.active.code
        let m = a.rows, n = b.columns
        TilePartition.runEachSample(m: m, n: n, k: a.columns, innerOfB: b.rows, batch: batch, into: c, ldc: ldc,
                                    cSampleStride: cSampleStride, threads: threads) { s in
            ck_sgemm(path, ck_float_view(a.movedOn(s * aSampleStride)), ck_float_view(b.movedOn(s * bSampleStride)),
                     c + s * cSampleStride, ldc, 0, m, 0, n, 0)
        }
    }

    /// The sum of a batch's products (a conv layer's weight gradient over its
    /// samples): `C = sum over s of A_s B_s` (or `C +=` it), operands moved on
    /// per sample as in `multiplyEachSample`. Sample 0's product is written (or
    /// added) first and each next sample's added in order, each as `multiply`
    /// with `accumulate` would; threads share whole row blocks or panels of `C`,
    /// so the floats do not depend on `threads`.
    public static func multiplySummingSamples(
        _ a: StridedMatrix, aSampleStride: Int, _ b: StridedMatrix, bSampleStride: Int, batch: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, threads: Int = 1
    ) {
        let path = KernelPath.active.code
        TilePartition.runSummingSamples(m: a.rows, n: b.columns, k: a.columns, innerOfB: b.rows, batch: batch, into: c,
                                        ldc: ldc, accumulate: accumulate, rowBlock: Int(ck_float_row_block(path)),
                                        panelWidth: Int(ck_float_panel_width(path)), threads: threads) { s, rows, columns, add in
            ck_sgemm(path, ck_float_view(a.movedOn(s * aSampleStride)), ck_float_view(b.movedOn(s * bSampleStride)),
                     c, ldc, rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound, add ? 1 : 0)
        }
    }
}

/// A `k x n` operand packed once for several products `A B` by the same `B`
/// (`FloatGEMM.pack`): PEPITA's two forward passes multiply by the same
/// weights, so the transposing pack of `W^T` is done once per step. Holds the
/// kernel path it was packed for; products by it run on that path and give the
/// same floats as `FloatGEMM.multiply` with `B` itself.
public final class FloatPackedOperand: @unchecked Sendable {
    /// `k` and `n`.
    public let rows: Int, columns: Int
    let path: Int32
    let storage: UnsafeMutableBufferPointer<Float>

    init(rows: Int, columns: Int, path: Int32) {
        self.rows = rows
        self.columns = columns
        self.path = path
        // 64-byte aligned: the tiles load panels with aligned vector loads.
        let count = max(1, ck_float_packed_floats(path, rows, columns))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        storage = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
    }

    deinit { storage.deallocate() }
}

extension FloatGEMM {
    /// `b` packed for products on the active kernel path, its column panels shared
    /// among up to `threads` threads.
    public static func pack(_ b: StridedMatrix, threads: Int = 1) -> FloatPackedOperand {
        let path = KernelPath.active.code
        let packed = FloatPackedOperand(rows: b.rows, columns: b.columns, path: path)
        guard b.rows > 0 && b.columns > 0 else { return packed }
        let bView = ck_float_view(b), target = packed.storage.baseAddress!
        // One row: the split is over the panels, the work that of k x n copies.
        TilePartition.runTiles(m: 1, n: b.columns, k: b.rows, rowBlock: 1, panelWidth: Int(ck_float_panel_width(path)),
                               threads: threads) { _, columns in
            ck_float_pack_panels(path, bView, columns.lowerBound, columns.upperBound, target)
        }
        return packed
    }

    /// `C = A B` (or `C += A B`) with `B` packed by `pack`: the floats `multiply(a, b, ...)`
    /// gives on the path `b` was packed for.
    public static func multiply(
        _ a: StridedMatrix, _ b: FloatPackedOperand,
        into c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, threads: Int = 1
    ) {
        if TilePartition.finishedTrivially(m: a.rows, k: a.columns, innerOfB: b.rows, n: b.columns, into: c, ldc: ldc,
                                           accumulate: accumulate) { return }
        let m = a.rows, n = b.columns, k = a.columns
        let path = b.path
        let aView = ck_float_view(a), packed = UnsafePointer(b.storage.baseAddress!)
        runTiles(m: m, n: n, k: k, path: path, threads: threads) { rows, columns in
            ck_sgemm_packed(path, aView, packed, n, c, ldc, rows.lowerBound, rows.upperBound, columns.lowerBound,
                            columns.upperBound, accumulate ? 1 : 0)
        }
    }

    /// `TilePartition.runTiles` with the float tile of `path`.
    private static func runTiles(m: Int, n: Int, k: Int, path: Int32, threads: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        TilePartition.runTiles(m: m, n: n, k: k, rowBlock: Int(ck_float_row_block(path)),
                               panelWidth: Int(ck_float_panel_width(path)), threads: threads, body)
    }
}

extension ck_float_view {
    init(_ view: StridedMatrix) {
        self.init(base: view.base, rows: view.rows, columns: view.columns,
                  row_stride: view.rowStride, column_stride: view.columnStride)
    }
}
