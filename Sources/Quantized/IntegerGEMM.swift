/// Exact integer matrix product `C = A B` (or `C += A B`) of `Int16` codes into
/// `Int64` sums: the one kernel every layer of the integer engine calls.
///
/// Layout: `A` is an `m x k` view, `B` a `k x n` view (either may be a
/// transpose, see `IntegerMatrixView`), `C` is dense row-major `m x n` with
/// leading dimension `ldc`. If A's codes have scale `2^-na` and B's `2^-nb`,
/// `C` holds sums at scale `2^-(na + nb)` (README equations 2 to 4).
///
/// Exactness: every product of two `Int16` codes fits in `Int32` (at most 2^30
/// in magnitude). The kernel adds runs of products in `Int32` lanes and widens
/// each run's sum into `Int64`. The run length is chosen from the operands'
/// largest magnitudes so that no run can overflow:
/// `runLength * max|a| * max|b| <= Int32.max` (for int8-range codes, runs of
/// `kBlock` products; for full-range int16 codes, as short as one product).
/// The result is therefore the exact sum, whatever the run length, blocking
/// or thread count: integer addition is associative, so `threads` cannot
/// change a single bit. `C` itself is updated with wrapping `Int64` adds; the
/// caller keeps `C + A B` within `Int64` (products alone need `k < 2^33`).
///
/// How it computes: `B` is packed, 16 columns at a time, into a contiguous
/// zero-padded `Int32` panel of `kBlock x 16`; a 4-row x 16-column register
/// block accumulates `a[i, p] * b[p, 0..<16]` in `SIMD16<Int32>` lanes. Work is
/// split over whole 4-row groups or whole 16-column panels, never over `k`.
/// The operation count is `m * n * k` multiply-adds, as for `ReferenceIntegerGEMM`.
public enum IntegerGEMM {
    public static let panelWidth = 16
    public static let rowBlock = 4
    public static let kBlock = 256

    public static func multiply(
        _ a: IntegerMatrixView, _ b: IntegerMatrixView,
        into c: UnsafeMutablePointer<Int64>, ldc: Int,
        accumulate: Bool = false, threads: Int = 1
    ) {
        if TilePartition.finishedTrivially(a, b, into: c, ldc: ldc, accumulate: accumulate) { return }
        let m = a.rows, n = b.columns, k = a.columns
        let runLength = int32RunLength(productBound: a.maxMagnitude * b.maxMagnitude)
        let panelCount = (n + panelWidth - 1) / panelWidth
        TilePartition.run(rows: m, rowBlock: rowBlock, panels: panelCount, multiplyAdds: m * n * k, threads: threads) { rows, panels in
            multiplyRange(a, b, c, ldc, accumulate, runLength, rows: rows, panels: panels)
        }
    }

    /// The longest run of products, each at most `productBound` in magnitude,
    /// whose sum cannot leave `Int32` (at least 1, since `Int16 * Int16` fits;
    /// at most `kBlock`).
    static func int32RunLength(productBound: Int) -> Int {
        productBound == 0 ? kBlock : max(1, min(kBlock, Int(Int32.max) / productBound))
    }

