import Quantized

/// The analytic cost model: what one training step computes, counted from
/// the network's shapes alone (SPEC §5). It mirrors, operation for operation,
/// what the engine's kernels do for the same network, rule and batch, so that
/// a test can compare the engine's counters with these numbers exactly.
///
/// Naming: layer `l` (0-based) computes `h_{l+1} = relu(h_l · W_l^T)` from its
/// input `h_l` (`h_0 = x`); the last layer's output goes through softmax.
/// `B` is the batch; for layer `l`, `in`/`out` are the weight's columns/rows
/// (a conv's `C_in k k` and `C_out`), `P` its output positions,
/// `activated = P * out` the scalars per sample after ReLU and before pooling,
/// `pooled` the scalars handed on after pooling.
///
/// Counting, pricing and formatting are separate (STYLE 17): this file counts
/// operations; `CostModel+Traffic.swift` counts bytes; `StorageModel` finds
/// peak storage; `EnergyLatency` prices them on a `HardwareProfile`.
public enum CostModel {
    /// The operations of one step on a batch of `batch` samples, by phase and layer.
    ///
    /// Forward pass (phases `forward` and, for PEPITA, `modulatedForward`), per layer:
    /// - product: dense `B * in * out` MACs; conv (im2col + GEMM) `B * P * (C_in k k) * C_out`;
    /// - hidden layers: ReLU, one compare per activated scalar (`B * activated`);
    ///   dropout (keep < 1, dense only), one multiply per output (`B * out`);
    ///   2x2 max pooling, three compares per pooled output (`3 * B * pooled`);
    /// - last layer: softmax, per sample as the engine's `Elementwise.softmax` does it:
    ///   `classes - 1` compares (running max), `classes` subtractions of the max,
    ///   `classes` exps, `classes - 1` adds (the sum), 1 reciprocal, `classes`
    ///   multiplies; with `options.softmax == .integer`, as `IntegerSoftmax` does it,
    ///   the same but `classes` divides and no reciprocal or multiplies; then the
    ///   output error `y - onehot`, one subtraction per sample (at its label).
    ///
    /// PEPITA, phase `errorProjection`: `e · F^T`, `B * classes * n_input` MACs,
    /// plus `B * n_input` adds for `x + e F^T`; pepita-sign adds `B * classes`
    /// compares for `sign(e)`.
    ///
    /// PEPITA, phase `update`: hidden dense `dW = (h - h_mod)^T h_prev_mod`,
    /// `B * out * in` MACs and `B * out` subtractions; hidden conv, the sum over
    /// positions of `outer(h - h_mod, patch)`, `B * P * C_out * (C_in k k)` MACs and
    /// `B * P * C_out` subtractions; last layer `e_mod^T h_prev_mod` (or `e^T`),
    /// `B * classes * in` MACs (its error was counted in the forward passes).
    ///
    /// BP/FA/DFA, phase `backwardDelta`, for every layer `l >= 1` from the top,
    /// counted under the receiving layer `l - 1`: BP `delta_l · W_l` and FA
    /// `delta_l · B_l`, `B * out_l * in_l` MACs; DFA `e · D_{l-1}`,
    /// `B * classes * pooled_{l-1}` MACs; then, if layer `l - 1` pools, one add
    /// per pooled scalar to route it to its winner (`B * pooled_{l-1}`), the ReLU
    /// derivative, one compare per activated scalar (`h > 0` on the stored
    /// activation, `B * activated_{l-1}`), and with dropout on a dense layer the
    /// mask's `1/keep` rescale, one multiply per output (`B * out_{l-1}`).
    /// No delta is computed below layer 0.
    /// Phase `weightGradient`: `dW_l = delta_l^T h_l`, the same MACs as layer `l`'s forward product.
    ///
    /// Phase `optimiser` (every rule): per weight 2 multiplies and 2 adds,
    /// `v = m v + (eta / B) dW` and `W = W - v`.
    ///
    /// Conventions: a sum of `n` terms is `n - 1` adds; a product that
    /// accumulates into an existing matrix (`x + e F^T`) adds one add per output.
    /// Not counted: im2col and layout transposes (data movement, not arithmetic),
    /// narrowing to a fixed-point format (part of writing a result), drawing
    /// dropout masks, one-hot encoding, scalars formed once per step, and the
    /// conv normalisation of PEPITA's conv update (`/ (P * B)`), which both
    /// engines fold into the optimiser's scalar `eta / (B * P * B)`.
    ///
    /// These are the counts the engine's kernels record (`OperationRecorder`),
    /// equal phase by phase and layer by layer for every model, rule and
    /// precision preset (`CostModelAgreementTests`).
    public static func operations(network: NetworkShape, rule: TrainingRule, batch: Int,
                                  options: StepOptions = StepOptions()) throws -> StepOperations {
        try checkInputs(network: network, rule: rule, batch: batch, options: options)
        let counter = OperationCounter(network: network, batch: batch, options: options)
        return StepOperations(rule: rule, batch: batch, phases: rule.phases.map { counter.phase($0, rule: rule) })
    }

