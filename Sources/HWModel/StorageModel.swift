/// What a stored buffer holds, for the storage breakdown.
public enum StorageCategory: String, Codable, CaseIterable, Sendable {
    /// `W_l`, live all the time.
    case weights
    /// PEPITA's `F` (`n_input x classes`); FA's `B_l`; DFA's `D_l`. Live all the time.
    case projection
    /// Momentum velocities, one per weight. Live all the time.
    case optimiserState
    /// `x`; PEPITA overwrites it with `x_mod`.
    case inputs
    /// Activations stored for later: PEPITA's first-pass `h_l` (until layer `l`'s
    /// update), BP/FA/DFA's layer outputs (until the backward pass has used them).
    case keptActivations
    /// Activations live only while the next layer consumes them: PEPITA's
    /// modulated-pass `h_l^mod`, pooled first-pass outputs.
    case workingActivations
    /// PEPITA's dropout masks (kept for the second pass), BP's max-pool winner indices.
    case masks
    /// BP/FA/DFA deltas below the output: two layers' worth live at a time.
    case backwardBuffers
    /// `e` and `e_mod`.
    case outputErrors

    /// The kind of data, which sets the element size and the memory placement.
    public var kind: DataKind {
        switch self {
        case .weights: return .weights
        case .projection: return .projection
        case .optimiserState: return .optimiserState
        case .inputs: return .input
        case .keptActivations, .workingActivations: return .activations
        case .masks: return .masks
        case .backwardBuffers, .outputErrors: return .errors
        }
    }
}

/// One buffer of the schedule and the stages during which it is live.
public struct StorageBuffer: Codable, Equatable, Sendable {
    public var name: String
    public var category: StorageCategory
    /// The layer it belongs to; nil for `x`, `F`, `e`.
    public var layer: Int?
    public var bytes: Int
    /// Indices into `StorageProfile.stages`, inclusive.
    public var firstStage: Int
    public var lastStage: Int

    public func isLive(atStage stage: Int) -> Bool { (firstStage...lastStage).contains(stage) }
}

/// Live bytes at one stage of the schedule.
public struct StorageStage: Codable, Equatable, Sendable {
    /// `forward[0]`, `errorProjection`, `modulatedForward[1]`, `update[1]`, `backward[0]`, ...
    public var name: String
    public var liveBytes: Int
}

public struct CategoryBytes: Codable, Equatable, Sendable {
    public var category: StorageCategory
    public var bytes: Int

    public init(category: StorageCategory, bytes: Int) {
        self.category = category
        self.bytes = bytes
    }
}

public struct LayerBytes: Codable, Equatable, Sendable {
    public var layer: Int
    public var bytes: Int
}

/// Peak live storage of one training step under a stated schedule.
public struct StorageProfile: Codable, Equatable, Sendable {
    public var rule: TrainingRule
    public var batch: Int
    /// The schedule the buffers' lifetimes follow, in words.
    public var schedule: String
    public var stages: [StorageStage]
    public var buffers: [StorageBuffer]
    public var peakStage: String
    public var peakBytes: Int
    /// Bytes live at the peak, by category (every category, zeros included, in `StorageCategory` order).
    public var peakByCategory: [CategoryBytes]
    /// Bytes live at the peak that belong to each layer (buffers with a layer only).
    public var peakByLayer: [LayerBytes]

    public subscript(category: StorageCategory) -> Int { peakByCategory.first { $0.category == category }?.bytes ?? 0 }

    /// Bytes live at the peak of each kind of data (what must be placed in memory).
    public var peakByKind: [DataKind: Int] {
        var bytes: [DataKind: Int] = [:]
        for entry in peakByCategory where entry.bytes > 0 { bytes[entry.category.kind, default: 0] += entry.bytes }
        return bytes
    }

    /// Per layer (then the buffers of no layer), the bytes the rule stores
    /// beyond weights and velocities: what to compare between rules layer by layer.
    public var layerStorage: [LayerStorage] {
        let working = buffers.filter { $0.category != .weights && $0.category != .optimiserState }
        let layers = orderedLayers(working)
        let peakIndex = stages.firstIndex { $0.name == peakStage } ?? 0
        return layers.map { layer in
            let own = working.filter { $0.layer == layer }
            let live = stages.indices.map { stage in own.filter { $0.isLive(atStage: stage) }.reduce(0) { $0 + $1.bytes } }
            let largest = live.indices.max { live[$0] < live[$1] } ?? 0
            return LayerStorage(
                layer: layer, bufferNames: own.map(\.name),
                bytesByCategory: StorageCategory.allCases.compactMap { category in
                    let bytes = own.filter { $0.category == category }.reduce(0) { $0 + $1.bytes }
                    return bytes > 0 ? CategoryBytes(category: category, bytes: bytes) : nil
                },
                largestLiveBytes: live.isEmpty ? 0 : live[largest], largestLiveStage: stages.isEmpty ? "" : stages[largest].name,
                bytesAtPeak: live.isEmpty ? 0 : live[peakIndex])
        }
    }

