import Quantized

/// Prices one training step of any `NetworkDescription` under every rule —
/// BP, FA, DFA, PEPITA (and pepita-sign), memory-saving PEPITA and
/// Forward-Forward — analytically, layer by layer. The counts follow the same
/// conventions as the engine-exact `CostModel` (a test checks that both give
/// the same operations on the engine's networks with dropout off), extended to
/// the general layer kinds; the report reuses `MemoryPlacement` and `EnergyLatency`.
///
/// Per layer, `B` the batch, `n` the layer's output scalars per sample:
/// - dense/conv2d forward: `B P fanIn fanOut` MACs (grouped and depthwise
///   convs: `fanIn = C_in / groups * k_h k_w`), bias `B P C_out` adds;
///   ReLU `B n` compares; max pool `B n (window - 1)` compares; average pool
///   `B n (window - 1)` adds and `B n` multiplies; flatten nothing; residual add
///   `B n` adds; batch norm in training mode (batch statistics), per element
///   4 adds and 3 multiplies (sum, centre, square, sum of squares, normalise,
///   scale, shift), per channel 4 multiplies, 2 adds (means and running
///   statistics) and 1 divide (`1 / sqrt(var + eps)`).
/// - classifier output: softmax as `CostModel` counts it (float: 1 reciprocal and
///   `classes` multiplies; integer: `classes` divides) and `y - onehot` (one
///   subtraction per sample, at its label); reconstruction output: `y - x`
///   (`n` adds, no softmax).
/// - backward delta (BP, FA; DFA inside a stage): dense/conv the transposed
///   product, the same MACs as forward; ReLU derivative `B n` compares (`h > 0`); max pool `B n`
///   adds (routing to the winner); average pool `B n` multiplies (the 1/window
///   scale; spreading is a copy); batch norm `2 B n` adds and `2 B n + 3 C`
///   multiplies; an output read by two layers sums their deltas (`B n` adds).
///   No delta is formed for the input or where nothing upstream is trainable.
/// - weight gradient: the forward MACs again, bias `B P C_out` adds; batch
///   norm `2 B n` adds and `B n` multiplies (`sum dy x_hat`, `sum dy`).
/// - DFA: `e · D_w` onto each hidden stage's end, `B outputs n_end` MACs.
/// - PEPITA: error projection `B outputs n_input` MACs and `B n_input` adds
///   (`F` is `n_input x outputs`: for a reconstruction, input size x output
///   size); update per weighted layer the forward MACs (`(h - h_mod)^T ·
///   input_mod`), `B n_end` subtractions per block, batch norm `2 B n` adds and
///   `B n` multiplies; the layers whose block ends at the output use the error.
/// - memory-saving PEPITA: PEPITA plus `recompute`, the forward pass again up
///   to the last block that needs `h` (`ResolvedNetwork.recomputeEnd`).
/// - Forward-Forward (goodness `G = sum h^2` at each stage end,
///   `p = sigmoid(+-(G - theta))`, loss `-log p` on positive and negative data):
///   each pass is a forward pass plus, per stage, `B n` multiplies and
///   `B n + B` adds (goodness), `B` exps and `B` divides (sigmoid), and for every
///   stage but the first the input's length normalisation (`2 B n_in`
///   multiplies, `B n_in` adds, `B` divides); `weightGradient`, for both passes:
///   the local delta `B n` multiplies, the backward steps inside the stage, the
///   weight and batch-norm gradients. No delta crosses a stage.
/// - dropout (keep < 1; `ResolvedNetwork.dropoutSites`, the end of each hidden
///   dense stage): `B n` multiplies in every forward pass (the mask and its
///   `1/keep` scale) and `B n` in every backward step through it, as `CostModel`
///   counts the engine's dropout; PEPITA writes its 1-bit mask in the first pass
///   and reads it in the modulated pass (and the recomputation).
/// - optimiser (every rule): momentum SGD, 2 multiplies and 2 adds per trainable parameter.
public enum NetworkCostModel {
    public static let countingConventions = """
        Counts are scalar operations of one training step on a batch, per layer of the description. \
        A MAC is one multiply-accumulate inside a matrix product (dense B*in*out; conv B*P*(C_in/groups*k_h*k_w)*C_out, \
        so a depthwise conv costs B*P*k_h*k_w*C). Batch norm is priced in training mode (batch statistics, \
        its backward pass and its scale/shift gradients), not folded into the conv. ReLU, pooling, residual adds, \
        softmax and the output error are counted as in the engine's cost model; dropout (keep < 1) after each \
        hidden dense stage (dense, ReLU) as the engine applies it: one multiply per element in every forward pass \
        and every backward step through it. \
        The optimiser is momentum SGD on every trainable parameter (weights, biases, batch-norm scale and shift). \
        PEPITA on general layers: each trainable layer learns from h - h_mod at the end of its block (the layer and \
        the batch norm and ReLU directly after it; a pool, a residual add or the next weighted layer ends the block), \
        dW = (h - h_mod)^T input_mod summed over positions (a depthwise conv per channel), batch norm's scale and \
        shift from the same difference, the block ending at the output from e_mod; residual adds and pooling are \
        applied in both passes and learn nothing. DFA projects e onto the end of each stage (a weighted layer and \
        what follows it up to the next one). Forward-Forward: goodness G = sum of squares of each stage's output, \
        p = sigmoid(G - theta) on positive and sigmoid(theta - G) on negative data, loss -log p, every stage's input \
        but the first normalised to unit length, gradients kept inside the stage (Hinton 2022).
        """

