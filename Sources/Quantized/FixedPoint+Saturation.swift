extension FixedPoint {
    /// Clamps an integer to `format.minCode ... format.maxCode`: the narrowing
    /// every requantisation ends with. `saturated` is true when the value was
    /// outside the range (and so was changed); otherwise `code == value`.
    @inlinable
    public static func saturate(_ value: Int64, to format: FixedPointFormat) -> (code: Int32, saturated: Bool) {
        let low = format.minCode, high = format.maxCode
        if value < Int64(low) { return (low, true) }
        if value > Int64(high) { return (high, true) }
        return (Int32(truncatingIfNeeded: value), false)
    }
}
