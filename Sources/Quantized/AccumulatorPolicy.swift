import CKernels

/// What a 32-bit (or `PrecisionConfig.accumulatorBits`-bit) accumulator does with a sum that does not fit
/// (SPEC §4: "accumulators int32, report overflow if it would wrap, or
/// saturate — configurable").
///
/// The integer kernels (`IntegerGEMM`) sum exactly in `Int64`; a 32-bit
/// accumulator gives a different result only when the exact sum leaves
/// `Int32.min ... Int32.max`. `FixedPoint.applyInt32Accumulator` turns exact
/// sums into what the configured accumulator would hold.
public enum AccumulatorPolicy: String, Codable, CaseIterable, Sendable {
    /// Clamp the exact sum to `Int32.min ... Int32.max`. This models a wide
    /// (e.g. 48-bit) accumulator with a saturating 32-bit output: a saturating
    /// 32-bit *adder* would instead depend on the order of the additions,
    /// which neither the kernels nor the hardware model fix.
    case saturate
    /// Keep the low 32 bits as two's complement: exactly what a wrapping
    /// 32-bit adder holds after adding the same terms in any order, because
    /// addition modulo 2^32 is associative and commutative.
    case wrap
}

extension FixedPoint {
    /// Replaces each exact sum by what a 32-bit accumulator under `policy`
    /// would hold, and adds one to `counters.accumulatorOverflows` for every
    /// sum outside `Int32.min ... Int32.max` (whichever the policy). Sums
    /// inside the range are left alone.
    public static func applyInt32Accumulator(_ sums: inout [Int64], policy: AccumulatorPolicy,
                                             counters: inout QuantizationCounters) {
        sums.withUnsafeMutableBufferPointer { applyInt32Accumulator($0, policy: policy, counters: &counters) }
    }

    /// `applyInt32Accumulator` on a buffer in place (e.g. a GEMM output).
    public static func applyInt32Accumulator(_ sums: UnsafeMutableBufferPointer<Int64>, policy: AccumulatorPolicy,
                                             counters: inout QuantizationCounters) {
        applyAccumulator(sums, bits: 32, policy: policy, counters: &counters)
    }

    /// The same for an accumulator of `bits` bits (16...64): what a narrower or
    /// wider accumulator than 32 bits would hold. At 64 bits every exact sum fits.
    /// The loop is C (`ck_apply_accumulator`, vectorised for the active kernel
    /// path); large buffers are shared among up to `threads` threads. Returns
    /// the largest `|sums[i]|` afterwards (nil at 64 bits, where nothing is
    /// read), so that a dynamic format needs no scan of its own.
    @discardableResult
    public static func applyAccumulator(_ sums: UnsafeMutableBufferPointer<Int64>, bits: Int, policy: AccumulatorPolicy,
                                        threads: Int = 1, counters: inout QuantizationCounters) -> UInt64? {
        precondition((16...64).contains(bits), "accumulator bits must be 16...64")
        if bits == 64 { return nil }
        let parts = TilePartition.mapBlocks(count: sums.count, block: TensorQuantization.scanBlock,
                                            multiplyAdds: sums.count * TensorQuantization.narrowingCost, threads: threads,
                                            unused: (overflows: 0, largest: UInt64(0))) { elements in
            var largest: UInt64 = 0
            let overflows = ck_apply_accumulator(sums.baseAddress! + elements.lowerBound, elements.count, Int32(bits),
                                                 policy == .wrap ? 1 : 0, &largest)
            return (overflows, largest)
        }
        counters.accumulatorOverflows += parts.reduce(0) { $0 + $1.overflows }
        return parts.map(\.largest).max() ?? 0
    }
}
