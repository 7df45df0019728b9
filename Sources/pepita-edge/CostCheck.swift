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

    static func run(architecture: Architecture, rules: [TrainingRule], precisions: [PrecisionConfig], batch: Int,
                    dropoutKeep: Double, lastLayerError: PepitaLastLayerError?, format: OutputFormat, outPath: String?) throws {
        var results: [Result] = []
        for precision in precisions {
            for rule in rules {
                let step = CountedStep(architecture: architecture, rule: RuleKind(rawValue: rule.rawValue)!, precision: precision,
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
