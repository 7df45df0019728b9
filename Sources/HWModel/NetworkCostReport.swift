import Quantized

/// What every rule costs on one described network, side by side: counts by
/// phase and layer, traffic, peak storage under both assumptions, placement,
/// energy and roofline latency, with the inputs and assumptions in full
/// (STYLE 9). Encodes to JSON; the CLI renders it as table, CSV or Markdown.
public struct NetworkCostReport: Encodable, Equatable, Sendable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var inputs: NetworkCostInputs
    /// `(key, text)` pairs: counting, dataflow, storage, each rule's schedule, placement, pricing, roofline, output.
    public var assumptions: [Assumption]
    public var rules: [RuleCost]
    public var layers: [LayerCost]
}

public struct Assumption: Codable, Equatable, Sendable {
    public var key: String
    public var text: String
}

public struct NetworkCostInputs: Encodable, Equatable, Sendable {
    public var network: NetworkDescription
    /// `12 classes` or `reconstruction of 640 values`.
    public var output: String
    public var parameterCount: Int
    public var trainableCount: Int
    public var forwardMACsPerSample: Int
    public var batch: Int
    /// Keep probability of dropout after hidden dense stages; 1 is off.
    public var dropoutKeep: Double
    public var precisionName: String
    public var elementSizes: ElementSizes
    public var profileName: String
    public var profileDescription: String
    public var clockHz: Double
}

/// One rule on the network.
public struct RuleCost: Encodable, Equatable, Sendable {
    public var rule: TrainingRule
    public var operations: StepOperations
    public var traffic: StepTraffic
    public var storage: NetworkStorage
    /// Placement of the peak under buffer reuse.
    public var placement: MemoryPlacement
    public var phases: [PhaseCost]
    public var perStep: CostFigures
    /// `perStep / batch`.
    public var perSample: CostFigures
    public var perSampleByPhase: [PhaseFigures]
}

/// One layer: its shape and what each rule spends on it.
public struct LayerCost: Encodable, Equatable, Sendable {
    public var index: Int
    public var name: String
    public var type: String
    public var outputShape: String
    public var parameters: Int
    public var forwardMACsPerSample: Int
    /// Bytes of the layer's output per sample at the activation element size.
    public var outputBytesPerSample: Int
    public var rules: [LayerRuleCost]
}

public struct LayerRuleCost: Encodable, Equatable, Sendable {
    public var rule: TrainingRule
    /// MACs per sample of this layer over the whole step (every phase).
    public var macsPerSample: Double
    /// Other operations per sample.
    public var otherOperationsPerSample: Double
    /// Bytes of this layer's buffers live at the reuse peak.
    public var peakBytes: Int
}

extension NetworkCostModel {
    /// Prices every rule of `rules` on `network` for a batch of `batch` in `precision` on `profile`.
    public static func report(network description: NetworkDescription, rules: [TrainingRule], batch: Int,
                              precision: PrecisionConfig, profile: HardwareProfile, dropoutKeep: Double = 1) throws -> NetworkCostReport {
        try profile.validate()
        try checkBatch(batch)
        try checkDropout(dropoutKeep)
        let network = try description.resolve()
        let sizes = try ElementSizes(precision: precision)
        let clockHz = profile.clockHz.value
        let costs = try rules.map { rule -> RuleCost in
            let operations = try self.operations(network: network, rule: rule, batch: batch, sizes: sizes,
                                                 softmax: StepOptions.softmaxMode(for: precision), dropoutKeep: dropoutKeep)
            let traffic = try self.traffic(network: network, rule: rule, batch: batch, sizes: sizes, dropoutKeep: dropoutKeep)
            let storage = try self.storage(network: network, rule: rule, batch: batch, sizes: sizes, dropoutKeep: dropoutKeep)
            let placement = MemoryPlacement(storage: storage.reused, traffic: traffic, profile: profile)
            let phases = try EnergyLatency.price(operations: operations, traffic: traffic, placement: placement,
                                                 precision: precision, profile: profile)
            let perStep = phases.reduce(CostFigures.zero) { $0 + PricedStep.figures($1, clockHz: clockHz) }
            return RuleCost(rule: rule, operations: operations, traffic: traffic, storage: storage, placement: placement,
                            phases: phases, perStep: perStep, perSample: perStep.scaled(by: 1 / Double(batch)),
                            perSampleByPhase: phases.map {
                                PhaseFigures(phase: $0.phase, figures: PricedStep.figures($0, clockHz: clockHz).scaled(by: 1 / Double(batch)))
                            })
        }
        let layers = network.layers.map { layer in
            LayerCost(index: layer.index, name: layer.name, type: layer.kind.typeName, outputShape: layer.outputShape.description,
                      parameters: layer.parameterCount, forwardMACsPerSample: layer.forwardMACsPerSample,
                      outputBytesPerSample: sizes.bytes(.activations, count: layer.outputCount),
                      rules: costs.map { cost in
                          let counts = cost.operations.phases.reduce(OperationCounts.zero) { $0 + $1.layers[layer.index] }
                          return LayerRuleCost(rule: cost.rule, macsPerSample: Double(counts.macs) / Double(batch),
                                               otherOperationsPerSample: Double(counts.otherOperations) / Double(batch),
                                               peakBytes: cost.storage.reused.peakByLayer[layer.index].bytes)
                      })
        }
        let output: String
        switch description.output {
        case let .classes(count): output = "\(count) classes"
        case .reconstruction: output = "reconstruction of \(network.outputCount) values"
        }
        var assumptions = [
            Assumption(key: "counting", text: countingConventions),
            Assumption(key: "output", text: outputText(network)),
            Assumption(key: "dataflow", text: dataflowAssumption),
            Assumption(key: "storage", text: storageAssumptions),
        ]
        for rule in rules { assumptions.append(Assumption(key: "schedule (\(rule.rawValue))", text: scheduleText(rule))) }
        assumptions += [Assumption(key: "placement", text: MemoryPlacement.policy + " Placement uses the peak under buffer reuse."),
                        Assumption(key: "pricing", text: EnergyLatency.pricingAssumption),
                        Assumption(key: "roofline", text: EnergyLatency.rooflineAssumption)]
        return NetworkCostReport(
            schemaVersion: NetworkCostReport.currentSchemaVersion,
            inputs: NetworkCostInputs(network: description, output: output, parameterCount: network.parameterCount,
                                      trainableCount: network.trainableCount, forwardMACsPerSample: network.forwardMACsPerSample,
                                      batch: batch, dropoutKeep: dropoutKeep, precisionName: precision.name, elementSizes: sizes, profileName: profile.name,
                                      profileDescription: profile.description, clockHz: clockHz),
            assumptions: assumptions, rules: costs, layers: layers)
    }

    /// The output error and what PEPITA's `F` and DFA's `D` are sized by.
    static func outputText(_ network: ResolvedNetwork) -> String {
        let inputs = network.inputCount, outputs = network.outputCount
        if network.isClassifier {
            return "Softmax over \(outputs) classes, error e = y - onehot(target); PEPITA's F is n_input x classes = \(inputs) x \(outputs); DFA's D_l is classes x (stage output)."
        }
        return "The output is a reconstruction of the input, not a class: no softmax, error e = y - x over \(outputs) values; PEPITA's F is input size x output size = \(inputs) x \(outputs) (\(inputs * outputs) values); DFA's D_l is output size x (stage output). Forward-Forward is counted the same way, with corrupted inputs as negative data."
    }
}
