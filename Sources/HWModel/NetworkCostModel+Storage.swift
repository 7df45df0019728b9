extension NetworkCostModel {
    public static let storageAssumptions = """
        Peak RAM is given under two assumptions. "Every buffer kept": every tensor the step creates (inputs, \
        activations of every pass, masks, errors, deltas) has its own buffer for the whole step and nothing is \
        done in place; the figure is the sum of all buffers plus parameters. "Reused": a buffer lives from the \
        stage that writes it to the last stage that reads it, and ReLU, batch norm, residual adds, the output \
        error and deltas through them are written in place over their input when that input is read there for the \
        last time; a delta through a pool whose windows do not overlap is unpooled in place (its buffer has the \
        pre-pool size from the stage that writes the pooled delta). Flatten is a view under both. Parameters \
        (weights, biases, batch-norm scale, shift and running statistics), velocities and feedback matrices \
        (F, B, D) are live throughout; no dW is stored.
        """

    /// The storage schedule of `rule`, in words; every report repeats it.
    public static func scheduleText(_ rule: TrainingRule) -> String {
        switch rule {
        case .bp, .fa, .dfa:
            return """
                The forward pass keeps what the backward pass reads: each trainable layer's input (for its gradient), \
                each ReLU's output (its derivative; for a ReLU read only by a max pool, the pooled output at the \
                winners; a 1-bit sign if no other backward step keeps that output), each batch norm's input (to \
                re-form x_hat) and each max pool's winner indices. The backward pass runs from the top, one layer \
                per stage: it forms the layer's gradient, steps its momentum and sends the delta down (BP: delta W, \
                FA: delta B, DFA: e D onto each stage's end, then through the stage). Stored tensors and deltas are freed after their last read.
                """
        case .pepita, .pepitaSign:
            return """
                Pass 1 keeps, for every trainable layer not trained from the output error, its block output h (after \
                the batch norm and ReLU that follow it, before pooling), until its update; x is overwritten in place by \
                x_mod = x + e F^T. The modulated pass runs layer by layer and updates each layer when its block output \
                h_mod exists: dW = (h - h_mod)^T input_mod (conv: summed over positions), batch norm from the same \
                difference, the output block from e_mod; then h and what the update read are freed.
                """
        case .pepitaMemorySaving:
            return """
                Pass 1 keeps no activation (each is freed once the next layer has read it) and gives e; x is kept \
                and x_mod = x + e F^T gets its own buffer. Then the standard pass is recomputed in lockstep with the \
                modulated pass, layer by layer, so only the current and previous layer of each stream (and residual \
                skips until their add) are live; each layer is updated as soon as h and h_mod of its block exist. \
                The recomputation runs up to the last block that needs h (the output block uses e_mod).
                """
        case .forwardForward:
            return """
                Positive data (the input with its label) and negative data (with a wrong label) go through the \
                network together, stage by stage (a stage is a weighted layer and what follows it up to the next \
                one). At the end of each stage both streams' goodness G = sum h^2 gives p = sigmoid(G - theta) \
                (positive) and sigmoid(theta - G) (negative); the local delta runs back through the stage only, \
                the stage's layers are updated, and the stage's tensors except its output are freed. No error \
                crosses a stage and no F is stored.
                """
        }
    }

    /// Buffers and their lifetimes for one step of `rule`, under both assumptions.
    /// With `dropoutKeep < 1`, PEPITA's rules also hold a 1-bit mask per dropped
    /// element (`dropoutSites`) for the whole step, from the first pass to the
    /// modulated one (BP/FA/DFA read the dropped activation instead).
    public static func storage(network: ResolvedNetwork, rule: TrainingRule, batch: Int, sizes: ElementSizes,
                               dropoutKeep: Double = 1) throws -> NetworkStorage {
        try checkBatch(batch)
        try checkDropout(dropoutKeep)
        var builder = ScheduleBuilder(network: network, batch: batch, sizes: sizes)
        switch rule {
        case .bp, .fa, .dfa: builder.backprop(rule: rule)
        case .pepita, .pepitaSign: builder.pepita(memorySaving: false)
        case .pepitaMemorySaving: builder.pepita(memorySaving: true)
        case .forwardForward: builder.forwardForward()
        }
        builder.parameters(rule: rule)
        if dropoutKeep < 1 && (rule.isPepita || rule == .pepitaMemorySaving) {
            for site in network.dropoutSites {
                builder.planner.persistent("dropout mask(\(network.layers[site].name))", .masks, layer: site,
                                           bytes: sizes.maskBytes(count: batch * network.layers[site].outputCount, bits: sizes.dropoutMaskBits))
            }
        }
        return builder.planner.storage(rule: rule, batch: batch, schedule: scheduleText(rule), layerCount: network.layers.count)
    }
}

