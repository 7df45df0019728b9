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
    public static func applyAccumulator(_ sums: UnsafeMutableBufferPointer<Int64>, bits: Int, policy: AccumulatorPolicy,
                                        counters: inout QuantizationCounters) {
        precondition((16...64).contains(bits), "accumulator bits must be 16...64")
        if bits == 64 { return }
        let high = (Int64(1) << (bits - 1)) - 1, low = -high - 1
        let unused = 64 - bits
        var overflows = 0
        for index in sums.indices {
            let sum = sums[index]
            if sum < low || sum > high {
                overflows += 1
                switch policy {
                case .saturate: sums[index] = sum < low ? low : high
                case .wrap: sums[index] = (sum << unused) >> unused
                }
            }
        }
        counters.accumulatorOverflows += overflows
    }
}