    /// The largest batch priced (2^16): with at most 2^40 MACs, values or `F`
    /// entries per sample (`NetworkDescription.resolve`), every count of a step fits an `Int`.
    public static let largestBatch = 1 << 16

    static func checkBatch(_ batch: Int) throws {
        guard batch > 0 else { throw CostModelError.badBatch(batch) }
        guard batch <= largestBatch else { throw CostModelError.badOption(field: "batch", problem: "must be at most \(largestBatch), got \(batch)") }
    }

    static func checkDropout(_ keep: Double) throws {
        guard keep > 0, keep <= 1 else { throw CostModelError.badOption(field: "dropoutKeep", problem: "must be in (0, 1], got \(keep)") }
    }

    /// The operations of one step, by phase and layer (`layers` in description order).
    /// `softmax`: how the classifier's softmax divides, as `StepOptions.softmax`
    /// (nil: float; `report` sets it from the precision config).
    public static func operations(network: ResolvedNetwork, rule: TrainingRule, batch: Int,
                                  sizes: ElementSizes = .float32,
                                  softmax: PrecisionConfig.SoftmaxMode? = nil, dropoutKeep: Double = 1) throws -> StepOperations {
        try checkBatch(batch)
        try checkDropout(dropoutKeep)
        let counter = NetworkStepCounter(network: network, rule: rule, batch: batch, sizes: sizes, softmax: softmax, dropoutKeep: dropoutKeep)
        return StepOperations(rule: rule, batch: batch, phases: rule.phases.map { counter.phase($0).operations })
    }

    /// Bytes read and written per phase and kind: each layer reads its inputs and
    /// parameters once and writes its output once per pass (no fusion).
    public static func traffic(network: ResolvedNetwork, rule: TrainingRule, batch: Int,
                               sizes: ElementSizes, dropoutKeep: Double = 1) throws -> StepTraffic {
        try checkBatch(batch)
        try checkDropout(dropoutKeep)
        let counter = NetworkStepCounter(network: network, rule: rule, batch: batch, sizes: sizes, softmax: nil, dropoutKeep: dropoutKeep)
        return StepTraffic(rule: rule, batch: batch, phases: rule.phases.map { counter.phase($0).traffic })
    }

    public static let dataflowAssumption = """
        Each layer reads its inputs and its parameters once and writes its output once per pass (no fusion \
        of ReLU, pooling or batch norm into the product); a backward step reads the delta, the stored tensor it \
        needs and the weights (or feedback matrix), and writes the delta it sends down; a weight gradient reads \
        the delta and the layer's input; the optimiser reads and writes every trainable parameter and velocity. \
        Flatten is a view. Labels, one-hot targets and the negative data of Forward-Forward are not counted.
        """
}

