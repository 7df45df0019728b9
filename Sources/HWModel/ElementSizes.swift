import Quantized

/// Bytes per stored element of each kind of data, from a precision config:
/// float32 stores 4 bytes; a fixed-point role stores its bits rounded up to
/// whole bytes (8 bits -> 1, 9...16 -> 2). Accumulators (`accumulatorBits`,
/// 16...64) take the smallest power-of-two number of bytes that holds them:
/// 16 bits -> 2, 17...32 -> 4, 33...64 -> 8 (so a 48-bit accumulator is 8
/// bytes, not 6): an accumulator only leaves the datapath as a memory word
/// (a spilled partial sum), and memories and the engine (`Int64` sums) hold
/// words of 2, 4 or 8 bytes. float32 accumulates in 4-byte floats. Under the
/// dataflow assumption no accumulator is stored, so this size enters no
/// storage or traffic figure; reports state it for designs that spill partial sums.
/// Masks are stored as bits: 1 per dropout-mask element, 2 per max-pool
/// winner index (which of the 4 inputs won).
public struct ElementSizes: Codable, Equatable, Sendable {
    public var weightBytes: Int
    public var projectionBytes: Int
    public var optimiserStateBytes: Int
    /// `x` and `x_mod` (role `modulatedInput`).
    public var inputBytes: Int
    public var activationBytes: Int
    /// Output errors and deltas.
    public var errorBytes: Int
    public var accumulatorBytes: Int
    public var dropoutMaskBits: Int
    public var poolWinnerBits: Int

    public init(weightBytes: Int, projectionBytes: Int, optimiserStateBytes: Int, inputBytes: Int,
                activationBytes: Int, errorBytes: Int, accumulatorBytes: Int = 4,
                dropoutMaskBits: Int = 1, poolWinnerBits: Int = 2) {
        self.weightBytes = weightBytes
        self.projectionBytes = projectionBytes
        self.optimiserStateBytes = optimiserStateBytes
        self.inputBytes = inputBytes
        self.activationBytes = activationBytes
        self.errorBytes = errorBytes
        self.accumulatorBytes = accumulatorBytes
        self.dropoutMaskBits = dropoutMaskBits
        self.poolWinnerBits = poolWinnerBits
    }

    /// Every element 4 bytes.
    public static let float32 = ElementSizes(weightBytes: 4, projectionBytes: 4, optimiserStateBytes: 4, inputBytes: 4,
                                             activationBytes: 4, errorBytes: 4)

    public init(precision: PrecisionConfig) throws {
        guard !precision.isFloat else { self = .float32; return }
        func bytes(_ role: TensorRole) throws -> Int {
            guard let format = precision.roles[role] else {
                throw CostModelError.precisionRoleMissing(config: precision.name, role: role)
            }
            return (format.bits + 7) / 8
        }
        self.init(weightBytes: try bytes(.weights), projectionBytes: try bytes(.projection),
                  optimiserStateBytes: try bytes(.optimiserState), inputBytes: try bytes(.modulatedInput),
                  activationBytes: try bytes(.activations), errorBytes: try bytes(.errors),
                  accumulatorBytes: Self.accumulatorBytes(bits: precision.accumulatorBits))
    }

    /// Bytes of a stored accumulator of `bits` bits: the smallest of 2, 4, 8 that holds it (see the type's doc).
    public static func accumulatorBytes(bits: Int) -> Int {
        var bytes = 2
        while bytes * 8 < bits { bytes *= 2 }
        return bytes
    }

    /// Bytes of one element of `kind`; masks are sized in bits by `maskBytes`.
    public func bytes(_ kind: DataKind) -> Int {
        switch kind {
        case .weights: return weightBytes
        case .projection: return projectionBytes
        case .optimiserState: return optimiserStateBytes
        case .input: return inputBytes
        case .activations: return activationBytes
        case .errors: return errorBytes
        case .masks: return 1
        }
    }

    /// Bytes of `count` elements of `kind`.
    public func bytes(_ kind: DataKind, count: Int) -> Int { count * bytes(kind) }

    /// Bytes of `count` mask elements of `bits` each, rounded up to a whole byte.
    public func maskBytes(count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }
}

/// What a stored tensor is, for sizing and for placing it in a memory level.
/// Mirrors `TensorRole`, plus masks.
public enum DataKind: String, Codable, CaseIterable, Sendable, Comparable {
    /// `W_l` (role `weights`).
    case weights
    /// PEPITA's `F`, FA's `B_l`, DFA's `D_l` (role `projection`).
    case projection
    /// Momentum velocities `v_l` (role `optimiserState`).
    case optimiserState
    /// `x` and PEPITA's `x_mod` (role `modulatedInput`).
    case input
    /// Hidden activations, pooled or not, of either pass (role `activations`).
    case activations
    /// `e`, `e_mod` and BP/FA/DFA deltas (role `errors`).
    case errors
    /// Dropout masks and max-pool winner indices, stored as bits.
    case masks

    public static func < (a: DataKind, b: DataKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