    /// The operations of one epoch of `samples` samples: `samples / batch` full
    /// batches and, when `batch` does not divide `samples`, one last partial batch
    /// (each batch, partial or not, runs the optimiser once).
    public static func epochOperations(network: NetworkShape, rule: TrainingRule, batch: Int, samples: Int,
                                       options: StepOptions = StepOptions()) throws -> EpochOperations {
        guard samples > 0 else { throw CostModelError.badSampleCount(samples) }
        guard samples <= largestSampleCount else {
            throw CostModelError.badOption(field: "samplesPerEpoch", problem: "must be at most 2^40 (\(largestSampleCount)), got \(samples)")
        }
        var totals: [TrainingPhase: OperationCounts] = [:]
        for (size, count) in epochBatches(samples: samples, batch: batch) {
            for phase in try operations(network: network, rule: rule, batch: size, options: options).phases {
                guard let sum = phase.total.multipliedChecked(by: count)
                        .flatMap({ totals[phase.phase, default: .zero].addingChecked($0) }) else {
                    throw CostModelError.badOption(field: "samplesPerEpoch",
                                                   problem: "\(samples) samples give an epoch too large to count (more than 2^63 operations of one kind)")
                }
                totals[phase.phase] = sum
            }
        }
        return EpochOperations(samples: samples, batch: batch,
                               phases: rule.phases.map { PhaseTotal(phase: $0, operations: totals[$0] ?? .zero) })
    }

    /// The most samples an epoch may have (2^40); the epoch's counts are also
    /// summed with overflow checks, since a large network reaches 2^63 sooner.
    public static let largestSampleCount = 1 << 40

    /// `(batch size, how many batches of it)` for an epoch: the full batches, then the partial one.
    public static func epochBatches(samples: Int, batch: Int) -> [(size: Int, count: Int)] {
        var batches: [(size: Int, count: Int)] = []
        if samples / batch > 0 { batches.append((batch, samples / batch)) }
        if samples % batch > 0 { batches.append((samples % batch, 1)) }
        return batches
    }

    static func checkInputs(network: NetworkShape, rule: TrainingRule, batch: Int, options: StepOptions) throws {
        try network.validate()
        try options.validate()
        try NetworkCostModel.checkBatch(batch)
        try network.checkCountable()
        guard rule.isEngineRule else {
            throw CostModelError.badOption(field: "rule", problem: "\(rule.rawValue) is priced by NetworkCostModel, not the engine's CostModel")
        }
        if rule == .bp || rule == .fa, let index = network.layers.indices.dropFirst().first(where: { network.layers[$0].isConvolution }) {
            throw CostModelError.unsupported(rule: rule, layer: index,
                                             problem: "a convolution above the first layer needs an input gradient, which the engine does not implement")
        }
    }
}

/// Per-phase totals of one epoch.
public struct EpochOperations: Codable, Equatable, Sendable {
    public var samples: Int
    public var batch: Int
    public var phases: [PhaseTotal]

    public var fullBatches: Int { samples / batch }
    /// Size of the last partial batch; 0 when `batch` divides `samples`.
    public var lastBatchSize: Int { samples % batch }
    public var total: OperationCounts { phases.reduce(.zero) { $0 + $1.operations } }
}

public struct PhaseTotal: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    public var operations: OperationCounts
}

/// A request the cost model cannot answer; one line naming the problem.
public enum CostModelError: Error, Equatable, CustomStringConvertible {
    case badBatch(Int)
    case badSampleCount(Int)
    case badOption(field: String, problem: String)
    case unsupported(rule: TrainingRule, layer: Int, problem: String)
    /// A fixed-point precision config without a format for a role the model needs.
    case precisionRoleMissing(config: String, role: TensorRole)
    /// A profile without a figure the pricing needs, e.g. `mac` energy at `int16`.
    case profileLacks(profile: String, what: String)

