/// What happened while narrowing values to fixed point: the statistics SPEC §4
/// asks for per tensor role ("count every saturation and every update that
/// rounds to zero"). Filled by `TensorQuantization`, `IntegerSoftmax` and
/// `FixedPoint.applyInt32Accumulator`; merged across tensors and batches
/// with `merge(_:)` or `+`.
public struct QuantizationCounters: Codable, Equatable, Sendable {
    /// Values narrowed to a code.
    public var elements: Int
    /// Values outside the format's range, clamped to its smallest or largest
    /// code (NaN and +-infinity included).
    public var saturations: Int
    /// Nonzero values that became code 0 without saturating: the "update rounds
    /// to zero" statistic, the information fixed point loses below one step.
    public var roundedToZero: Int
    /// The largest |real value| seen before narrowing (exact sums are converted
    /// at their own scale). `+infinity` if an infinite value was seen; NaN is
    /// ignored here and counted as a saturation.
    public var maxAbsValue: Double
    /// Exact sums outside the `Int32` range, i.e. where a 32-bit accumulator
    /// overflowed and was saturated or wrapped (`AccumulatorPolicy`).
    public var accumulatorOverflows: Int

    /// All zero.
    public init() {
        elements = 0
        saturations = 0
        roundedToZero = 0
        maxAbsValue = 0
        accumulatorOverflows = 0
    }

    /// Adds `other`'s counts to these and keeps the larger `maxAbsValue`.
    public mutating func merge(_ other: QuantizationCounters) {
        elements += other.elements
        saturations += other.saturations
        roundedToZero += other.roundedToZero
        maxAbsValue = Swift.max(maxAbsValue, other.maxAbsValue)
        accumulatorOverflows += other.accumulatorOverflows
    }

    /// The two merged.
    public static func + (left: QuantizationCounters, right: QuantizationCounters) -> QuantizationCounters {
        var sum = left
        sum.merge(right)
        return sum
    }

    /// `left.merge(right)`.
    public static func += (left: inout QuantizationCounters, right: QuantizationCounters) {
        left.merge(right)
    }
}
