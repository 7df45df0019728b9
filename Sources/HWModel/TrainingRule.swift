import Quantized

/// The learning rules the cost models price. The first five are the engine's
/// rules (raw values are `RuleKind`'s names, so a CLI can pass one straight
/// through) and `CostModel` prices them operation for operation as the engine
/// runs them; `pepita-ms` and `ff` are schedules only `NetworkCostModel` prices
/// (on any `NetworkDescription`), as do the other five there.
public enum TrainingRule: String, Codable, CaseIterable, Sendable {
    /// PEPITA: a standard pass, `x_mod = x + e F^T`, a modulated pass, local updates.
    case pepita
    /// PEPITA projecting `sign(e)` (ERINsign): the same products, plus one compare per output error.
    case pepitaSign = "pepita-sign"
    /// Backpropagation: the exact gradient, `delta_{l-1} = (delta_l W_l) * f'`.
    case bp
    /// Feedback alignment: backprop with a fixed random `B_l` shaped like `W_l`.
    case fa
    /// Direct feedback alignment: `delta_{l-1} = (e D_{l-1}) * f'`, `D_{l-1}` is `classes x outputs_{l-1}`.
    case dfa
    /// Memory-saving PEPITA: pass 1 keeps no activations; after `x_mod` the
    /// standard pass is recomputed in lockstep with the modulated pass, so only
    /// two layers of each stream are live (`NetworkCostModel.scheduleText`).
    case pepitaMemorySaving = "pepita-ms"
    /// Forward-Forward (Hinton 2022): a positive and a negative pass, each layer
    /// trained on its own goodness, no error sent between layers.
    case forwardForward = "ff"

    /// The rules the engine trains and `CostModel` prices exactly.
    public static let engineRules: [TrainingRule] = [.pepita, .pepitaSign, .bp, .fa, .dfa]

    public var isEngineRule: Bool { TrainingRule.engineRules.contains(self) }

    /// The engine's PEPITA variants (`CostModel`'s PEPITA formulas and schedule).
    public var isPepita: Bool { self == .pepita || self == .pepitaSign }

    /// The phases of one training step, in the order they run.
    public var phases: [TrainingPhase] {
        switch self {
        case .pepita, .pepitaSign: return [.forward, .errorProjection, .modulatedForward, .update, .optimiser]
        case .pepitaMemorySaving: return [.forward, .errorProjection, .modulatedForward, .recompute, .update, .optimiser]
        case .bp, .fa, .dfa: return [.forward, .backwardDelta, .weightGradient, .optimiser]
        case .forwardForward: return [.forward, .negativeForward, .weightGradient, .optimiser]
        }
    }
}

/// A stretch of one training step that the cost model counts separately (SPEC §5).
public enum TrainingPhase: String, Codable, CaseIterable, Sendable {
    /// The standard forward pass, softmax and the output error `e = y - onehot`.
    case forward
    /// PEPITA: `x_mod = x + e F^T` (`sign(e)` for pepita-sign).
    case errorProjection
    /// PEPITA: the second forward pass on `x_mod`, softmax and `e_mod = y_mod - onehot`.
    case modulatedForward
    /// PEPITA: the weight updates `dW_l = (h_l - h_l^mod)^T h_{l-1}^mod`, last layer `e^T h^mod`.
    case update
    /// BP/FA/DFA: the deltas sent down to layers `L-2 ... 0`.
    case backwardDelta
    /// BP/FA/DFA: `dW_l = delta_l^T h_{l-1}` for every layer; Forward-Forward:
    /// the layer-local gradients of both passes.
    case weightGradient
    /// Memory-saving PEPITA: the standard pass again, beside the modulated one.
    case recompute
    /// Forward-Forward: the pass on negative data.
    case negativeForward
    /// Momentum SGD on every weight: `v = m v + (eta / B) dW; W = W - v`.
    case optimiser
}

/// Which error drives PEPITA's last-layer update; same raw values as the engine's `LastLayerError`.
public enum PepitaLastLayerError: String, Codable, CaseIterable, Sendable {
    /// `e_mod`, as the fully connected references do.
    case modulated
    /// `e` from the first pass, as the convolutional reference does.
    case firstPass = "first-pass"
}

/// The training settings that change what a step computes or keeps, beyond
/// the network, rule and batch.
public struct StepOptions: Codable, Equatable, Sendable {
    /// Inverted dropout keep rate on hidden dense layers; below 1 each such
    /// output costs one multiply per pass (and PEPITA keeps the mask for its
    /// second pass). The engine's default is 0.9.
    public var dropoutKeep: Double
    /// PEPITA's last-layer error; nil means the model family's default, as the
    /// engine picks it (first-pass for networks with a convolution, modulated otherwise).
    /// It moves no operation count, only how long `e` stays live and which error the update reads.
    public var pepitaLastLayerError: PepitaLastLayerError?
    /// How the softmax divides: nil or `.float` as the float32 engine does
    /// (one reciprocal per row, then a multiply per class); `.integer` as
    /// `IntegerSoftmax` (one division per class). `CostModel.report` sets it
    /// from the precision config (`softmaxMode(for:)`).
    public var softmax: PrecisionConfig.SoftmaxMode?

    public init(dropoutKeep: Double = 0.9, pepitaLastLayerError: PepitaLastLayerError? = nil,
                softmax: PrecisionConfig.SoftmaxMode? = nil) {
        self.dropoutKeep = dropoutKeep
        self.pepitaLastLayerError = pepitaLastLayerError
        self.softmax = softmax
    }

    public var usesDropout: Bool { dropoutKeep < 1 }

    /// The softmax arithmetic of `precision`: nil (float) for float32, else the config's `softmax`.
    public static func softmaxMode(for precision: PrecisionConfig) -> PrecisionConfig.SoftmaxMode? {
        precision.isFloat ? nil : precision.softmax
    }

    /// The last-layer error PEPITA uses on `network`.
    public func lastLayerError(for network: NetworkShape) -> PepitaLastLayerError {
        pepitaLastLayerError ?? (network.layers.contains { $0.isConvolution } ? .firstPass : .modulated)
    }

    func validate() throws {
        guard dropoutKeep > 0, dropoutKeep <= 1 else {
            throw CostModelError.badOption(field: "dropoutKeep", problem: "must be in (0, 1], got \(dropoutKeep)")
        }
    }
}
