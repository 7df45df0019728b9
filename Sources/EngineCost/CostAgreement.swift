import HWModel
import PepitaEngine
import Quantized

/// HWModel's analytic counts of one step beside the counts the engine's
/// kernels recorded running that step (`CountedStep`), phase by phase and
/// layer by layer, and the parameter traffic both claim.
///
/// Operations must be equal exactly, in every category. Traffic is compared
/// for the data both describe the same way — weights, F / feedback matrices
/// and velocities, read once per product or optimiser pass that uses them.
/// Activations, errors and inputs are not compared: the model's dataflow
/// (`CostModel.dataflowAssumption`) fuses ReLU, dropout, pooling and softmax
/// into each product's output stage and reads a conv input once (im2col as an
/// address pattern), while the CPU engine writes the raw product (exact sums
/// in fixed point), unfolds the conv input into patches and makes a separate
/// pass for each elementwise step.
public struct CostAgreement {
    /// One phase and layer (nil: outside any layer), analytic beside counted.
    public struct OperationRow: Codable, Equatable, Sendable {
        public var phase: TrainingPhase
        public var layer: Int?
        public var analytic: OperationCounts
        public var counted: OperationCounts
        public var isEqual: Bool { analytic == counted }
    }

    /// Bytes of one kind of data in one phase, analytic beside counted.
    public struct TrafficRow: Codable, Equatable, Sendable {
        public var phase: TrainingPhase
        public var kind: DataKind
        public var analyticBytesRead: Int
        public var analyticBytesWritten: Int
        public var countedBytesRead: Int
        public var countedBytesWritten: Int
        public var isEqual: Bool { analyticBytesRead == countedBytesRead && analyticBytesWritten == countedBytesWritten }
    }

    /// The data kinds whose traffic the engine and the model count alike, with the engine's role for each.
    public static let comparedKinds: [(kind: DataKind, role: TensorRole)] =
        [(.weights, .weights), (.projection, .projection), (.optimiserState, .optimiserState)]

    public var step: CountedStep
    public var network: NetworkShape
    public var rule: TrainingRule
    public var options: StepOptions
    public var analytic: StepOperations
    public var counted: RecordedOperations
    public var operations: [OperationRow]
    public var traffic: [TrafficRow]

    /// Runs `step` with the counters on and counts the same step analytically.
    public init(step: CountedStep) throws {
        guard let rule = TrainingRule(rawValue: step.rule.rawValue) else {
            throw ConfigError(message: "rule \(step.rule.rawValue): not known to the cost model")
        }
        let network = NetworkShape(step.architecture)
        var options = StepOptions(dropoutKeep: Double(step.dropoutKeep), softmax: StepOptions.softmaxMode(for: step.precision))
        if rule.isPepita {
            options.pepitaLastLayerError = PepitaLastLayerError(
                rawValue: (step.lastLayerError ?? step.architecture.defaultLastLayerError).rawValue)
        }
        let analytic = try CostModel.operations(network: network, rule: rule, batch: step.batch, options: options)
        let analyticTraffic = try CostModel.traffic(network: network, rule: rule, batch: step.batch,
                                                    sizes: try ElementSizes(precision: step.precision), options: options)
        let counted = try step.run()
        self.step = step
        self.network = network
        self.rule = rule
        self.options = options
        self.analytic = analytic
        self.counted = counted
        operations = Self.operationRows(analytic: analytic, counted: counted)
        traffic = Self.trafficRows(analytic: analyticTraffic, counted: counted)
    }

    public var isEqual: Bool { operations.allSatisfy(\.isEqual) && traffic.allSatisfy(\.isEqual) }

    /// Every disagreement as a line, `phase layer N: analytic ... counted ...`; empty when equal.
    public var differences: [String] {
        operations.filter { !$0.isEqual }.map {
            "\($0.phase.rawValue) \($0.layer.map { "layer \($0)" } ?? "outside layers"): analytic \(Self.describe($0.analytic)), counted \(Self.describe($0.counted))"
        } + traffic.filter { !$0.isEqual }.map {
            "\($0.phase.rawValue) \($0.kind.rawValue) bytes: analytic read \($0.analyticBytesRead) written \($0.analyticBytesWritten), counted read \($0.countedBytesRead) written \($0.countedBytesWritten)"
        }
    }

    /// `macs=.. adds=.. ...`, zero categories left out.
    public static func describe(_ counts: OperationCounts) -> String {
        let parts = [("macs", counts.macs), ("adds", counts.adds), ("multiplies", counts.multiplies),
                     ("compares", counts.compares), ("exps", counts.exps), ("divides", counts.divides)]
            .filter { $0.1 != 0 }.map { "\($0.0)=\($0.1)" }
        return parts.isEmpty ? "0" : parts.joined(separator: " ")
    }

    public static func operationRows(analytic: StepOperations, counted: RecordedOperations) -> [OperationRow] {
        var rows: [OperationRow] = []
        for phase in TrainingPhase.allCases {
            let model = analytic[phase]
            let engine = counted.phases.first { $0.phase.rawValue == phase.rawValue }
            guard model != nil || engine != nil else { continue }
            let layers = max(model?.layers.count ?? 0, engine?.layers.count ?? 0)
            for layer in 0..<layers {
                rows.append(OperationRow(phase: phase, layer: layer,
                                         analytic: model.flatMap { layer < $0.layers.count ? $0.layers[layer] : nil } ?? .zero,
                                         counted: engine.flatMap { layer < $0.layers.count ? OperationCounts($0.layers[layer]) : nil } ?? .zero))
            }
            let outsideModel = model?.outsideLayers ?? .zero
            let outsideEngine = engine.map { OperationCounts($0.outsideLayers) } ?? .zero
            if outsideModel != .zero || outsideEngine != .zero {
                rows.append(OperationRow(phase: phase, layer: nil, analytic: outsideModel, counted: outsideEngine))
            }
        }
        return rows
    }

    public static func trafficRows(analytic: StepTraffic, counted: RecordedOperations) -> [TrafficRow] {
        var rows: [TrafficRow] = []
        for phase in TrainingPhase.allCases {
            let model = analytic[phase]
            let engine = counted.phases.first { $0.phase.rawValue == phase.rawValue }?.traffic
            guard model != nil || engine != nil else { continue }
            for (kind, role) in comparedKinds {
                let row = TrafficRow(phase: phase, kind: kind,
                                     analyticBytesRead: model?[kind].bytesRead ?? 0,
                                     analyticBytesWritten: model?[kind].bytesWritten ?? 0,
                                     countedBytesRead: engine?.bytesRead[role] ?? 0,
                                     countedBytesWritten: engine?.bytesWritten[role] ?? 0)
                if row.analyticBytesRead + row.analyticBytesWritten + row.countedBytesRead + row.countedBytesWritten > 0 {
                    rows.append(row)
                }
            }
        }
        return rows
    }
}

extension OperationCounts {
    /// The engine's tally in HWModel's categories (the same six).
    public init(_ tally: OperationTally) {
        self.init(macs: tally.macs, adds: tally.adds, multiplies: tally.multiplies, compares: tally.compares,
                  exps: tally.exps, divides: tally.divides)
    }
}