    public var description: String {
        switch self {
        case let .badBatch(batch): return "batch: must be > 0, got \(batch)"
        case let .badSampleCount(samples): return "samplesPerEpoch: must be > 0, got \(samples)"
        case let .badOption(field, problem): return "\(field): \(problem)"
        case let .unsupported(rule, layer, problem): return "layers[\(layer)]: rule \(rule.rawValue): \(problem)"
        case let .precisionRoleMissing(config, role): return "precision '\(config)': roles.\(role.rawValue): missing"
        case let .profileLacks(profile, what): return "profile '\(profile)': \(what)"
        }
    }
}

extension CostModel {
    /// Softmax of one row of `classes` scores: `classes - 1` compares (the running
    /// max), `classes` subtractions of it, `classes` exps, `classes - 1` adds (the
    /// sum), then float (`mode` nil or `.float`, `Elementwise.softmax`): 1 reciprocal
    /// and `classes` multiplies; integer (`IntegerSoftmax`): `classes` divides.
    static func softmaxPerSample(classes: Int, mode: PrecisionConfig.SoftmaxMode?) -> OperationCounts {
        mode == .integer
            ? OperationCounts(adds: classes + (classes - 1), compares: classes - 1, exps: classes, divides: classes)
            : OperationCounts(adds: classes + (classes - 1), multiplies: classes, compares: classes - 1, exps: classes, divides: 1)
    }
}

/// The formulas of `CostModel.operations`, phase by phase.
struct OperationCounter {
    let network: NetworkShape
    let batch: Int
    let options: StepOptions

    var layers: [LayerShape] { network.layers }
    var lastIndex: Int { layers.count - 1 }
    var classes: Int { network.classes }

    func phase(_ phase: TrainingPhase, rule: TrainingRule) -> PhaseOperations {
        switch phase {
        case .forward: return forwardPass(phase, modulated: false)
        case .modulatedForward: return forwardPass(phase, modulated: true)
        case .errorProjection: return errorProjection(sign: rule == .pepitaSign)
        case .update: return pepitaUpdate()
        case .backwardDelta: return backwardDelta(rule: rule)
        case .weightGradient: return weightGradient()
        case .optimiser: return optimiser()
        case .recompute, .negativeForward:
            // Phases of pepita-ms and ff only, which `checkInputs` refuses here.
            return PhaseOperations(phase: phase, layers: Array(repeating: .zero, count: layers.count))
        }
    }

    /// The name of layer `l`'s input in a pass: `x`, `h1`, ... with `_mod` in the modulated pass.
    func inputName(_ l: Int, modulated: Bool) -> String { (l == 0 ? "x" : "h\(l)") + (modulated ? "_mod" : "") }

    func inputRole(_ l: Int) -> TensorRole { l == 0 ? .modulatedInput : .activations }

    /// Softmax of one row as `Elementwise.softmax` (or `IntegerSoftmax`) computes it (see `CostModel.operations`).
    func softmaxPerSample() -> OperationCounts { CostModel.softmaxPerSample(classes: classes, mode: options.softmax) }

    func forwardPass(_ phase: TrainingPhase, modulated: Bool) -> PhaseOperations {
        var counts: [OperationCounts] = []
        var products: [MatrixProduct] = []
        for (l, layer) in layers.enumerated() {
            var c = OperationCounts(macs: batch * layer.macsPerSample)
            let input = inputName(l, modulated: modulated)
            if layer.isConvolution {
                products.append(MatrixProduct(name: "patches(\(input)) · W\(l)^T", layer: l, rows: batch * layer.positions,
                                              inner: layer.fanIn, columns: layer.fanOut, leftRole: inputRole(l), rightRole: .weights))
            } else {
                products.append(MatrixProduct(name: "\(input) · W\(l)^T", layer: l, rows: batch, inner: layer.fanIn,
                                              columns: layer.fanOut, leftRole: inputRole(l), rightRole: .weights))
            }
            if l < lastIndex {
                c.compares += batch * layer.activatedCount
                if !layer.isConvolution && options.usesDropout { c.multiplies += batch * layer.fanOut }
                if layer.pools { c.compares += 3 * batch * layer.outputCount }
            } else {
                c += batch * softmaxPerSample()
                c.adds += batch
            }
            counts.append(c)
        }
        return PhaseOperations(phase: phase, layers: counts, products: products)
    }