    /// Computes the `rows` x (columns of `panels`) part of `C`.
    private static func multiplyRange(
        _ a: IntegerMatrixView, _ b: IntegerMatrixView,
        _ c: UnsafeMutablePointer<Int64>, _ ldc: Int, _ accumulate: Bool, _ runLength: Int,
        rows: Range<Int>, panels: Range<Int>
    ) {
        let k = a.columns, n = b.columns
        let blockDepth = min(k, kBlock)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: blockDepth * panelWidth * 4, alignment: 64)
        defer { raw.deallocate() }
        let packed = raw.bindMemory(to: Int32.self, capacity: blockDepth * panelWidth)
        for panel in panels {
            let column0 = panel * panelWidth
            let width = min(panelWidth, n - column0)
            var p0 = 0
            while p0 < k {
                let depth = min(kBlock, k - p0)
                packPanel(b, into: packed, p0: p0, depth: depth, column0: column0, width: width)
                let addToC = accumulate || p0 > 0
                var i = rows.lowerBound
                while i < rows.upperBound {
                    let height = min(rowBlock, rows.upperBound - i)
                    block4x16(a, rows: i, height: height, p0: p0, depth: depth, runLength: runLength,
                              packed: packed, c: c + i * ldc + column0, ldc: ldc, width: width, addToC: addToC)
                    i += rowBlock
                }
                p0 += depth
            }
        }
    }

    /// Copies `B[p0 ..< p0+depth, column0 ..< column0+width]`, widened to
    /// `Int32`, into a `depth x 16` row-major panel, zero-filling columns past `width`.
    @inline(__always)
    private static func packPanel(_ b: IntegerMatrixView, into packed: UnsafeMutablePointer<Int32>,
                                  p0: Int, depth: Int, column0: Int, width: Int) {
        if width < panelWidth { packed.update(repeating: 0, count: depth * panelWidth) }
        for p in 0..<depth {
            let source = b.base + (p0 + p) * b.rowStride + column0 * b.columnStride
            let target = packed + p * panelWidth
            for j in 0..<width { target[j] = Int32(source[j * b.columnStride]) }
        }
    }

    /// One register block: up to 4 rows of `A` times a packed 16-column panel,
    /// in runs of `runLength` products summed in `Int32`, each run widened and
    /// added to `Int64` totals. Missing rows read row `i` again and are not stored.
    @inline(__always)
    private static func block4x16(_ a: IntegerMatrixView, rows i: Int, height: Int, p0: Int, depth: Int,
                                  runLength: Int, packed: UnsafeMutablePointer<Int32>,
                                  c: UnsafeMutablePointer<Int64>, ldc: Int, width: Int, addToC: Bool) {
        let rowStride = a.rowStride, columnStride = a.columnStride
        let a0 = a.base + i * rowStride + p0 * columnStride
        let a1 = height > 1 ? a0 + rowStride : a0
        let a2 = height > 2 ? a0 + 2 * rowStride : a0
        let a3 = height > 3 ? a0 + 3 * rowStride : a0
        var total0 = SIMD16<Int64>(), total1 = SIMD16<Int64>()
        var total2 = SIMD16<Int64>(), total3 = SIMD16<Int64>()
        let raw = UnsafeRawPointer(packed)
        var runStart = 0
        while runStart < depth {
            let runEnd = min(depth, runStart + runLength)
            var sum0 = SIMD16<Int32>(), sum1 = SIMD16<Int32>()
            var sum2 = SIMD16<Int32>(), sum3 = SIMD16<Int32>()
            for p in runStart..<runEnd {
                let bRow = raw.load(fromByteOffset: p * 64, as: SIMD16<Int32>.self)
                let offset = p * columnStride
                sum0 &+= bRow &* SIMD16<Int32>(repeating: Int32(a0[offset]))
                sum1 &+= bRow &* SIMD16<Int32>(repeating: Int32(a1[offset]))
                sum2 &+= bRow &* SIMD16<Int32>(repeating: Int32(a2[offset]))
                sum3 &+= bRow &* SIMD16<Int32>(repeating: Int32(a3[offset]))
            }
            total0 &+= SIMD16<Int64>(truncatingIfNeeded: sum0)
            total1 &+= SIMD16<Int64>(truncatingIfNeeded: sum1)
            total2 &+= SIMD16<Int64>(truncatingIfNeeded: sum2)
            total3 &+= SIMD16<Int64>(truncatingIfNeeded: sum3)
            runStart = runEnd
        }
        store(total0, to: c, width: width, add: addToC)
        if height > 1 { store(total1, to: c + ldc, width: width, add: addToC) }
        if height > 2 { store(total2, to: c + 2 * ldc, width: width, add: addToC) }
        if height > 3 { store(total3, to: c + 3 * ldc, width: width, add: addToC) }
    }

    @inline(__always)
    private static func store(_ totals: SIMD16<Int64>, to c: UnsafeMutablePointer<Int64>, width: Int, add: Bool) {
        if width == panelWidth {
            let raw = UnsafeMutableRawPointer(c)
            let old = add ? raw.loadUnaligned(as: SIMD16<Int64>.self) : SIMD16<Int64>()
            raw.storeBytes(of: old &+ totals, as: SIMD16<Int64>.self)
            return
        }
        for j in 0..<width { c[j] = add ? c[j] &+ totals[j] : totals[j] }
    }
}
