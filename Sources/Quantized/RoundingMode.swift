/// How a value that falls between two codes is narrowed to one of them.
///
/// Every narrowing in the integer path (`FixedPoint.roundingShiftRight`,
/// `FixedPoint.quantize`, `TensorQuantization`) takes one of these. The raw
/// values are the spellings used in precision config files.
public enum RoundingMode: String, Codable, CaseIterable, Sendable {
    /// To the nearest code; a tie goes to the even code (IEEE 754's default,
    /// no bias on average over ties).
    case nearestEven = "nearest-even"
    /// To the nearest code; a tie goes away from zero (C `round`, what most
    /// fixed-point hardware does with "add half, then shift" on magnitudes).
    case nearestAway = "nearest-away"
    /// Toward minus infinity: drop the low bits of a two's complement value
    /// (an arithmetic shift right). Biased by half a step on average.
    case truncate
    /// Down or up at random, up with probability equal to the distance from
    /// the lower code in steps, so that the expected result is the exact
    /// value. The random bits come from `StochasticBits`, indexed by element.
    case stochastic
}