    func errorProjection(sign: Bool) -> PhaseOperations {
        let inputs = network.inputCount
        let outside = OperationCounts(macs: batch * classes * inputs, adds: batch * inputs, compares: sign ? batch * classes : 0)
        let product = MatrixProduct(name: sign ? "sign(e) · F^T" : "e · F^T", layer: nil, rows: batch, inner: classes,
                                    columns: inputs, leftRole: .errors, rightRole: .projection)
        return PhaseOperations(phase: .errorProjection, layers: Array(repeating: .zero, count: layers.count),
                               outsideLayers: outside, products: [product])
    }

    func pepitaUpdate() -> PhaseOperations {
        var counts: [OperationCounts] = []
        var products: [MatrixProduct] = []
        let lastError = options.lastLayerError(for: network) == .modulated ? "e_mod" : "e"
        for (l, layer) in layers.enumerated() {
            let input = inputName(l, modulated: true)
            var c = OperationCounts(macs: batch * layer.macsPerSample)
            let left: String
            if l < lastIndex {
                c.adds = batch * layer.activatedCount
                left = "(h\(l + 1) - h\(l + 1)_mod)"
            } else {
                left = lastError
            }
            products.append(updateProduct(l, layer, name: layer.isConvolution
                                            ? "\(left)^T · patches(\(input))" : "\(left)^T · \(input)",
                                          leftRole: l < lastIndex ? .activations : .errors))
            counts.append(c)
        }
        return PhaseOperations(phase: .update, layers: counts, products: products)
    }

    /// `delta^T · input` for layer `l`: dense `out x B x in`, conv `C_out x (B P) x (C_in k k)`.
    func updateProduct(_ l: Int, _ layer: LayerShape, name: String, leftRole: TensorRole) -> MatrixProduct {
        MatrixProduct(name: name, layer: l, rows: layer.fanOut, inner: batch * layer.positions, columns: layer.fanIn,
                      leftRole: leftRole, rightRole: inputRole(l))
    }

    func backwardDelta(rule: TrainingRule) -> PhaseOperations {
        var counts = Array(repeating: OperationCounts.zero, count: layers.count)
        var products: [MatrixProduct] = []
        for l in stride(from: lastIndex, through: 1, by: -1) {
            let below = layers[l - 1]
            var c = OperationCounts()
            switch rule {
            case .dfa:
                c.macs = batch * classes * below.outputCount
                products.append(MatrixProduct(name: "e · D\(l - 1)", layer: l - 1, rows: batch, inner: classes,
                                              columns: below.outputCount, leftRole: .errors, rightRole: .projection))
            default:
                let layer = layers[l]
                c.macs = batch * layer.fanOut * layer.fanIn
                let matrix = rule == .bp ? "W\(l)" : "B\(l)"
                products.append(MatrixProduct(name: "delta\(l) · \(matrix)", layer: l - 1, rows: batch, inner: layer.fanOut,
                                              columns: layer.fanIn, leftRole: .errors, rightRole: rule == .bp ? .weights : .projection))
            }
            if below.pools { c.adds += batch * below.outputCount }
            c.compares += batch * below.activatedCount
            if !below.isConvolution && options.usesDropout { c.multiplies += batch * below.fanOut }
            counts[l - 1] = c
        }
        return PhaseOperations(phase: .backwardDelta, layers: counts, products: products)
    }

    func weightGradient() -> PhaseOperations {
        var counts: [OperationCounts] = []
        var products: [MatrixProduct] = []
        for (l, layer) in layers.enumerated() {
            counts.append(OperationCounts(macs: batch * layer.macsPerSample))
            let input = inputName(l, modulated: false)
            products.append(updateProduct(l, layer, name: layer.isConvolution
                                            ? "delta\(l)^T · patches(\(input))" : "delta\(l)^T · \(input)",
                                          leftRole: .errors))
        }
        return PhaseOperations(phase: .weightGradient, layers: counts, products: products)
    }

    func optimiser() -> PhaseOperations {
        PhaseOperations(phase: .optimiser, layers: layers.map {
            OperationCounts(adds: 2 * $0.weightCount, multiplies: 2 * $0.weightCount)
        })
    }
}
