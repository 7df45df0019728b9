extension FixedPoint {
    /// The fractional bits of dynamic power-of-two scaling (SPEC §4: a shared
    /// exponent per tensor, recomputed each batch from its max |value|): the
    /// largest `n` in `-16...30` with `maxAbs <= maxCode * 2^-n`, i.e. the finest
    /// step at which the tensor's largest magnitude still fits, so nothing
    /// saturates whatever the rounding (rounding never passes an integer bound).
    ///
    /// - `maxAbs == 0` (an all-zero tensor): every `n` fits; returns 30, the finest.
    /// - `maxAbs` above `maxCode * 2^16`, infinite or NaN: returns -16, the
    ///   coarsest; quantising will then saturate and count it.
    ///
    /// `maxAbs` is taken by magnitude; `totalBits` in `2...32`, and `maxCode` is
    /// `2^(totalBits-1) - 1` signed, `2^totalBits - 1` unsigned.
    public static func dynamicFractionalBits(maxAbs: Double, totalBits: Int, signed: Bool) -> Int {
        precondition((2...32).contains(totalBits), "total bits must be 2...32, got \(totalBits)")
        let maxCode = Double((Int64(1) << (signed ? totalBits - 1 : totalBits)) - 1)
        let magnitude = maxAbs.magnitude
        guard magnitude.isFinite else { return -16 }
        // magnitude * 2^n is exact (or overflows to +inf, which compares correctly).
        for n in stride(from: 30, through: -16, by: -1)
        where magnitude * Double(sign: .plus, exponent: n, significand: 1) <= maxCode {
            return n
        }
        return -16
    }
}
