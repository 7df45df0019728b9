import Foundation

/// The tensors of a training step whose number format can be chosen separately.
public enum TensorRole: String, Codable, CodingKeyRepresentable, CaseIterable, Sendable, Comparable {
    /// Layer weights `W_l`.
    case weights
    /// Hidden activations `h_l` and the logits (every layer's output).
    case activations
    /// Output errors `e`, `e_mod`, softmax outputs, and BP/FA/DFA deltas.
    case errors
    /// PEPITA's projection matrix `F` (and FA/DFA feedback matrices).
    case projection
    /// The network input: `x`, and PEPITA's modulated input `x + e F^T`.
    case modulatedInput
    /// `eta * dW / B`, the update before it enters the optimiser.
    case updates
    /// Momentum velocity `v`.
    case optimiserState

    public static func < (a: TensorRole, b: TensorRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How one tensor role is stored and narrowed.
public struct RoleFormat: Codable, Equatable, Sendable {
    public enum Scaling: String, Codable, Sendable {
        /// Fractional bits fixed by the config.
        case `static`
        /// A power-of-two exponent per tensor, recomputed for every batch from
        /// the tensor's largest magnitude so that nothing saturates.
        case dynamic
    }

    public var bits: Int
    /// Fractional bits for static scaling; ignored (nil) for dynamic.
    public var fractionalBits: Int?
    public var signed: Bool
    public var scaling: Scaling
    public var rounding: RoundingMode

    public init(bits: Int, fractionalBits: Int?, signed: Bool = true, scaling: Scaling = .static,
                rounding: RoundingMode = .nearestEven) {
        self.bits = bits
        self.fractionalBits = fractionalBits
        self.signed = signed
        self.scaling = scaling
        self.rounding = rounding
    }

    public static func fixed(_ bits: Int, _ fractionalBits: Int, rounding: RoundingMode = .nearestEven) -> RoleFormat {
        RoleFormat(bits: bits, fractionalBits: fractionalBits, rounding: rounding)
    }

    public static func dynamic(_ bits: Int, rounding: RoundingMode = .nearestEven) -> RoleFormat {
        RoleFormat(bits: bits, fractionalBits: nil, scaling: .dynamic, rounding: rounding)
    }

    /// The format for a tensor whose largest magnitude is `maxAbs`: the static
    /// one, or for dynamic scaling the finest that holds `maxAbs` unsaturated.
    /// `maxAbs` is evaluated only for dynamic scaling (callers pass the scan
    /// for the largest magnitude itself, which a static format skips).
    public func format(forMaxAbs maxAbs: @autoclosure () -> Double) -> FixedPointFormat {
        let fraction = scaling == .static
            ? fractionalBits!
            : FixedPoint.dynamicFractionalBits(maxAbs: maxAbs(), totalBits: bits, signed: signed)
        return FixedPointFormat(totalBits: bits, fractionalBits: fraction, signed: signed)
    }

    /// `Q1.6, nearest-even` or `8-bit dynamic, stochastic`.
    public var summary: String {
        let format = scaling == .static
            ? FixedPointFormat(totalBits: bits, fractionalBits: fractionalBits ?? 0, signed: signed).description
            : "\(signed ? "" : "unsigned ")\(bits)-bit dynamic"
        return "\(format), \(rounding.rawValue)"
    }
}

/// The arithmetic of a training run: float32, or fixed point with a format per
/// tensor role (SPEC §4). Read from JSON (`PrecisionConfig(json:file:)`) or a
/// built-in preset (`PrecisionConfig.preset(named:)`).
public struct PrecisionConfig: Codable, Equatable, Sendable {
    public enum Arithmetic: String, Codable, Sendable {
        case float32
        case fixedPoint = "fixed-point"
    }

    /// How the scalars of the optimiser (eta / B, momentum) are applied in fixed point.
    public enum ScalarMode: String, Codable, Sendable {
        /// Multiply by a 16-bit mantissa, then shift right with rounding.
        case multiplyShift = "multiply-shift"
        /// Round the scalar to the nearest power of two: a shift only.
        case powerOfTwo = "power-of-two"
    }

    /// Where PEPITA forms a hidden layer's `h - h_mod`.
    public enum PepitaDifference: String, Codable, Sendable {
        /// The difference of the two narrowed activation codes (both passes
        /// share the layer's format), i.e. from the stored activations.
        case activations
        /// The difference of the exact accumulator values, narrowed once with
        /// the activation role's rounding and (for dynamic scaling) its own
        /// exponent — finer, but the first pass's 32-bit sums must be kept.
        case accumulators
    }

    public enum SoftmaxMode: String, Codable, Sendable {
        /// `IntegerSoftmax`: base-2 exponent with a table, no floating point.
        case integer
        /// Float softmax of the dequantised logits, requantised (an explicit option, not the hardware model).
        case float
    }

    public var name: String
    public var arithmetic: Arithmetic
    /// One format per role; empty for float32.
    public var roles: [TensorRole: RoleFormat]
    /// What the accumulator does when an exact sum does not fit.
    public var accumulatorOverflow: AccumulatorPolicy
    /// Width of the accumulators (SPEC §4: int32; 16...64 to explore others).
    public var accumulatorBits: Int
    public var softmax: SoftmaxMode
    public var scalars: ScalarMode
    public var pepitaDifference: PepitaDifference

    public init(name: String, arithmetic: Arithmetic, roles: [TensorRole: RoleFormat],
                accumulatorOverflow: AccumulatorPolicy = .saturate, accumulatorBits: Int = 32,
                softmax: SoftmaxMode = .integer, scalars: ScalarMode = .multiplyShift,
                pepitaDifference: PepitaDifference = .activations) {
        self.accumulatorBits = accumulatorBits
        self.pepitaDifference = pepitaDifference
        self.name = name
        self.arithmetic = arithmetic
        self.roles = roles
        self.accumulatorOverflow = accumulatorOverflow
        self.softmax = softmax
        self.scalars = scalars
    }

    public var isFloat: Bool { arithmetic == .float32 }

    public subscript(role: TensorRole) -> RoleFormat { roles[role]! }
}