    /// Layers 0, 1, ... that own a buffer, then nil if some buffer belongs to no layer.
    private func orderedLayers(_ buffers: [StorageBuffer]) -> [Int?] {
        let numbered = Set(buffers.compactMap(\.layer)).sorted().map { Optional($0) }
        return numbered + (buffers.contains { $0.layer == nil } ? [nil] : [])
    }

    /// The buffers live at the peak.
    public var peakBuffers: [StorageBuffer] {
        guard let index = stages.firstIndex(where: { $0.name == peakStage }) else { return [] }
        return buffers.filter { $0.isLive(atStage: index) }
    }
}

/// One layer's share of a step's storage: where a rule spends bytes on a layer
/// beyond its weights and velocities (which every rule stores alike), so that
/// PEPITA and BP can be compared layer by layer. `layer` nil gathers the
/// buffers of no layer (`x`/`x_mod`, `F`, `e`, `e_mod`).
public struct LayerStorage: Codable, Equatable, Sendable {
    public var layer: Int?
    /// Names of the layer's buffers other than `W_l` and `v_l`.
    public var bufferNames: [String]
    /// Bytes of those buffers by category, each at its size whatever its lifetime (non-zero categories only).
    public var bytesByCategory: [CategoryBytes]
    /// The largest total of those buffers live at one stage of the step.
    public var largestLiveBytes: Int
    /// The stage where that total is reached (the first such).
    public var largestLiveStage: String
    /// Their bytes live at the step's peak stage.
    public var bytesAtPeak: Int
}

/// Peak live storage of a training step (SPEC §5, issue 4 item 3): which
/// buffers exist, when they are allocated and freed under the stated schedule,
/// and the largest total over the step. This is where "no backward pass" shows
/// or does not: PEPITA stores no deltas and no pool winners, but it keeps every
/// hidden layer's first-pass activation (before pooling) until the modulated
/// pass reaches that layer, holds `h` and `h_mod` together at each update,
/// keeps the dropout masks for its second pass, and stores `F`.
public enum StorageModel {
    public static let pepitaSchedule = """
        Pass 1 keeps every hidden layer's activation h_l (before pooling, the size the update needs) and its \
        dropout mask; x is kept and overwritten in place by x_mod = x + e F^T. The modulated pass then runs layer \
        by layer and updates each layer as soon as h_l^mod exists: dW_l = (h_l - h_l^mod)^T h_{l-1}^mod, the \
        momentum step for W_l, then h_l, the mask and h_{l-1}^mod (x_mod for layer 0) are freed; a pooling layer's \
        h_l^mod is pooled after its update, when layer l+1 reads it. \
        The last layer uses e_mod (or the first-pass e, which then stays live until that update). \
        Weights, F and velocities are live throughout; no dW is stored (fused into the momentum step).
        """

    public static let backpropSchedule = """
        The forward pass keeps x and every hidden layer's output (after pooling) plus, for pooling layers, the \
        2-bit winner index of each pooled value; pre-pool outputs are pooled in the output stage and not stored; \
        the ReLU/dropout derivative is read from the stored output (h > 0; for a pooled layer at the winners). \
        The backward pass runs from the top: at layer l it forms dW_l = delta_l^T h_l, steps W_l's momentum, \
        then sends delta_{l-1} down (BP: delta_l W_l, \
        FA: delta_l B_l, DFA: e D_{l-1}) at layer l-1's pre-pool size, so two layers' deltas are live at a time \
        (DFA forms e D_{l-1} at layer l-1's own stage instead, one delta at a time, keeping e and layer l-1's \
        output until then); h_l, its winners and delta_l are freed after layer l. \
        Weights, feedback matrices and velocities are live throughout; no dW is stored.
        """

    public static func schedule(for rule: TrainingRule) -> String { rule.isPepita ? pepitaSchedule : backpropSchedule }