/// Accumulates one phase: operations per layer, products, and traffic.
struct PhaseTally {
    var phase: TrainingPhase
    var layers: [OperationCounts]
    var outside = OperationCounts.zero
    var products: [MatrixProduct] = []
    var bytes = TrafficTally()

    init(phase: TrainingPhase, layerCount: Int) {
        self.phase = phase
        layers = Array(repeating: .zero, count: layerCount)
    }

    var operations: PhaseOperations { PhaseOperations(phase: phase, layers: layers, outsideLayers: outside, products: products) }
    var traffic: PhaseTraffic { bytes.phase(phase) }
}

/// The formulas of `NetworkCostModel`, phase by phase.
struct NetworkStepCounter {
    let network: ResolvedNetwork
    let rule: TrainingRule
    let batch: Int
    let sizes: ElementSizes
    let softmax: PrecisionConfig.SoftmaxMode?
    /// Keep probability of dropout at `dropoutSites`; 1 is off.
    var dropoutKeep: Double = 1

    var layers: [ResolvedLayer] { network.layers }
    /// Layers after which dropout acts (none when it is off).
    var dropoutSites: Set<Int> { dropoutKeep < 1 ? Set(network.dropoutSites) : [] }
    /// PEPITA's passes must drop the same units, so it stores the mask; BP takes
    /// the derivative from the stored (dropped) activation, as `CostModel` counts.
    var storesDropoutMask: Bool { rule.isPepita || rule == .pepitaMemorySaving }
    var last: Int { layers.count - 1 }
    var outputs: Int { network.outputCount }

    func inputKind(_ producer: Int) -> DataKind { producer < 0 ? .input : .activations }
    func inputRole(_ producer: Int) -> TensorRole { producer < 0 ? .modulatedInput : .activations }
    func tensorName(_ producer: Int, suffix: String = "") -> String {
        (producer < 0 ? "x" : "h(\(layers[producer].name))") + suffix
    }
    func parameterBytes(_ layer: ResolvedLayer) -> Int { sizes.bytes(.weights, count: layer.parameterCount) }

    func phase(_ phase: TrainingPhase) -> PhaseTally {
        var tally = PhaseTally(phase: phase, layerCount: layers.count)
        switch phase {
        case .forward:
            forwardPass(&tally, through: last, suffix: "", outputError: rule != .forwardForward, mask: storesDropoutMask ? .write : nil)
            if rule == .forwardForward { goodness(&tally) }
        case .modulatedForward:
            forwardPass(&tally, through: last, suffix: "_mod", outputError: true, mask: .read)
        case .negativeForward:
            forwardPass(&tally, through: last, suffix: "_neg", outputError: false, mask: nil)
            goodness(&tally)
        case .recompute:
            forwardPass(&tally, through: network.recomputeEnd, suffix: "", outputError: false, mask: .read)
        case .errorProjection:
            errorProjection(&tally)
        case .update:
            pepitaUpdate(&tally)
        case .backwardDelta:
            if rule == .dfa { directFeedback(&tally) } else { backpropagate(&tally) }
        case .weightGradient:
            if rule == .forwardForward {
                localGradients(&tally) // the positive pass's gradients,
                localGradients(&tally) // then the negative pass's
            } else {
                for layer in layers where layer.kind.isTrainable { gradient(&tally, layer) }
            }
        case .optimiser:
            for layer in layers where layer.kind.isTrainable {
                tally.layers[layer.index] += OperationCounts(adds: 2 * layer.trainableCount, multiplies: 2 * layer.trainableCount)
                let weights = sizes.bytes(.weights, count: layer.trainableCount)
                let velocities = sizes.bytes(.optimiserState, count: layer.trainableCount)
                tally.bytes.read(.weights, weights); tally.bytes.write(.weights, weights)
                tally.bytes.read(.optimiserState, velocities); tally.bytes.write(.optimiserState, velocities)
            }
        }
        return tally
    }

    // MARK: Forward

    /// How a pass uses the stored dropout mask: writes it (PEPITA's first pass), reads it, or neither.
    enum MaskUse { case write, read }

