import CKernels
import Dispatch

/// How the matrix-product kernels share an `m x n` output among threads:
/// over whole groups of `rowBlock` rows or whole column panels, whichever
/// dimension has more such units, never over the summed dimension `k`. Each
/// output element is then computed by exactly the same instructions whatever
/// the thread count, which is what makes results independent of `threads`.
public enum TilePartition {
    /// Products smaller than this many multiply-adds stay on the calling thread.
    static let threadingThreshold = 1 << 18

    /// Calls `body(rows, panels)` once per part, in parallel when worth it.
    static func run(rows m: Int, rowBlock: Int, panels panelCount: Int, multiplyAdds: Int, threads: Int,
                    _ body: (Range<Int>, Range<Int>) -> Void) {
        let rowGroupCount = (m + rowBlock - 1) / rowBlock
        let workers = partSlots(threads: threads)
        guard workers > 1, multiplyAdds >= threadingThreshold else {
            body(0..<m, 0..<panelCount)
            return
        }
        let splitPanels = panelCount >= rowGroupCount
        let units = splitPanels ? panelCount : rowGroupCount
        let parts = min(workers, units)
        runParts(parts) { part in
            let first = units * part / parts, last = units * (part + 1) / parts
            if splitPanels {
                body(0..<m, first..<last)
            } else {
                body((first * rowBlock)..<min(m, last * rowBlock), 0..<panelCount)
            }
        }
    }

    /// `run` for an `m x n` product summed over `k` whose columns go in panels of
    /// `panelWidth`: calls `body(rows, columns)` with each part's rows and column
    /// range (whole panels, the last one cut at `n`).
    static func runTiles(m: Int, n: Int, k: Int, rowBlock: Int, panelWidth: Int, threads: Int,
                         _ body: (Range<Int>, Range<Int>) -> Void) {
        let panelCount = (n + panelWidth - 1) / panelWidth
        run(rows: m, rowBlock: rowBlock, panels: panelCount, multiplyAdds: m * n * k, threads: threads) { rows, panels in
            body(rows, (panels.lowerBound * panelWidth)..<min(n, panels.upperBound * panelWidth))
        }
    }

    /// How many slots `runBlocks` may number its parts with for `threads`.
    private static func partSlots(threads: Int) -> Int { max(1, min(threads, 64)) }

    /// Shares `count` units (elements, or lines of a matrix) among up to
    /// `threads` threads in blocks of `block` units, as `run` shares rows:
    /// calls `body(slot, units)` once per non-empty part, each part with its own
    /// `slot` in `0..<partSlots(threads:)`, so that parts may write per-part
    /// results (counts, maxima) without sharing them.
    /// `multiplyAdds` weighs the loop against the threshold below which it
    /// stays on the calling thread.
    public static func runBlocks(count: Int, block: Int, multiplyAdds: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let slots = partSlots(threads: threads), blocks = (count + block - 1) / block
        run(rows: count, rowBlock: block, panels: 1, multiplyAdds: multiplyAdds, threads: slots) { units, _ in
            guard !units.isEmpty else { return }
            // Part p of P' = min(slots, blocks) starts at block floor(blocks * p / P'); rounding
            // up the same fraction of `slots` gives distinct slots whatever P' is.
            body((units.lowerBound / block * slots + blocks - 1) / blocks, units)
        }
    }

    /// `runBlocks` for a loop whose parts each give a result (counts, a
    /// largest value): returns one result per slot, `unused` for slots no part
    /// took, for the caller to combine (a combination that does not depend on
    /// how the units were split keeps the result independent of `threads`).
    /// `body` is never called with an empty range, so a buffer the units
    /// index has a base address whenever it is called.
    public static func mapBlocks<PartResult>(count: Int, block: Int, multiplyAdds: Int, threads: Int, unused: PartResult,
                                             _ body: (Range<Int>) -> PartResult) -> [PartResult] {
        var results = [PartResult](repeating: unused, count: partSlots(threads: threads))
        results.withUnsafeMutableBufferPointer { results in
            runBlocks(count: count, block: block, multiplyAdds: multiplyAdds, threads: threads) { slot, units in
                results[slot] = body(units)
            }
        }
        return results
    }

    /// Calls `body(part)` for each part in `0..<parts` in parallel: on the
    /// persistent helper threads of `ck_run_parts`, which answer back-to-back
    /// calls without the tens of microseconds a sleeping Dispatch worker takes
    /// to wake, or with `concurrentPerform` when those are taken (a product
    /// started while another runs).
    private static func runParts(_ parts: Int, _ body: (Int) -> Void) {
        let ran = withoutActuallyEscaping(body) { escapable in
            var partBody = escapable
            return withUnsafeMutablePointer(to: &partBody) { pointer in
                ck_run_parts(parts, { context, part in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                }, pointer)
            }
        }
        if ran == 0 { DispatchQueue.concurrentPerform(iterations: parts, execute: body) }
    }

