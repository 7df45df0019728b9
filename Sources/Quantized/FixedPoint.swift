/// Scalar fixed-point arithmetic: the operations every integer kernel and
/// every narrowing of the integer training path is built from.
///
/// A code `q` of a `FixedPointFormat` with `n` fractional bits stands for the
/// real value `q * 2^-n`. The operations, each in its own file:
///
/// - `roundingShiftRight(_:by:mode:randomBits:)` (`FixedPoint+Shift.swift`):
///   divide by a power of two and round, the one step of requantisation.
/// - `saturate(_:to:)` (`FixedPoint+Saturation.swift`): clamp to a format's codes.
/// - `quantize(_:to:mode:randomBits:)` and `value(_:format:)`
///   (`FixedPoint+Quantize.swift`): real value to code and back.
/// - `dynamicFractionalBits(maxAbs:totalBits:signed:)`
///   (`FixedPoint+DynamicScaling.swift`): the shared power-of-two exponent
///   of a tensor under dynamic scaling.
/// - `applyInt32Accumulator(_:policy:counters:)` (`AccumulatorPolicy.swift`).
///
/// Whole-tensor versions that count saturations and underflows are in
/// `TensorQuantization`. `README.md` derives how they fit together.
public enum FixedPoint {}