    func forwardPass(_ tally: inout PhaseTally, through end: Int, suffix: String, outputError: Bool, mask: MaskUse?) {
        guard end >= 0 else { return }
        let B = batch
        let dropped = dropoutSites
        for layer in layers[0...end] {
            let n = layer.outputCount, i = layer.index
            var c = OperationCounts()
            switch layer.kind {
            case .dense, .conv2d:
                c.macs = B * layer.forwardMACsPerSample
                c.adds = B * layer.positions * (layer.biasCount > 0 ? layer.fanOut : 0)
                let source = layer.inputs[0]
                let isConv: Bool = { if case .conv2d = layer.kind { return true }; return false }()
                tally.products.append(MatrixProduct(
                    name: (isConv ? "patches(\(tensorName(source, suffix: suffix)))" : tensorName(source, suffix: suffix)) + " · W(\(layer.name))^T",
                    layer: i, rows: B * layer.positions, inner: layer.fanIn, columns: layer.fanOut,
                    leftRole: inputRole(source), rightRole: .weights))
            case .relu:
                c.compares = B * n
            case let .pool(pooling):
                let window = layer.poolWindow!.area
                if pooling.kind == .max { c.compares = B * n * (window - 1) } else { c.adds = B * n * (window - 1); c.multiplies = B * n }
            case .flatten:
                break
            case .batchNorm:
                let channels = layer.normalisedChannels
                c = OperationCounts(adds: 4 * B * n + 2 * channels, multiplies: 3 * B * n + 4 * channels, divides: channels)
            case .add:
                c.adds = B * n
            }
            if i == last && outputError { c += outputErrorOperations() }
            if dropped.contains(i) {
                c.multiplies += B * n
                let maskBytes = sizes.maskBytes(count: B * n, bits: sizes.dropoutMaskBits)
                switch mask {
                case .write: tally.bytes.write(.masks, maskBytes)
                case .read: tally.bytes.read(.masks, maskBytes)
                case nil: break
                }
            }
            tally.layers[i] += c
            if layer.kind != .flatten {
                for producer in layer.inputs { tally.bytes.read(inputKind(producer), sizes.bytes(inputKind(producer), count: B * layer.inputCount)) }
                if layer.parameterCount > 0 { tally.bytes.read(.weights, parameterBytes(layer)) }
                if i == last && outputError {
                    tally.bytes.write(.errors, sizes.bytes(.errors, count: B * n))
                } else {
                    tally.bytes.write(.activations, sizes.bytes(.activations, count: B * n))
                }
            }
        }
    }

    /// Softmax and `y - onehot` (one subtraction per sample, at its label) for a
    /// classifier, as `CostModel` counts them; `y - x` for a reconstruction.
    func outputErrorOperations() -> OperationCounts {
        guard network.isClassifier else { return OperationCounts(adds: batch * outputs) }
        return batch * CostModel.softmaxPerSample(classes: outputs, mode: softmax) + OperationCounts(adds: batch)
    }

    /// Forward-Forward's goodness and sigmoid at each stage end, and the length
    /// normalisation of each stage's input but the first.
    func goodness(_ tally: inout PhaseTally) {
        let B = batch
        for (position, stage) in network.stages.enumerated() {
            let n = layers[stage.end].outputCount
            var c = OperationCounts(adds: B * n + B, multiplies: B * n, exps: B, divides: B)
            if position > 0 {
                let inputs = layers[stage.weightedLayer].inputCount
                c += OperationCounts(adds: B * inputs, multiplies: 2 * B * inputs, divides: B)
                let bytes = sizes.bytes(.activations, count: B * inputs)
                tally.bytes.read(.activations, 2 * bytes); tally.bytes.write(.activations, bytes)
            }
            tally.layers[stage.weightedLayer] += c
            tally.bytes.read(.activations, sizes.bytes(.activations, count: B * n))
        }
    }

    // MARK: PEPITA