    /// Calls `body(s)` for every sample `s` in `0..<batch`, samples shared among
    /// up to `threads` threads (each sample on one); `multiplyAdds` is the whole
    /// loop's work, weighed as in `runBlocks`. The per-sample products, and the
    /// engine's patch matrices and pooling, share their samples this way.
    public static func runSamples(batch: Int, multiplyAdds: Int, threads: Int, _ body: (Int) -> Void) {
        runBlocks(count: batch, block: 1, multiplyAdds: multiplyAdds, threads: threads) { _, samples in
            for s in samples { body(s) }
        }
    }

    /// The shape checks and the split of a batch's per-sample products `C_s =
    /// A_s B_s` (`m x n` each, leading dimension `ldc`, `cSampleStride` apart,
    /// which must not overlap: each is written by one thread). With nothing
    /// to sum (`k` 0), every `C_s` is zeroed; otherwise `product(s)` computes
    /// sample `s`, samples shared as in `runSamples`.
    static func runEachSample<C: Numeric>(m: Int, n: Int, k: Int, innerOfB: Int, batch: Int,
                                          into c: UnsafeMutablePointer<C>, ldc: Int, cSampleStride: Int, threads: Int,
                                          _ product: (Int) -> Void) {
        precondition(m == 0 || n == 0 || (ldc >= n && (batch <= 1 || cSampleStride >= (m - 1) * ldc + n)),
                     "per-sample outputs of \(m) x \(n) with ldc \(ldc), \(cSampleStride) apart, overlap")
        if k == 0 || m == 0 || n == 0 {
            for s in 0..<batch {
                _ = finishedTrivially(m: m, k: k, innerOfB: innerOfB, n: n, into: c + s * cSampleStride, ldc: ldc,
                                      accumulate: false)
            }
            return
        }
        precondition(k == innerOfB, "inner dimensions differ: \(k) vs \(innerOfB)")
        runSamples(batch: batch, multiplyAdds: batch * m * n * k, threads: threads, product)
    }

    /// The shape checks and the split of a batch's summed products `C (+)= sum
    /// over s of A_s B_s`: threads own whole row blocks or panels of `C`
    /// (`runTiles` over the batch's whole depth) and call `product(s, rows,
    /// columns, add)` for each sample in order, `add` false only for sample 0
    /// of a product that does not accumulate.
    static func runSummingSamples<C: Numeric>(m: Int, n: Int, k: Int, innerOfB: Int, batch: Int,
                                              into c: UnsafeMutablePointer<C>, ldc: Int, accumulate: Bool,
                                              rowBlock: Int, panelWidth: Int, threads: Int,
                                              _ product: (Int, Range<Int>, Range<Int>, Bool) -> Void) {
        if finishedTrivially(m: m, k: k * batch, innerOfB: innerOfB * batch, n: n, into: c, ldc: ldc,
                             accumulate: accumulate) { return }
        runTiles(m: m, n: n, k: k * batch, rowBlock: rowBlock, panelWidth: panelWidth, threads: threads) { rows, columns in
            for s in 0..<batch { product(s, rows, columns, accumulate || s > 0) }
        }
    }

    /// The shape checks every product kernel starts with. Returns true when
    /// `C` is already final: nothing to compute (`m` or `n` is 0), or `k` is 0,
    /// where `C = A B` is all zeros and `C += A B` leaves `C` unchanged.
    static func finishedTrivially<A, C: Numeric>(_ a: StridedView<A>, _ b: StridedView<A>,
                                                 into c: UnsafeMutablePointer<C>, ldc: Int, accumulate: Bool) -> Bool {
        finishedTrivially(m: a.rows, k: a.columns, innerOfB: b.rows, n: b.columns, into: c, ldc: ldc, accumulate: accumulate)
    }

    /// The same checks from the shapes: `A` is `m x k`, `B` is `innerOfB x n`.
    static func finishedTrivially<C: Numeric>(m: Int, k: Int, innerOfB: Int, n: Int,
                                              into c: UnsafeMutablePointer<C>, ldc: Int, accumulate: Bool) -> Bool {
        precondition(k == innerOfB, "inner dimensions differ: \(k) vs \(innerOfB)")
        if m == 0 || n == 0 { return true }
        guard k == 0 else { return false }
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return true
    }
}