/// Lays out the tensors of each rule's schedule on a `LifetimePlanner`.
struct ScheduleBuilder {
    let network: ResolvedNetwork
    let batch: Int
    let sizes: ElementSizes
    var planner = LifetimePlanner()

    init(network: ResolvedNetwork, batch: Int, sizes: ElementSizes) {
        self.network = network
        self.batch = batch
        self.sizes = sizes
    }

    var layers: [ResolvedLayer] { network.layers }
    var last: Int { layers.count - 1 }

    func activationBytes(_ layer: Int) -> Int { sizes.bytes(.activations, count: batch * layers[layer].outputCount) }
    func errorBytes(count: Int) -> Int { sizes.bytes(.errors, count: batch * count) }
    var inputBytes: Int { sizes.bytes(.input, count: batch * network.inputCount) }

    static func isElementwise(_ kind: LayerKind) -> Bool {
        switch kind {
        case .relu, .batchNorm, .add: return true
        default: return false
        }
    }

    /// One pass through layers `0...end`, layer `i` at stage `stageOf[i]`; returns each layer's output tensor.
    mutating func forward(input: Int, through end: Int, stageOf: [Int], suffix: String) -> [Int] {
        var outputs: [Int] = []
        guard end >= 0 else { return outputs }
        for layer in layers[0...end] {
            let stage = stageOf[layer.index]
            let read = layer.inputs.map { $0 < 0 ? input : outputs[$0] }
            for id in read { planner.use(id, at: stage) }
            if layer.kind == .flatten { outputs.append(read[0]); continue }
            let id = planner.tensor("h(\(layer.name))\(suffix)", .workingActivations, layer: layer.index,
                                    bytes: activationBytes(layer.index), at: stage)
            if Self.isElementwise(layer.kind) { planner.inPlace(id, over: read[0]) }
            outputs.append(id)
        }
        return outputs
    }

    /// The output error, written in place over the last layer's output.
    mutating func outputError(_ name: String, over output: Int, at stage: Int) -> Int {
        let id = planner.tensor(name, .outputErrors, layer: nil, bytes: errorBytes(count: network.outputCount), at: stage)
        planner.inPlace(id, over: output)
        return id
    }

    /// The tensor layer `i` reads as input `producer` (`x` for -1).
    func source(_ producer: Int, _ outputs: [Int], input: Int) -> Int { producer < 0 ? input : outputs[producer] }

    /// Marks what the backward step of layer `i` reads, at `stage`.
    mutating func keepForBackward(_ i: Int, outputs: [Int], input: Int, masks: [Int: Int], at stage: Int) {
        let layer = layers[i]
        switch layer.kind {
        case .dense, .conv2d, .batchNorm: planner.keep(source(layer.inputs[0], outputs, input: input), until: stage)
        case .relu:
            if let sign = masks[i] {
                planner.use(sign, at: stage)
            } else if let pool = maxPoolReading(i), let winners = masks[pool] {
                planner.keep(outputs[pool], until: stage)
                planner.use(winners, at: stage)
            } else {
                planner.keep(outputs[i], until: stage)
            }
        case .pool: if let mask = masks[i] { planner.use(mask, at: stage) }
        default: break
        }
    }

    /// The max pool that is the only reader of ReLU `i`'s output, if any. Its
    /// delta is non-zero only at the winners, where the ReLU output is the pooled
    /// value, so the ReLU derivative is read from the pooled output and the
    /// winners (kept anyway) instead of keeping the ReLU output before pooling.
    func maxPoolReading(_ i: Int) -> Int? {
        guard network.consumers[i].count == 1, case let .pool(pooling) = layers[network.consumers[i][0]].kind,
              pooling.kind == .max else { return nil }
        return network.consumers[i][0]
    }

    /// Whether a delta through layer `i` may be written in place over the delta `i` received:
    /// elementwise layers, and pools whose windows do not overlap (unpooling scatters pooled
    /// value `j` to positions at or after `j`, so it runs backwards in one buffer of the
    /// input's size, as a fused `delta W` written straight to the winners would).
    func sendsDeltaInPlace(_ i: Int) -> Bool {
        if Self.isElementwise(layers[i].kind) { return true }
        guard case let .pool(pooling) = layers[i].kind else { return false }
        guard let size = pooling.size else { return true }  // global: one window per channel
        let stride = pooling.stride ?? size
        return stride.height >= size.height && stride.width >= size.width
    }

    /// Whether a backward step keeps layer `i`'s output as its input anyway: a dense,
    /// conv or batch-norm layer reads it (through flatten views).
    func isKeptAsInput(_ i: Int) -> Bool {
        network.consumers[i].contains { consumer in
            switch layers[consumer].kind {
            case .dense, .conv2d, .batchNorm: return true
            case .flatten: return isKeptAsInput(consumer)
            default: return false
            }
        }
    }