    /// The buffers of one step and the peak of their live total.
    public static func peak(network: NetworkShape, rule: TrainingRule, batch: Int, sizes: ElementSizes,
                            options: StepOptions = StepOptions()) throws -> StorageProfile {
        try CostModel.checkInputs(network: network, rule: rule, batch: batch, options: options)
        let (stageNames, buffers) = rule.isPepita
            ? pepitaBuffers(network: network, batch: batch, sizes: sizes, options: options)
            : backpropBuffers(network: network, rule: rule, batch: batch, sizes: sizes)
        let stages = stageNames.indices.map { index in
            StorageStage(name: stageNames[index],
                         liveBytes: buffers.filter { $0.isLive(atStage: index) }.reduce(0) { $0 + $1.bytes })
        }
        // The first stage with the largest total (`max(by:)` keeps the first of equals).
        let peakIndex = stages.indices.max { stages[$0].liveBytes < stages[$1].liveBytes }!
        let live = buffers.filter { $0.isLive(atStage: peakIndex) }
        let byCategory = StorageCategory.allCases.map { category in
            CategoryBytes(category: category, bytes: live.filter { $0.category == category }.reduce(0) { $0 + $1.bytes })
        }
        let byLayer = network.layers.indices.map { layer in
            LayerBytes(layer: layer, bytes: live.filter { $0.layer == layer }.reduce(0) { $0 + $1.bytes })
        }
        return StorageProfile(rule: rule, batch: batch, schedule: schedule(for: rule), stages: stages, buffers: buffers,
                              peakStage: stageNames[peakIndex], peakBytes: stages[peakIndex].liveBytes,
                              peakByCategory: byCategory, peakByLayer: byLayer)
    }

    /// Weights and velocities, live at every stage.
    static func persistentBuffers(network: NetworkShape, sizes: ElementSizes, lastStage: Int) -> [StorageBuffer] {
        network.layers.enumerated().flatMap { l, layer in [
            StorageBuffer(name: "W\(l)", category: .weights, layer: l, bytes: sizes.bytes(.weights, count: layer.weightCount),
                          firstStage: 0, lastStage: lastStage),
            StorageBuffer(name: "v\(l)", category: .optimiserState, layer: l,
                          bytes: sizes.bytes(.optimiserState, count: layer.weightCount), firstStage: 0, lastStage: lastStage),
        ] }
    }

    /// Stages: `forward[l]` (0..L-1), `errorProjection` (L), then per layer
    /// `modulatedForward[l]` (L+1+2l) and `update[l]` (L+2+2l).
    static func pepitaBuffers(network: NetworkShape, batch B: Int, sizes: ElementSizes,
                              options: StepOptions) -> ([String], [StorageBuffer]) {
        let layers = network.layers, L = layers.count
        let forward = { (l: Int) in l }
        let projection = L
        let modulated = { (l: Int) in L + 1 + 2 * l }
        let update = { (l: Int) in L + 2 + 2 * l }
        let names = (0..<L).map { "forward[\($0)]" } + ["errorProjection"]
            + (0..<L).flatMap { ["modulatedForward[\($0)]", "update[\($0)]"] }
        let end = names.count - 1

        var buffers = persistentBuffers(network: network, sizes: sizes, lastStage: end)
        buffers.append(StorageBuffer(name: "F", category: .projection, layer: nil,
                                     bytes: sizes.bytes(.projection, count: network.inputCount * network.classes),
                                     firstStage: 0, lastStage: end))
        buffers.append(StorageBuffer(name: "x, then x_mod in place", category: .inputs, layer: nil,
                                     bytes: sizes.bytes(.input, count: B * network.inputCount),
                                     firstStage: forward(0), lastStage: update(0)))
        for (l, layer) in layers.enumerated().dropLast() {
            let h = "h\(l + 1)"
            let activated = sizes.bytes(.activations, count: B * layer.activatedCount)
            let pooled = sizes.bytes(.activations, count: B * layer.outputCount)
            buffers.append(StorageBuffer(name: layer.pools ? "\(h) (pass 1, before pooling)" : "\(h) (pass 1)",
                                         category: .keptActivations, layer: l, bytes: activated,
                                         firstStage: forward(l), lastStage: update(l)))
            if layer.pools {
                buffers.append(StorageBuffer(name: "\(h) pooled (pass 1)", category: .workingActivations, layer: l,
                                             bytes: pooled, firstStage: forward(l), lastStage: forward(l + 1)))
                // The update reads h_mod before pooling; it is pooled after the update, when the next layer reads it.
                buffers.append(StorageBuffer(name: "\(h)_mod (before pooling)", category: .workingActivations, layer: l,
                                             bytes: activated, firstStage: modulated(l), lastStage: modulated(l + 1)))
                buffers.append(StorageBuffer(name: "\(h)_mod pooled", category: .workingActivations, layer: l,
                                             bytes: pooled, firstStage: modulated(l + 1), lastStage: update(l + 1)))
            } else {
                buffers.append(StorageBuffer(name: "\(h)_mod", category: .workingActivations, layer: l,
                                             bytes: activated, firstStage: modulated(l), lastStage: update(l + 1)))
            }
            if !layer.isConvolution && options.usesDropout {
                buffers.append(StorageBuffer(name: "dropout mask \(l)", category: .masks, layer: l,
                                             bytes: sizes.maskBytes(count: B * layer.fanOut, bits: sizes.dropoutMaskBits),
                                             firstStage: forward(l), lastStage: modulated(l)))
            }
        }
        let errorBytes = sizes.bytes(.errors, count: B * network.classes)
        let firstPassErrorUsedLast = options.lastLayerError(for: network) == .firstPass
        buffers.append(StorageBuffer(name: "e", category: .outputErrors, layer: nil, bytes: errorBytes,
                                     firstStage: forward(L - 1), lastStage: firstPassErrorUsedLast ? update(L - 1) : projection))
        buffers.append(StorageBuffer(name: "e_mod", category: .outputErrors, layer: nil, bytes: errorBytes,
                                     firstStage: modulated(L - 1),
                                     lastStage: firstPassErrorUsedLast ? modulated(L - 1) : update(L - 1)))
        return (names, buffers)
    }