    func errorProjection(_ tally: inout PhaseTally) {
        let B = batch, inputs = network.inputCount
        let sign = rule == .pepitaSign
        tally.outside += OperationCounts(macs: B * outputs * inputs, adds: B * inputs, compares: sign ? B * outputs : 0)
        tally.products.append(MatrixProduct(name: sign ? "sign(e) · F^T" : "e · F^T", layer: nil, rows: B, inner: outputs,
                                            columns: inputs, leftRole: .errors, rightRole: .projection))
        tally.bytes.read(.errors, sizes.bytes(.errors, count: B * outputs))
        tally.bytes.read(.projection, sizes.bytes(.projection, count: inputs * outputs))
        tally.bytes.read(.input, sizes.bytes(.input, count: B * inputs))
        tally.bytes.write(.input, sizes.bytes(.input, count: B * inputs))
    }

    func pepitaUpdate(_ tally: inout PhaseTally) {
        let B = batch
        var differences = Set<Int>()
        for layer in layers where layer.kind.isTrainable {
            let end = network.blockEnd(layer.index)
            let fromError = network.learnsFromOutputError(layer.index)
            let endName = layers[end].name
            if !fromError && differences.insert(end).inserted {
                tally.layers[layer.index].adds += B * layers[end].outputCount
                tally.bytes.read(.activations, sizes.bytes(.activations, count: 2 * B * layers[end].outputCount))
            }
            if fromError { tally.bytes.read(.errors, sizes.bytes(.errors, count: B * outputs)) }
            let difference = fromError ? "e_mod" : "(h(\(endName)) - h(\(endName))_mod)"
            parameterGradient(&tally, layer, delta: difference, deltaRole: fromError ? .errors : .activations, inputSuffix: "_mod")
        }
    }

    // MARK: Backward

    /// One layer's backward step: the delta with respect to each input that needs one.
    func backwardStep(_ tally: inout PhaseTally, _ layer: ResolvedLayer, into targets: [Int]) {
        let B = batch, n = layer.outputCount, i = layer.index
        guard !targets.isEmpty else { return }
        var c = OperationCounts()
        switch layer.kind {
        case .dense, .conv2d:
            c.macs = B * layer.forwardMACsPerSample
            let feedback = rule == .bp ? "W(\(layer.name))" : "B(\(layer.name))"
            tally.products.append(MatrixProduct(name: "delta(\(layer.name)) · \(feedback)", layer: i,
                                                rows: B * layer.positions, inner: layer.fanOut / groups(layer),
                                                columns: layer.fanIn * groups(layer),
                                                leftRole: .errors, rightRole: rule == .bp ? .weights : .projection))
            let matrix: DataKind = rule == .bp ? .weights : .projection
            tally.bytes.read(matrix, sizes.bytes(matrix, count: layer.weightCount))
        case .relu:
            c.compares = B * n
            tally.bytes.read(.activations, sizes.bytes(.activations, count: B * n))
        case let .pool(pooling):
            if pooling.kind == .max {
                c.adds = B * n
                tally.bytes.read(.masks, sizes.maskBytes(count: B * n, bits: layer.poolWinnerBits))
            } else {
                c.multiplies = B * n
            }
        case .flatten, .add:
            guard dropoutSites.contains(i) else { return } // a view or a sum: nothing to do unless dropout follows it
        case .batchNorm:
            c = OperationCounts(adds: 2 * B * n, multiplies: 2 * B * n + 3 * layer.normalisedChannels)
            tally.bytes.read(.activations, sizes.bytes(.activations, count: B * n))
        }
        if dropoutSites.contains(i) { c.multiplies += B * n } // the mask's 1/keep rescale of the delta
        tally.layers[i] += c
        tally.bytes.read(.errors, sizes.bytes(.errors, count: B * n))
        tally.bytes.write(.errors, sizes.bytes(.errors, count: B * layer.inputCount))
    }

    func groups(_ layer: ResolvedLayer) -> Int {
        if case let .conv2d(conv) = layer.kind { return conv.groups }
        return 1
    }

