import EngineCost
import HWModel
import PepitaEngine
import Quantized

/// `pepita-edge cost --check`: runs one real training step per rule and
/// precision with the engine's counters on and prints the analytic counts
/// (`CostModel.operations`) beside the counted ones, phase by phase and layer
/// by layer, then the parameter traffic both count alike (`CostAgreement`).
/// Ends with "equal" or the first difference; a difference exits non-zero.
enum CostCheck {
    /// One rule and precision, as the JSON document carries it.
    struct Result: Encodable {
        var model: String
        var rule: TrainingRule
        var precision: String
        var batch: Int
        var dropoutKeep: Double
        var equal: Bool
        var differences: [String]
        var operations: [CostAgreement.OperationRow]
        var traffic: [CostAgreement.TrafficRow]
    }

    struct Document: Encodable {
        var schemaVersion = 1
        var tool = "pepita-edge cost --check"
        var results: [Result]
    }

    /// The largest batch `--check` runs (4096): the step is real, its tensors
    /// are allocated, and agreement is shown as well by a small batch as a large one.
    static let largestBatch = 4096

    /// The most float values a checked step may hold (2^28, 1 GiB of float32):
    /// the parameters (weights, velocities, feedback) and the batch's activations.
    static let largestStepValues = Double(1 << 28)

    /// Refuses a network and batch whose real step would not fit `largestStepValues`.
    static func checkFits(network: NetworkShape, batch: Int) throws {
        try network.checkCountable()
        let perSample = Double(network.inputCount) + network.layers.reduce(0.0) { $0 + 2 * Double($1.activatedCount) }
        let values = 3 * Double(network.parameterCount) + Double(batch) * perSample
        if values > largestStepValues {
            throw UsageError("--check runs a real training step in memory: \(network.name) at batch \(batch) needs about "
                             + "\(Int(values)) float values, more than the 2^28 (1 GiB) limit; use a smaller --batch or --input")
        }
    }

    static func run(architecture: Architecture, rules: [TrainingRule], precisions: [PrecisionConfig], batch: Int,
                    dropoutKeep: Double, lastLayerError: PepitaLastLayerError?, format: OutputFormat, outPath: String?) throws {
        var results: [Result] = []
        for precision in precisions {
            for rule in rules {
                let step = CountedStep(architecture: architecture, rule: try engineRule(rule), precision: precision,
                                       batch: batch, dropoutKeep: Float(dropoutKeep),
                                       lastLayerError: lastLayerError.map { LastLayerError(rawValue: $0.rawValue)! })
                let agreement = try CostAgreement(step: step)
                results.append(Result(model: architecture.name, rule: rule, precision: precision.name, batch: batch,
                                      dropoutKeep: dropoutKeep, equal: agreement.isEqual, differences: agreement.differences,
                                      operations: agreement.operations, traffic: agreement.traffic))
            }
        }
        try OutputFormat.emit(format == .json ? try jsonText(Document(results: results)) : render(results, format), to: outPath)
        if let first = results.first(where: { !$0.equal }) {
            throw CheckFailed(description: "analytic and counted differ (\(first.rule.rawValue), \(first.precision)): \(first.differences[0])")
        }
    }

    /// The engine's rule for a cost-model rule; the caller has refused the others.
    static func engineRule(_ rule: TrainingRule) throws -> RuleKind {
        guard let kind = RuleKind(rawValue: rule.rawValue) else {
            throw UsageError("--check runs the engine's rules, not \(rule.rawValue)")
        }
        return kind
    }

    static func render(_ results: [Result], _ format: OutputFormat) -> String {
        let operations = TextTable(
            header: ["rule", "precision", "phase", "layer", "analytic", "counted", "check"],
            rows: results.flatMap { result in
                result.operations.map {
                    [result.rule.rawValue, result.precision, $0.phase.rawValue, $0.layer.map(String.init) ?? "-",
                     CostAgreement.describe($0.analytic), CostAgreement.describe($0.counted), $0.isEqual ? "equal" : "DIFFERENT"]
                }
            })
        let traffic = TextTable(
            header: ["rule", "precision", "phase", "data", "analytic read/written bytes", "counted read/written bytes", "check"],
            rows: results.flatMap { result in
                result.traffic.map {
                    [result.rule.rawValue, result.precision, $0.phase.rawValue, $0.kind.rawValue,
                     "\($0.analyticBytesRead)/\($0.analyticBytesWritten)", "\($0.countedBytesRead)/\($0.countedBytesWritten)",
                     $0.isEqual ? "equal" : "DIFFERENT"]
                }
            })
        let verdicts = results.map { result in
            "\(result.model) \(result.rule.rawValue) \(result.precision), batch \(result.batch), dropout keep \(result.dropoutKeep): "
                + (result.equal ? "equal (\(result.operations.count) phase/layer rows, \(result.traffic.count) traffic rows)"
                                : "DIFFERENT: \(result.differences[0])")
        }
        let note = """
            Analytic: CostModel.operations and CostModel.traffic. Counted: one training step on a synthetic batch \
            with the engine's kernel counters on. Traffic is compared for weights, F / feedback matrices and \
            velocities; the engine's activation and error traffic follows the CPU's passes, not the fused dataflow \
            the model assumes (see CostModel.dataflowAssumption).
            """
        switch format {
        case .csv: return operations.csv + "\n" + traffic.csv
        case .md: return operations.markdown + "\n" + traffic.markdown + "\n" + verdicts.map { "- " + $0 }.joined(separator: "\n") + "\n\n" + note + "\n"
        default: return operations.aligned + "\n" + traffic.aligned + "\n" + verdicts.joined(separator: "\n") + "\n\n" + note + "\n"
        }
    }
}

/// The check ran and found a difference: one line, exit status 1.
struct CheckFailed: Error, CustomStringConvertible {
    var description: String
}
