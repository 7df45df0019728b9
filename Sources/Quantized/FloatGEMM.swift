/// Single-precision matrix product `C = A B` (or `C += A B`), the one kernel every
/// dense and convolution layer of the float engine calls.
///
/// Layout: `A` is an `m x k` view, `B` a `k x n` view (either may be a transpose,
/// see `StridedMatrix`), `C` is dense row-major `m x n` with leading dimension `ldc`.
///
/// How it computes: `B` is packed, 32 columns at a time, into a contiguous
/// zero-padded panel of `kBlock x 32`; a 4-row x 32-column register block of `C`
/// then accumulates `a[i, p] * b[p, 0..<32]` over `p` in SIMD16 lanes with plain
/// multiply and add (never `addProduct`, which becomes a library call per lane
/// on baseline x86-64). `k` is cut into blocks of `kBlock`; each block's partial
/// sum is added to `C` in block order.
///
/// Determinism: every element of `C` is the same sequence of float operations
/// (p ascending within a k block, blocks in order) whatever the thread count
/// and wherever the element falls in a tile, so results are bit-identical for
/// any `threads`. Work is split over whole 4-row groups or whole 32-column
/// panels, never over `k`.
public enum FloatGEMM {
    public static let panelWidth = 32
    public static let rowBlock = 4
    public static let kBlock = 384

    public static func multiply(
        _ a: StridedMatrix, _ b: StridedMatrix,
        into c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, threads: Int = 1
    ) {
        if TilePartition.finishedTrivially(a, b, into: c, ldc: ldc, accumulate: accumulate) { return }
        let m = a.rows, n = b.columns, k = a.columns
        let panelCount = (n + panelWidth - 1) / panelWidth
        TilePartition.run(rows: m, rowBlock: rowBlock, panels: panelCount, multiplyAdds: m * n * k, threads: threads) { rows, panels in
            multiplyRange(a, b, c, ldc, accumulate, rows: rows, panels: panels)
        }
    }

    /// Computes the `rows` x (columns of `panels`) part of `C`.
    private static func multiplyRange(
        _ a: StridedMatrix, _ b: StridedMatrix,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool,
        rows: Range<Int>, panels: Range<Int>
    ) {
        let k = a.columns, n = b.columns
        let blockDepth = min(k, kBlock)
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: blockDepth * panelWidth)
        defer { packed.deallocate() }
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
                    block4x32(a, rows: i, height: height, p0: p0, depth: depth, packed: packed,
                              c: c + i * ldc + column0, ldc: ldc, width: width, addToC: addToC)
                    i += rowBlock
                }
                p0 += depth
            }
        }
    }

    /// Copies `B[p0 ..< p0+depth, column0 ..< column0+width]` into a
    /// `depth x 32` row-major panel, zero-filling columns past `width`.
    @inline(__always)
    private static func packPanel(_ b: StridedMatrix, into packed: UnsafeMutablePointer<Float>,
                                  p0: Int, depth: Int, column0: Int, width: Int) {
        if width < panelWidth { packed.update(repeating: 0, count: depth * panelWidth) }
        if b.columnStride == 1 {
            for p in 0..<depth {
                (packed + p * panelWidth).update(from: b.base + (p0 + p) * b.rowStride + column0, count: width)
            }
        } else {
            for j in 0..<width {
                let source = b.base + (column0 + j) * b.columnStride + p0 * b.rowStride
                for p in 0..<depth { packed[p * panelWidth + j] = source[p * b.rowStride] }
            }
        }
    }

    /// One register block: up to 4 rows of `A` times a packed 32-column panel.
    /// Missing rows read row `i` again and are not stored, so every stored
    /// element goes through exactly the same instructions.
    @inline(__always)
    private static func block4x32(_ a: StridedMatrix, rows i: Int, height: Int, p0: Int, depth: Int,
                                  packed: UnsafeMutablePointer<Float>,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, width: Int, addToC: Bool) {
        let rowStride = a.rowStride, columnStride = a.columnStride
        let a0 = a.base + i * rowStride + p0 * columnStride
        let a1 = height > 1 ? a0 + rowStride : a0
        let a2 = height > 2 ? a0 + 2 * rowStride : a0
        let a3 = height > 3 ? a0 + 3 * rowStride : a0
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
        var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
        var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        let raw = UnsafeRawPointer(packed)
        for p in 0..<depth {
            let b0 = raw.load(fromByteOffset: p * 128, as: SIMD16<Float>.self)
            let b1 = raw.load(fromByteOffset: p * 128 + 64, as: SIMD16<Float>.self)
            let offset = p * columnStride
            let x0 = SIMD16<Float>(repeating: a0[offset])
            let x1 = SIMD16<Float>(repeating: a1[offset])
            let x2 = SIMD16<Float>(repeating: a2[offset])
            let x3 = SIMD16<Float>(repeating: a3[offset])
            c00 = c00 + x0 * b0; c01 = c01 + x0 * b1
            c10 = c10 + x1 * b0; c11 = c11 + x1 * b1
            c20 = c20 + x2 * b0; c21 = c21 + x2 * b1
            c30 = c30 + x3 * b0; c31 = c31 + x3 * b1
        }
        store(c00, c01, to: c, width: width, add: addToC)
        if height > 1 { store(c10, c11, to: c + ldc, width: width, add: addToC) }
        if height > 2 { store(c20, c21, to: c + 2 * ldc, width: width, add: addToC) }
        if height > 3 { store(c30, c31, to: c + 3 * ldc, width: width, add: addToC) }
    }

    @inline(__always)
    private static func store(_ low: SIMD16<Float>, _ high: SIMD16<Float>, to c: UnsafeMutablePointer<Float>, width: Int, add: Bool) {
        if width == panelWidth {
            let raw = UnsafeMutableRawPointer(c)
            if add {
                let old0 = raw.loadUnaligned(as: SIMD16<Float>.self)
                let old1 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                raw.storeBytes(of: old0 + low, as: SIMD16<Float>.self)
                raw.storeBytes(of: old1 + high, toByteOffset: 64, as: SIMD16<Float>.self)
            } else {
                raw.storeBytes(of: low, as: SIMD16<Float>.self)
                raw.storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self)
            }
            return
        }
        for j in 0..<width {
            let value = j < 16 ? low[j] : high[j - 16]
            c[j] = add ? c[j] + value : value
        }
    }
}
