extension FixedPoint {
    /// `value / 2^shift`, rounded to an integer by `mode`: the step that moves an
    /// exact sum from one power-of-two scale to a coarser one (gemmlowp's
    /// `RoundingDivideByPOT`, generalised to every rounding mode).
    ///
    /// - `shift` in `1...63`: the quotient `x = value / 2^shift` is rounded
    ///   - `.nearestEven`: to the nearest integer, ties to the even one;
    ///   - `.nearestAway`: to the nearest integer, ties away from zero;
    ///   - `.truncate`: toward minus infinity, `floor(x)` (an arithmetic shift);
    ///   - `.stochastic`: `floor((value + r) / 2^shift)` with `r` the low `shift`
    ///     bits of `randomBits`; for uniform random bits it rounds up with
    ///     probability `x - floor(x)`, so the expected result is exactly `x`.
    /// - `shift` in `-63...0`: the exact product `value * 2^-shift`; the caller
    ///   guarantees it fits in `Int64` (checked in debug builds only).
    ///
    /// Exact for every `Int64` input (no intermediate overflows): the quotient is
    /// split as `floor * 2^shift + remainder` with `floor = value >> shift` (an
    /// arithmetic shift floors, also for negative values) and
    /// `0 <= remainder < 2^shift` taken from the low bits, and only the
    /// remainder is compared with half a step.
    @inlinable
    public static func roundingShiftRight(_ value: Int64, by shift: Int, mode: RoundingMode,
                                          randomBits: UInt64 = 0) -> Int64 {
        precondition(shift >= -63 && shift <= 63, "shift \(shift) is outside -63...63")
        if shift <= 0 {
            let product = value &<< -shift
            assert(product >> -shift == value, "\(value) << \(-shift) overflows Int64")
            return product
        }
        let floor = value >> shift
        let mask = (UInt64(1) << shift) &- 1
        let remainder = UInt64(bitPattern: value) & mask
        let half = UInt64(1) << (shift - 1)
        switch mode {
        case .truncate:
            return floor
        case .nearestEven:
            let up = remainder > half || (remainder == half && floor & 1 != 0)
            return up ? floor + 1 : floor
        case .nearestAway:
            let up = remainder > half || (remainder == half && value >= 0)
            return up ? floor + 1 : floor
        case .stochastic:
            // remainder + r < 2^(shift + 1) <= 2^64: no overflow in UInt64.
            return floor + Int64((remainder + (randomBits & mask)) >> shift)
        }
    }
}