    /// The masks the backward steps of one pass read, made at each layer's forward stage:
    /// every max pool's winner indices, and a 1-bit sign for each ReLU whose derivative
    /// `needsDerivative` and whose output is kept for no other reason (not the input of a
    /// weighted or batch-norm layer, not read by a max pool alone, not in `keptAnyway`).
    mutating func backwardMasks(stageOf: [Int], suffix: String, needsDerivative: (Int) -> Bool,
                                keptAnyway: Set<Int> = []) -> [Int: Int] {
        var masks: [Int: Int] = [:]
        for layer in layers {
            switch layer.kind {
            case let .pool(pooling) where pooling.kind == .max:
                masks[layer.index] = planner.tensor("winners(\(layer.name))\(suffix)", .masks, layer: layer.index,
                                                    bytes: sizes.maskBytes(count: batch * layer.outputCount, bits: layer.poolWinnerBits),
                                                    at: stageOf[layer.index])
            case .relu where needsDerivative(layer.index) && !isKeptAsInput(layer.index)
                && maxPoolReading(layer.index) == nil && !keptAnyway.contains(layer.index):
                masks[layer.index] = planner.tensor("sign(\(layer.name))\(suffix)", .masks, layer: layer.index,
                                                    bytes: sizes.maskBytes(count: batch * layer.outputCount, bits: 1),
                                                    at: stageOf[layer.index])
            default:
                break
            }
        }
        return masks
    }

    /// Sends layer `i`'s delta `delta` to the inputs in `targets` at `stage`
    /// (in place through elementwise layers; a view through flatten).
    mutating func sendDelta(_ i: Int, _ delta: Int, to targets: [Int], at stage: Int, deltas: inout [Int?], suffix: String) {
        planner.use(delta, at: stage)
        for producer in targets {
            if layers[i].kind == .flatten { deltas[producer] = delta; continue }
            if let existing = deltas[producer] { planner.use(existing, at: stage); continue }
            let id = planner.tensor("delta(\(layers[producer].name))\(suffix)", .backwardBuffers, layer: producer,
                                    bytes: errorBytes(count: layers[producer].outputCount), at: stage)
            if sendsDeltaInPlace(i) { planner.inPlace(id, over: delta) }
            deltas[producer] = id
        }
    }

    mutating func backprop(rule: TrainingRule) {
        let forwardStages = layers.map { planner.stage("forward[\($0.name)]") }
        let x = planner.tensor("x", .inputs, layer: nil, bytes: inputBytes, at: 0)
        let outputs = forward(input: x, through: last, stageOf: forwardStages, suffix: "")
        let needs = network.needsDelta
        let masks = backwardMasks(stageOf: forwardStages, suffix: "", needsDerivative: { needs[$0] })
        let e = outputError("e", over: outputs[last], at: forwardStages[last])
        var backwardStages = Array(repeating: 0, count: layers.count)
        for i in layers.indices.reversed() { backwardStages[i] = planner.stage("backward[\(layers[i].name)]") }

        let stages = network.stages
        let stageOfLayer = Dictionary(stages.flatMap { stage in stage.layers.map { ($0, stage) } }, uniquingKeysWith: { a, _ in a })
        var deltas = Array<Int?>(repeating: nil, count: layers.count)
        deltas[last] = e
        for i in layers.indices.reversed() {
            let stage = backwardStages[i]
            if rule == .dfa, let own = stageOfLayer[i], own.end == i, i != last {
                planner.use(e, at: stage)
                deltas[i] = planner.tensor("e·D(\(layers[own.weightedLayer].name))", .backwardBuffers, layer: i,
                                           bytes: errorBytes(count: layers[i].outputCount), at: stage)
            }
            guard let delta = deltas[i] else { continue }
            keepForBackward(i, outputs: outputs, input: x, masks: masks, at: stage)
            let targets: [Int]
            if rule == .dfa {
                targets = layers[i].kind.isWeighted ? [] : layers[i].inputs.filter { stageOfLayer[$0] == stageOfLayer[i] && $0 >= 0 }
            } else {
                targets = layers[i].inputs.filter { $0 >= 0 && needs[$0] }
            }
            sendDelta(i, delta, to: targets, at: stage, deltas: &deltas, suffix: "")
        }
    }