    /// BP and FA: from the output error down, every delta that some trainable layer below needs.
    func backpropagate(_ tally: inout PhaseTally) {
        let needs = network.needsDelta
        for layer in layers.reversed() {
            let i = layer.index
            if needs[i] && network.consumers[i].count > 1 {
                let extra = network.consumers[i].count - 1
                tally.layers[i].adds += extra * batch * layer.outputCount
                tally.bytes.read(.errors, sizes.bytes(.errors, count: (extra + 1) * batch * layer.outputCount))
                tally.bytes.write(.errors, sizes.bytes(.errors, count: batch * layer.outputCount))
            }
            backwardStep(&tally, layer, into: layer.inputs.filter { $0 >= 0 && needs[$0] })
        }
    }

    /// DFA: `e · D_w` onto the end of every stage but the output's, then the steps inside each stage.
    func directFeedback(_ tally: inout PhaseTally) {
        let B = batch
        for stage in network.stages.reversed() {
            if stage.end != last {
                let n = layers[stage.end].outputCount
                tally.layers[stage.end].macs += B * outputs * n
                tally.products.append(MatrixProduct(name: "e · D(\(layers[stage.weightedLayer].name))", layer: stage.end,
                                                    rows: B, inner: outputs, columns: n, leftRole: .errors, rightRole: .projection))
                tally.bytes.read(.errors, sizes.bytes(.errors, count: B * outputs))
                tally.bytes.read(.projection, sizes.bytes(.projection, count: outputs * n))
                tally.bytes.write(.errors, sizes.bytes(.errors, count: B * n))
            }
            stageBackward(&tally, stage)
        }
    }

    /// The backward steps from a stage's end down to its weighted layer's output.
    func stageBackward(_ tally: inout PhaseTally, _ stage: TrainingStage) {
        for j in stage.layers.dropFirst().reversed() {
            backwardStep(&tally, layers[j], into: layers[j].inputs.filter { stage.layers.contains($0) })
        }
    }

    /// Forward-Forward, one pass: the local delta at each stage end, the steps inside the stage, the gradients.
    func localGradients(_ tally: inout PhaseTally) {
        for stage in network.stages {
            let n = layers[stage.end].outputCount
            tally.layers[stage.end].multiplies += batch * n
            tally.bytes.read(.activations, sizes.bytes(.activations, count: batch * n))
            tally.bytes.write(.errors, sizes.bytes(.errors, count: batch * n))
            stageBackward(&tally, stage)
            for j in stage.layers where layers[j].kind.isTrainable { gradient(&tally, layers[j]) }
        }
    }

    /// BP/FA/DFA/FF: a trainable layer's parameter gradient from its delta.
    func gradient(_ tally: inout PhaseTally, _ layer: ResolvedLayer) {
        parameterGradient(&tally, layer, delta: "delta(\(layer.name))", deltaRole: .errors, inputSuffix: "")
    }

    /// `dW = delta^T · input` (conv: summed over positions), the bias sum, or
    /// batch norm's `sum delta x_hat` and `sum delta`; shared by every rule's update.
    func parameterGradient(_ tally: inout PhaseTally, _ layer: ResolvedLayer, delta: String, deltaRole: TensorRole, inputSuffix: String) {
        let B = batch, i = layer.index, source = layer.inputs[0]
        switch layer.kind {
        case .dense, .conv2d:
            tally.layers[i] += OperationCounts(macs: B * layer.forwardMACsPerSample, adds: B * layer.positions * (layer.biasCount > 0 ? layer.fanOut : 0))
            let input = tensorName(source, suffix: inputSuffix)
            tally.products.append(MatrixProduct(name: "\(delta)^T · " + (layer.positions > 1 ? "patches(\(input))" : input), layer: i,
                                                rows: layer.fanOut, inner: B * layer.positions, columns: layer.fanIn,
                                                leftRole: deltaRole, rightRole: inputRole(source)))
            tally.bytes.read(deltaRole == .errors ? .errors : .activations,
                             sizes.bytes(deltaRole == .errors ? .errors : .activations, count: B * layer.outputCount))
            tally.bytes.read(inputKind(source), sizes.bytes(inputKind(source), count: B * layer.inputCount))
        case .batchNorm:
            let n = layer.outputCount
            tally.layers[i] += OperationCounts(adds: 2 * B * n, multiplies: B * n)
            tally.bytes.read(.activations, sizes.bytes(.activations, count: 2 * B * n))
        default:
            break
        }
    }
}
