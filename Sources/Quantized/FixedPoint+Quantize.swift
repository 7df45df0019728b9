extension FixedPoint {
    /// The code of `format` for a real `value`: `saturate(round(value * 2^n))`
    /// with `n = format.fractionalBits` and the rounding of `mode`.
    ///
    /// Exact: a `Float` has 24 significant bits and exponents down to -149, so
    /// `value * 2^n` (n in -16...30) is an exact `Double`, and the nearest and
    /// floor roundings of that `Double` are exact. `.stochastic` rounds up when
    /// `u < fraction`, with `u = (randomBits >> 11) * 2^-53` uniform in [0, 1)
    /// from the top 53 bits and `fraction = scaled - floor(scaled)`; the chance
    /// of rounding up is `fraction` to within 2^-53.
    ///
    /// Rounding happens before saturation, so a value that rounds to a code
    /// inside the range is not counted as saturated. NaN gives code 0 and
    /// `saturated == true` (so it is counted); +-infinity saturates.
    public static func quantize(_ value: Float, to format: FixedPointFormat, mode: RoundingMode,
                                randomBits: UInt64 = 0) -> (code: Int32, saturated: Bool) {
        if value.isNaN { return (0, true) }
        let scaled = Double(value) * Double(sign: .plus, exponent: format.fractionalBits, significand: 1)
        // Outside [minCode - 1, maxCode + 1] every rounding saturates; inside it
        // the conversion to Int64 below is exact.
        if scaled < Double(format.minCode) - 1 { return (format.minCode, true) }
        if scaled > Double(format.maxCode) + 1 { return (format.maxCode, true) }
        // floor and fraction without libm (baseline x86-64 has no rounding
        // instruction, and `Double.rounded` would call `floor`/`rint`): the
        // conversion to Int64 truncates toward zero, exactly for |scaled| < 2^63.
        let truncated = Int64(scaled)
        let floor = Double(truncated) > scaled ? truncated - 1 : truncated
        // Exact whenever it matters: `scaled` has at most 24 significant bits, so
        // the fraction is exact for |scaled| >= 2^-29, and ties need |scaled| >= 1/2.
        let fraction = scaled - Double(floor)
        let roundsUp: Bool
        switch mode {
        case .nearestEven:
            roundsUp = fraction > 0.5 || (fraction == 0.5 && floor & 1 != 0)
        case .nearestAway:
            roundsUp = fraction > 0.5 || (fraction == 0.5 && scaled > 0)
        case .truncate:
            roundsUp = false
        case .stochastic:
            roundsUp = Double(randomBits >> 11) * 0x1p-53 < fraction
        }
        return saturate(roundsUp ? floor + 1 : floor, to: format)
    }

    /// The real value a code stands for, `code * 2^-format.fractionalBits`
    /// (exact in `Double`).
    @inlinable
    public static func value(_ code: Int32, format: FixedPointFormat) -> Double {
        Double(code) * format.step
    }
}