    mutating func pepita(memorySaving: Bool) {
        let forwardStages = layers.map { planner.stage("forward[\($0.name)]") }
        let x = planner.tensor("x", .inputs, layer: nil, bytes: inputBytes, at: 0)
        let firstPass = forward(input: x, through: last, stageOf: forwardStages, suffix: "")
        let e = outputError("e", over: firstPass[last], at: forwardStages[last])
        let projection = planner.stage("errorProjection")
        planner.use(x, at: projection)
        planner.use(e, at: projection)
        let modulatedInput = planner.tensor("x_mod", .inputs, layer: nil, bytes: inputBytes, at: projection)
        if !memorySaving { planner.inPlace(modulatedInput, over: x) }

        let label = memorySaving ? "recompute+modulatedForward+update" : "modulatedForward+update"
        let passStages = layers.map { planner.stage("\(label)[\($0.name)]") }
        let standard = memorySaving
            ? forward(input: x, through: network.recomputeEnd, stageOf: passStages, suffix: " (recomputed)")
            : firstPass
        let modulated = forward(input: modulatedInput, through: last, stageOf: passStages, suffix: "_mod")
        let modulatedError = outputError("e_mod", over: modulated[last], at: passStages[last])
        for layer in layers where layer.kind.isTrainable {
            let end = network.blockEnd(layer.index)
            let stage = passStages[end]
            if network.learnsFromOutputError(layer.index) {
                planner.use(modulatedError, at: stage)
            } else {
                planner.keep(standard[end], until: stage)
                planner.use(modulated[end], at: stage)
            }
            planner.keep(source(layer.inputs[0], modulated, input: modulatedInput), until: stage)
        }
    }

    mutating func forwardForward() {
        let stages = network.stages
        let firstWeighted = stages[0].weightedLayer
        var passStages = Array(repeating: 0, count: layers.count)
        var updateStages: [Int] = []
        for i in 0..<firstWeighted { passStages[i] = planner.stage("forward±[\(layers[i].name)]") }
        for (position, stage) in stages.enumerated() {
            let limit = position + 1 < stages.count ? stages[position + 1].weightedLayer : layers.count
            for i in stage.weightedLayer..<limit { passStages[i] = planner.stage("forward±[\(layers[i].name)]") }
            updateStages.append(planner.stage("localUpdate[\(layers[stage.weightedLayer].name)]"))
        }
        let staged = Set(stages.flatMap(\.layers)), stageEnds = Set(stages.map(\.end))
        for (suffix, label) in [("+", "x"), ("-", "x_neg")] {
            let input = planner.tensor(label, .inputs, layer: nil, bytes: inputBytes, at: 0)
            let outputs = forward(input: input, through: last, stageOf: passStages, suffix: suffix)
            let masks = backwardMasks(stageOf: passStages, suffix: suffix, needsDerivative: { staged.contains($0) },
                                      keptAnyway: stageEnds)
            var deltas = Array<Int?>(repeating: nil, count: layers.count)
            for (stage, update) in zip(stages, updateStages) {
                planner.keep(outputs[stage.end], until: update)
                deltas[stage.end] = planner.tensor("delta(\(layers[stage.end].name))\(suffix)", .backwardBuffers, layer: stage.end,
                                                   bytes: errorBytes(count: layers[stage.end].outputCount), at: update)
                for j in stage.layers.reversed() {
                    keepForBackward(j, outputs: outputs, input: input, masks: masks, at: update)
                    guard j != stage.weightedLayer, let delta = deltas[j] else { continue }
                    sendDelta(j, delta, to: layers[j].inputs.filter { stage.layers.contains($0) }, at: update, deltas: &deltas, suffix: suffix)
                }
            }
        }
    }

    /// Parameters, velocities and the rule's feedback matrices, live throughout.
    mutating func parameters(rule: TrainingRule) {
        for layer in layers where layer.parameterCount > 0 {
            planner.persistent("W(\(layer.name))", .weights, layer: layer.index, bytes: sizes.bytes(.weights, count: layer.parameterCount))
            planner.persistent("v(\(layer.name))", .optimiserState, layer: layer.index,
                               bytes: sizes.bytes(.optimiserState, count: layer.trainableCount))
        }
        let needs = network.needsDelta
        switch rule {
        case .pepita, .pepitaSign, .pepitaMemorySaving:
            planner.persistent("F", .projection, layer: nil, bytes: sizes.bytes(.projection, count: network.inputCount * network.outputCount))
        case .fa:
            for layer in layers where layer.kind.isWeighted && layer.inputs.contains(where: { $0 >= 0 && needs[$0] }) {
                planner.persistent("B(\(layer.name))", .projection, layer: layer.index, bytes: sizes.bytes(.projection, count: layer.weightCount))
            }
        case .dfa:
            for stage in network.stages where stage.end != last {
                planner.persistent("D(\(layers[stage.weightedLayer].name))", .projection, layer: stage.end,
                                   bytes: sizes.bytes(.projection, count: network.outputCount * layers[stage.end].outputCount))
            }
        case .bp, .forwardForward:
            break
        }
    }
}
