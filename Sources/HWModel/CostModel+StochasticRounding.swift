import Quantized

/// Narrowings of one tensor role in one phase that round stochastically, and
/// the random bits they draw.
public struct StochasticNarrowings: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    public var role: TensorRole
    /// Elements narrowed with `rounding: stochastic` in one step.
    public var narrowings: Int
    /// `narrowings * CostModel.randomBitsPerNarrowing`.
    public var randomBits: Int

    public init(phase: TrainingPhase, role: TensorRole, narrowings: Int) {
        self.phase = phase
        self.role = role
        self.narrowings = narrowings
        randomBits = narrowings * CostModel.randomBitsPerNarrowing
    }
}

extension CostModel {
    /// Random bits per stochastically rounded element: the engine draws one
    /// 64-bit SplitMix64 output per element (`StochasticBits.bits(at:)`). A
    /// datapath needs only the bits the narrowing drops (3 for `W - v` from
    /// to Q0.7), so 64 is the engine's figure and an upper bound.
    public static let randomBitsPerNarrowing = 64

    public static let stochasticRoundingAssumption = """
        Stochastic rounding draws \(randomBitsPerNarrowing) random bits (one SplitMix64 output, as the engine does) per element \
        narrowed with a stochastic role; a datapath needs only the bits each narrowing drops, so this is an upper bound. \
        Narrowings per step, as the fixed-point engine performs them: the input x to the input format (B*n_input, forward) \
        and, for PEPITA, e F^T to it (B*n_input, error projection); every hidden layer's activations before pooling \
        (B*activated per forward pass); the output errors e and e_mod (B*classes per pass); BP/FA/DFA's deltas at each hidden \
        layer's pre-pool size (B*activated, backward delta); per weight, once to the updates format, three times to the \
        velocity format (m v, the update, their sum) and once to the weight format (optimiser). F, B_l, D_l and the initial \
        weights are narrowed once per run, not per step. Random bits are priced by the profile's randomBitEnergyPicojoules \
        when it has one; their generation takes no cycles in the roofline.
        """

    /// The stochastic narrowings of one step of `rule` on `network` with batch
    /// `batch` under `precision`, by phase and role (only roles whose rounding is
    /// stochastic; empty for float32). The counts equal the `elements` the
    /// fixed-point engine's `QuantizationCounters` add up per step (see
    /// `stochasticRoundingAssumption`; the CLI tests check them against a run).
    public static func stochasticNarrowings(network: NetworkShape, rule: TrainingRule, batch B: Int,
                                            precision: PrecisionConfig) -> [StochasticNarrowings] {
        guard !precision.isFloat else { return [] }
        let hidden = network.layers.dropLast()
        let activated = hidden.reduce(0) { $0 + $1.activatedCount }
        let weights = network.parameterCount
        let passes = rule.isPepita ? [TrainingPhase.forward, .modulatedForward] : [.forward]
        var counts: [(TrainingPhase, TensorRole, Int)] = [(.forward, .modulatedInput, B * network.inputCount)]
        if rule.isPepita { counts.append((.errorProjection, .modulatedInput, B * network.inputCount)) }
        for pass in passes {
            counts.append((pass, .activations, B * activated))
            counts.append((pass, .errors, B * network.classes))
        }
        if !rule.isPepita { counts.append((.backwardDelta, .errors, B * activated)) }
        counts += [(.optimiser, .updates, weights), (.optimiser, .optimiserState, 3 * weights), (.optimiser, .weights, weights)]

        // Each (phase, role) pair appears once.
        return counts.filter { $0.2 > 0 && precision.roles[$0.1]?.rounding == .stochastic }
            .map { StochasticNarrowings(phase: $0.0, role: $0.1, narrowings: $0.2) }
    }
}