    /// Stages: `forward[l]` (0..L-1), then `backward[l]` from the top (`backward[L-1]` is stage L,
    /// `backward[0]` stage 2L-1), each forming dW_l, stepping W_l and sending delta_{l-1} down.
    static func backpropBuffers(network: NetworkShape, rule: TrainingRule, batch B: Int,
                                sizes: ElementSizes) -> ([String], [StorageBuffer]) {
        let layers = network.layers, L = layers.count
        let forward = { (l: Int) in l }
        let backward = { (l: Int) in L + (L - 1 - l) }
        let names = (0..<L).map { "forward[\($0)]" } + (0..<L).reversed().map { "backward[\($0)]" }
        let end = names.count - 1

        var buffers = persistentBuffers(network: network, sizes: sizes, lastStage: end)
        for (l, layer) in layers.enumerated() {
            if rule == .fa && l >= 1 {
                buffers.append(StorageBuffer(name: "B\(l)", category: .projection, layer: l,
                                             bytes: sizes.bytes(.projection, count: layer.weightCount), firstStage: 0, lastStage: end))
            }
            if rule == .dfa && l < L - 1 {
                buffers.append(StorageBuffer(name: "D\(l)", category: .projection, layer: l,
                                             bytes: sizes.bytes(.projection, count: network.classes * layer.outputCount),
                                             firstStage: 0, lastStage: end))
            }
        }
        buffers.append(StorageBuffer(name: "x", category: .inputs, layer: nil,
                                     bytes: sizes.bytes(.input, count: B * network.inputCount),
                                     firstStage: forward(0), lastStage: backward(0)))
        // Layer l's output is read for dW_{l+1} and for its ReLU derivative where delta_l is formed:
        // at backward[l+1], or at backward[l] for DFA.
        let derivativeRead = { (l: Int) in rule == .dfa ? backward(l) : backward(l + 1) }
        for (l, layer) in layers.enumerated().dropLast() {
            buffers.append(StorageBuffer(name: layer.pools ? "h\(l + 1) (pooled)" : "h\(l + 1)", category: .keptActivations,
                                         layer: l, bytes: sizes.bytes(.activations, count: B * layer.outputCount),
                                         firstStage: forward(l), lastStage: derivativeRead(l)))
            if layer.pools {
                buffers.append(StorageBuffer(name: "pool winners \(l)", category: .masks, layer: l,
                                             bytes: sizes.maskBytes(count: B * layer.outputCount, bits: sizes.poolWinnerBits),
                                             firstStage: forward(l), lastStage: derivativeRead(l)))
            }
        }
        buffers.append(StorageBuffer(name: "e (= delta\(L - 1))", category: .outputErrors, layer: nil,
                                     bytes: sizes.bytes(.errors, count: B * network.classes), firstStage: forward(L - 1),
                                     lastStage: rule == .dfa ? backward(0) : backward(L - 1)))
        for l in stride(from: L - 1, through: 1, by: -1) {
            let below = layers[l - 1]
            // DFA's e D_{l-1} needs nothing from layer l: it is formed at layer l-1's own stage.
            buffers.append(StorageBuffer(name: "delta\(l - 1)", category: .backwardBuffers, layer: l - 1,
                                         bytes: sizes.bytes(.errors, count: B * below.activatedCount),
                                         firstStage: rule == .dfa ? backward(l - 1) : backward(l), lastStage: backward(l - 1)))
        }
        return (names, buffers)
    }
}
