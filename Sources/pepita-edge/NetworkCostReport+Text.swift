import Foundation
import HWModel
import Quantized

/// `cost --network`'s reports as text: per training sample, every rule side by
/// side with ratios to BP (MACs by phase, activation bytes and peak RAM under
/// both storage assumptions, energy, latency), with `--per-layer` the same by
/// layer, then the inputs and assumptions. CSV is one row per rule (per layer
/// and rule with `--per-layer`), raw units. Only formatting happens here.
struct NetworkCostText {
    var reports: [NetworkCostReport]
    var perLayer: Bool
    var profile: HardwareProfile
    var profileFile: String

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .csv: return csv
        case .md:
            return sections.map { "**\($0.title)**\n\n" + $0.table.markdown }.joined(separator: "\n")
                + "\n**Inputs and assumptions**\n\n" + assumptions.map { "- **\($0.key)**: \($0.text)\n" }.joined()
        case .table, .json, .html:  // json and html never reach here: CostCommand writes JSON itself and refuses html
            return sections.map { $0.title + "\n" + $0.table.aligned }.joined(separator: "\n")
                + "\nInputs and assumptions\n" + assumptions.map { "  \($0.key): \($0.text)\n" }.joined()
        }
    }

    var sections: [CostText.Section] {
        reports.flatMap { report in [perSampleSection(report)] + (perLayer ? layerSections(report) : []) }
    }

    /// Phases with MACs that some rule has, in step order.
    func productPhases(_ report: NetworkCostReport) -> [TrainingPhase] {
        TrainingPhase.allCases.filter { phase in phase != .optimiser && report.rules.contains { $0.rule.phases.contains(phase) } }
    }

    /// `value(cost) / value(BP)`; nil without a BP rule (or a zero BP value).
    func ratioValue(_ report: NetworkCostReport, _ cost: RuleCost, _ value: (RuleCost) -> Double) -> Double? {
        guard let bp = report.rules.first(where: { $0.rule == .bp }), value(bp) != 0 else { return nil }
        return value(cost) / value(bp)
    }

    func ratio(_ report: NetworkCostReport, _ cost: RuleCost, _ value: (RuleCost) -> Double) -> String {
        CostText.ratioText(ratioValue(report, cost, value))
    }

    func perSampleSection(_ report: NetworkCostReport) -> CostText.Section {
        let inputs = report.inputs
        let unit = EnergyUnit(fitting: report.rules.map(\.perSample.energyPicojoules))
        let phases = productPhases(report)
        var header = ["rule"] + phases.map { CostText.phaseTitle($0) + " MACs" }
        header += ["MACs", "other ops", "activations kept (B)", "activations reused (B)", "peak RAM kept (B)",
                   "peak RAM reused (B)", "on chip", "energy (\(unit.name))", "latency (cycles)", "latency (ms)"]
        let hasBP = report.rules.contains { $0.rule == .bp }
        if hasBP { header += ["MACs vs BP", "peak kept vs BP", "peak reused vs BP", "energy vs BP", "latency vs BP"] }
        let rows = report.rules.map { cost -> [String] in
            var row = [cost.rule.rawValue]
            row += phases.map { phase in
                cost.perSampleByPhase.first { $0.phase == phase }.map { humanNumber($0.figures.macs) } ?? "-"
            }
            row += [humanNumber(cost.perSample.macs), humanNumber(cost.perSample.otherOperations),
                    humanNumber(Double(cost.storage.allKeptActivationBytes)), humanNumber(Double(cost.storage.reusedActivationBytes)),
                    humanNumber(Double(cost.storage.allKeptBytes)), humanNumber(Double(cost.storage.reusedBytes)),
                    cost.placement.fitsOnChip ? "yes (\(cost.placement.servingLevel))" : "no: \(humanNumber(Double(cost.placement.spilledBytes))) B spill",
                    humanNumber(cost.perSample.energyPicojoules / unit.picojoules, significant: 4),
                    humanNumber(cost.perSample.latencyCycles, significant: 4),
                    humanNumber(cost.perSample.latencySeconds * 1000, significant: 4)]
            if hasBP {
                row += [ratio(report, cost) { $0.perSample.macs }, ratio(report, cost) { Double($0.storage.allKeptBytes) },
                        ratio(report, cost) { Double($0.storage.reusedBytes) }, ratio(report, cost) { $0.perSample.energyPicojoules },
                        ratio(report, cost) { $0.perSample.latencyCycles }]
            }
            return row
        }
        let peakNote = inputs.batch == 1 ? "peak RAM per step of 1 sample" : "peak RAM per step of \(inputs.batch) samples"
        return CostText.Section(
            title: "\(inputs.network.name), \(inputs.precisionName), on \(inputs.profileName): per training sample (MACs, energy, latency = one step / \(inputs.batch); \(peakNote))",
            table: TextTable(header: header, rows: rows))
    }

    func layerSections(_ report: NetworkCostReport) -> [CostText.Section] {
        let rules = report.rules.map(\.rule)
        let macs = TextTable(
            header: ["#", "layer", "type", "output", "params", "forward MACs"] + rules.map { "\($0.rawValue) MACs" },
            rows: report.layers.map { layer in
                [String(layer.index), layer.name, layer.type, layer.outputShape, humanNumber(Double(layer.parameters)),
                 humanNumber(Double(layer.forwardMACsPerSample))] + layer.rules.map { humanNumber($0.macsPerSample) }
            })
        let bytes = TextTable(
            header: ["#", "layer", "output (B/sample)"] + rules.map { "\($0.rawValue) at peak (B)" },
            rows: report.layers.map { layer in
                [String(layer.index), layer.name, humanNumber(Double(layer.outputBytesPerSample))]
                    + layer.rules.map { humanNumber(Double($0.peakBytes)) }
            })
        return [CostText.Section(title: "By layer: MACs per training sample over the whole step", table: macs),
                CostText.Section(title: "By layer: bytes of the layer's buffers live at each rule's peak (buffers reused)", table: bytes)]
    }

    var assumptions: [(key: String, text: String)] {
        guard let first = reports.first else { return [] }
        let inputs = first.inputs
        var lines: [(key: String, text: String)] = [
            ("network", "\(inputs.network.name): input \(inputs.network.input), \(inputs.output); \(inputs.network.layers.count) layers; "
                + "\(humanNumber(Double(inputs.parameterCount))) parameters (\(humanNumber(Double(inputs.trainableCount))) trainable); "
                + "\(humanNumber(Double(inputs.forwardMACsPerSample))) forward MACs per sample"),
        ]
        if let source = inputs.network.source { lines.append(("source", source)) }
        lines.append(("batch", "\(inputs.batch) sample(s) per step; per-sample figures are the step's divided by \(inputs.batch)"))
        lines.append(("dropout", inputs.dropoutKeep < 1
            ? "keep \(inputs.dropoutKeep) after each hidden dense layer (one multiply per element in each forward pass and backward step)"
            : "off"))
        for report in reports {
            let sizes = report.inputs.elementSizes
            lines.append(("precision \(report.inputs.precisionName)",
                          "bytes per element: weights \(sizes.weightBytes), feedback \(sizes.projectionBytes), velocities \(sizes.optimiserStateBytes), "
                          + "input \(sizes.inputBytes), activations \(sizes.activationBytes), errors \(sizes.errorBytes)"))
        }
        lines.append(("profile", "\(inputs.profileName) (\(profileFile)), clock \(clockText(inputs.clockHz)): \(inputs.profileDescription)"))
        for note in profile.notes ?? [] { lines.append(("profile note", note)) }
        lines += first.assumptions.map { ($0.key, $0.text) }
        return lines
    }

    var csv: String {
        let phases = TrainingPhase.allCases.filter { $0 != .optimiser }
        if perLayer {
            let header = ["network", "precision", "rule", "layer_index", "layer", "type", "output_shape", "parameters",
                          "forward_macs_per_sample", "macs_per_sample", "other_ops_per_sample", "peak_bytes_reused"]
            let rows = reports.flatMap { report in
                report.layers.flatMap { layer in
                    layer.rules.map { cost in
                        [report.inputs.network.name, report.inputs.precisionName, cost.rule.rawValue, String(layer.index), layer.name,
                         layer.type, layer.outputShape, String(layer.parameters), String(layer.forwardMACsPerSample),
                         csvNumber(cost.macsPerSample), csvNumber(cost.otherOperationsPerSample), String(cost.peakBytes)]
                    }
                }
            }
            return TextTable(header: header, rows: rows).csv
        }
        var header = ["network", "precision", "profile", "batch", "rule"] + phases.map { snakeCase($0.rawValue) + "_macs_per_sample" }
        header += ["macs_per_sample", "other_ops_per_sample", "activation_bytes_kept", "activation_bytes_reused",
                   "peak_bytes_kept", "peak_bytes_reused", "peak_stage_reused", "fits_on_chip", "energy_pj_per_sample",
                   "latency_cycles_per_sample", "macs_vs_bp", "peak_kept_vs_bp", "peak_reused_vs_bp", "energy_vs_bp", "latency_vs_bp"]
        let rows = reports.flatMap { report in
            report.rules.map { cost -> [String] in
                var row = [report.inputs.network.name, report.inputs.precisionName, report.inputs.profileName,
                           String(report.inputs.batch), cost.rule.rawValue]
                row += phases.map { phase in cost.perSampleByPhase.first { $0.phase == phase }.map { csvNumber($0.figures.macs) } ?? "" }
                row += [csvNumber(cost.perSample.macs), csvNumber(cost.perSample.otherOperations),
                        String(cost.storage.allKeptActivationBytes), String(cost.storage.reusedActivationBytes),
                        String(cost.storage.allKeptBytes), String(cost.storage.reusedBytes), cost.storage.reused.peakStage,
                        cost.placement.fitsOnChip ? "yes" : "no", csvNumber(cost.perSample.energyPicojoules),
                        csvNumber(cost.perSample.latencyCycles)]
                row += [{ $0.perSample.macs }, { Double($0.storage.allKeptBytes) }, { Double($0.storage.reusedBytes) },
                        { $0.perSample.energyPicojoules }, { $0.perSample.latencyCycles }].map { (value: (RuleCost) -> Double) in
                    ratioValue(report, cost, value).map(csvNumber) ?? ""
                }
                return row
            }
        }
        return TextTable(header: header, rows: rows).csv
    }
}
