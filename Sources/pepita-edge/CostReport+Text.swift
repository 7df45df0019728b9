import Foundation
import HWModel
import Quantized

/// `cost`'s reports as text. The aligned table and Markdown give five small
/// tables (per sample; latency by phase; peak storage; storage per layer; per epoch), then the
/// inputs and assumptions every number was priced under (STYLE 9). CSV is one
/// row per report with fixed columns and raw units (pJ, cycles, bytes), for
/// spreadsheets and golden files; HTML is `CostHTML`, built on these tables. Only formatting happens here: every number is
/// read from a `CostReport` (ratios to BP are quotients of two of them).
struct CostText {
    var reports: [CostReport]
    var request: CostRequest

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .html: return CostHTML(text: self).page
        case .csv: return csv
        case .md:
            return sections.map { "**\($0.title)**\n\n" + $0.table.markdown }.joined(separator: "\n")
                + "\n**Inputs and assumptions**\n\n" + assumptions.map { "- **\($0.key)**: \($0.text)\n" }.joined()
        case .table, .json:
            return sections.map { $0.title + "\n" + $0.table.aligned }.joined(separator: "\n")
                + "\nInputs and assumptions\n" + assumptions.map { "  \($0.key): \($0.text)\n" }.joined()
        }
    }

    // MARK: Shared

    /// Phases with MACs, in step order, that some report has.
    var productPhases: [TrainingPhase] {
        TrainingPhase.allCases.filter { phase in phase != .optimiser && reports.contains { $0.inputs.rule.phases.contains(phase) } }
    }

    var allPhases: [TrainingPhase] {
        TrainingPhase.allCases.filter { phase in reports.contains { $0.inputs.rule.phases.contains(phase) } }
    }

    var showsRatios: Bool { reports.contains { $0.inputs.rule == .bp } }

    /// The BP report of the same precision, the denominator of `report`'s ratios.
    func baseline(for report: CostReport) -> CostReport? {
        reports.first { $0.inputs.rule == .bp && $0.inputs.precision == report.inputs.precision }
    }

    func ratio(_ report: CostReport, _ value: (CostReport) -> Double) -> Double? {
        guard let bp = baseline(for: report), value(bp) != 0 else { return nil }
        return value(report) / value(bp)
    }

    static func ratioText(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }

    static func phaseTitle(_ phase: TrainingPhase) -> String {
        switch phase {
        case .forward: return "forward"
        case .errorProjection: return "error projection"
        case .modulatedForward: return "modulated forward"
        case .update: return "update"
        case .backwardDelta: return "backward delta"
        case .weightGradient: return "weight gradient"
        case .optimiser: return "optimiser"
        case .recompute: return "recompute"
        case .negativeForward: return "negative forward"
        }
    }

    static func categoryTitle(_ category: StorageCategory) -> String {
        switch category {
        case .weights: return "weights"
        case .projection: return "feedback (F, B, D)"
        case .optimiserState: return "velocities"
        case .inputs: return "inputs"
        case .keptActivations: return "kept activations"
        case .workingActivations: return "working activations"
        case .masks: return "masks"
        case .backwardBuffers: return "deltas"
        case .outputErrors: return "output errors"
        }
    }

    // MARK: Table and Markdown

    struct Section {
        var title: String
        var table: TextTable
    }

    var sections: [Section] {
        var sections = [perSampleSection, latencySection, storageSection, layerStorageSection]
        if let epoch = epochSection { sections.append(epoch) }
        return sections
    }

    var network: NetworkShape { reports[0].inputs.network }
    var batch: Int { reports[0].inputs.batch }
    var profileName: String { reports[0].inputs.profileName }

    var perSampleSection: Section {
        let unit = EnergyUnit(fitting: reports.map(\.perSample.energyPicojoules))
        var header = ["rule", "precision"] + productPhases.map { Self.phaseTitle($0) + " MACs" }
        header += ["MACs", "other ops", "bytes read", "bytes written", "energy (\(unit.name))", "latency (cycles)"]
        if showsRatios { header += ["MACs vs BP", "energy vs BP", "latency vs BP"] }
        let rows = reports.map { report -> [String] in
            let figures = report.perSample
            var row = [report.inputs.rule.rawValue, report.inputs.precisionName]
            row += productPhases.map { phase in
                report.perSampleByPhase.first { $0.phase == phase }.map { humanNumber($0.figures.macs) } ?? "-"
            }
            row += [humanNumber(figures.macs), humanNumber(figures.otherOperations), humanNumber(figures.bytesRead),
                    humanNumber(figures.bytesWritten), humanNumber(figures.energyPicojoules / unit.picojoules, significant: 4),
                    humanNumber(figures.latencyCycles, significant: 4)]
            if showsRatios {
                row += [ratio(report) { $0.perSample.macs }, ratio(report) { $0.perSample.energyPicojoules },
                        ratio(report) { $0.perSample.latencyCycles }].map(Self.ratioText)
            }
            return row
        }
        return Section(title: "\(network.name), batch \(batch), on \(profileName): per sample (one training step / \(batch))",
                       table: TextTable(header: header, rows: rows))
    }

    var latencySection: Section {
        let header = ["rule", "precision"] + allPhases.map(Self.phaseTitle)
        let rows = reports.map { report -> [String] in
            [report.inputs.rule.rawValue, report.inputs.precisionName] + allPhases.map { phase in
                guard let cost = report.phases.first(where: { $0.phase == phase }) else { return "-" }
                return humanNumber(cost.latencyCycles / Double(batch), significant: 4) + " (\(cost.bound))"
            }
        }
        return Section(title: "Latency by phase, cycles per sample (what bounds it: compute, or memory at a level)",
                       table: TextTable(header: header, rows: rows))
    }

    var storageSection: Section {
        let categories = StorageCategory.allCases.filter { category in reports.contains { $0.storage[category] > 0 } }
        var header = ["rule", "precision"] + categories.map(Self.categoryTitle) + ["peak", "peak stage", "on chip"]
        if showsRatios { header.append("peak vs BP") }
        let rows = reports.map { report -> [String] in
            let placement = report.placement
            var onChip = placement.fitsOnChip
                ? "yes (\(placement.servingLevel))"
                : "no: \(humanNumber(Double(placement.spilledBytes))) B spill from \(placement.servingLevel) to \(placement.offChipLevel ?? "nowhere")"
            if placement.offChipOverflowBytes > 0, let size = placement.offChipSizeBytes {
                onChip += ", more than its \(bytesText(Double(size)))"
            }
            var row = [report.inputs.rule.rawValue, report.inputs.precisionName]
            row += categories.map { humanNumber(Double(report.storage[$0])) }
            row += [humanNumber(Double(report.storage.peakBytes)), report.storage.peakStage, onChip]
            if showsRatios { row.append(Self.ratioText(ratio(report) { Double($0.storage.peakBytes) })) }
            return row
        }
        return Section(title: "Peak live storage of one step (batch \(batch)), bytes by category at the peak stage",
                       table: TextTable(header: header, rows: rows))
    }

    /// Per layer: the bytes each rule stores beyond weights and velocities
    /// (equal for every rule), which is where PEPITA saves storage (no deltas,
    /// no pool winners) or spends more (h and h_mod together, activations
    /// before pooling, dropout masks, F).
    var layerStorageSection: Section {
        let categories = StorageCategory.allCases.filter { category in
            reports.contains { $0.storage.layerStorage.contains { $0.bytesByCategory.contains { $0.category == category } } }
        }
        var header = ["rule", "precision", "layer", "buffers"] + categories.map(Self.categoryTitle) + ["most live at once", "at step peak"]
        if showsRatios { header.append("most live vs BP") }
        var rows: [[String]] = []
        for report in reports {
            let bpLayers = baseline(for: report)?.storage.layerStorage
            for entry in report.storage.layerStorage {
                var row = [report.inputs.rule.rawValue, report.inputs.precisionName, layerTitle(entry.layer),
                           entry.bufferNames.joined(separator: "; ")]
                row += categories.map { category in
                    entry.bytesByCategory.first { $0.category == category }.map { humanNumber(Double($0.bytes)) } ?? "0"
                }
                row += ["\(humanNumber(Double(entry.largestLiveBytes))) (\(entry.largestLiveStage))", humanNumber(Double(entry.bytesAtPeak))]
                if showsRatios {
                    let bp = bpLayers?.first { $0.layer == entry.layer }
                    row.append(bp.map { $0.largestLiveBytes > 0 ? Self.ratioText(Double(entry.largestLiveBytes) / Double($0.largestLiveBytes)) : "-" } ?? "-")
                }
                rows.append(row)
            }
        }
        return Section(title: "Storage per layer beyond weights and velocities (the same for every rule), bytes: each layer's buffers, the most live at once, and live at the step's peak",
                       table: TextTable(header: header, rows: rows))
    }

    /// `0: conv 1x28x28->32 5x5 + pool`, `1: dense 4608->10`; nil: the buffers of no layer.
    func layerTitle(_ layer: Int?) -> String {
        guard let layer else { return "none (x, F, e)" }
        return "\(layer): " + Self.layerText(network.layers[layer])
    }

    static func layerText(_ layer: LayerShape) -> String {
        switch layer {
        case let .dense(inputs, outputs): return "dense \(inputs)->\(outputs)"
        case let .conv(channels, height, width, outChannels, kernel, pools):
            return "conv \(channels)x\(height)x\(width)->\(outChannels) channels \(kernel)x\(kernel)" + (pools ? " + 2x2 max pool" : "")
        }
    }

    var epochSection: Section? {
        let epochs = reports.compactMap(\.perEpoch)
        guard epochs.count == reports.count, let first = epochs.first else { return nil }
        let unit = EnergyUnit(fitting: epochs.map(\.figures.energyPicojoules))
        var header = ["rule", "precision", "MACs", "energy (\(unit.name))", "time (s)"]
        if showsRatios { header.append("energy vs BP") }
        let rows = reports.map { report -> [String] in
            let figures = report.perEpoch!.figures
            var row = [report.inputs.rule.rawValue, report.inputs.precisionName, humanNumber(figures.macs),
                       humanNumber(figures.energyPicojoules / unit.picojoules, significant: 4),
                       humanNumber(figures.latencySeconds, significant: 4)]
            if showsRatios { row.append(Self.ratioText(ratio(report) { $0.perEpoch!.figures.energyPicojoules })) }
            return row
        }
        let batches = "\(first.fullBatches) batches of \(batch)" + (first.lastBatchSize > 0 ? " + 1 of \(first.lastBatchSize)" : "")
        return Section(title: "One epoch of \(first.samples) samples (\(batches))", table: TextTable(header: header, rows: rows))
    }

    /// The inputs and assumptions, one `key: text` line each.
    var assumptions: [(key: String, text: String)] {
        let first = reports[0]
        let inputs = first.inputs
        let layers = network.layers.map(Self.layerText)
        var lines: [(key: String, text: String)] = [
            ("model", (request.model == network.name ? network.name : "\(request.model) = \(network.name)") + ": input \(network.input), \(network.classes) classes; "
                + "\(layers.joined(separator: ", ")); \(humanNumber(Double(network.parameterCount))) weights; no biases, ReLU, softmax"),
            ("data", request.data),
            ("rules", orderedUnique(reports.map { $0.inputs.rule.rawValue }).joined(separator: ", ")),
            ("batch", "\(batch) samples per step; per-sample figures are the step's divided by \(batch); peak storage is per step"),
        ]
        if let samples = inputs.samplesPerEpoch {
            lines.append(("samples per epoch", "\(samples) (full batches plus the last partial batch, each stepping the optimiser)"))
        }
        var options = "dropout keep \(plainNumber(inputs.options.dropoutKeep)) on hidden dense layers"
        if let pepita = reports.first(where: { $0.inputs.rule.isPepita }), let error = pepita.inputs.options.pepitaLastLayerError {
            options += "; PEPITA's last-layer error: \(error.rawValue)"
        }
        lines.append(("options", options))
        for report in orderedUnique(reports.map(\.inputs.precisionName)).compactMap({ name in reports.first { $0.inputs.precisionName == name } }) {
            lines.append(("precision \(report.inputs.precisionName)", precisionText(report.inputs)))
        }
        lines.append(("profile", "\(inputs.profileName) (\(request.profileFile)), clock \(clockText(inputs.clockHz)): \(inputs.profileDescription)"))
        for note in request.profile.notes ?? [] { lines.append(("profile note", note)) }
        lines.append(("counting", first.assumptions.countingConventions))
        lines.append(("dataflow", first.assumptions.dataflow))
        if let pepita = reports.first(where: { $0.inputs.rule.isPepita }) {
            lines.append(("schedule (pepita, pepita-sign)", pepita.assumptions.schedule))
        }
        if let other = reports.first(where: { !$0.inputs.rule.isPepita }) {
            lines.append(("schedule (bp, fa, dfa)", other.assumptions.schedule))
        }
        lines.append(("placement", first.assumptions.placement))
        for report in reports {
            for note in report.placement.notes {
                lines.append(("placement note (\(report.inputs.rule.rawValue), \(report.inputs.precisionName))", note))
            }
        }
        lines.append(("pricing", first.assumptions.pricing))
        for note in orderedUnique(reports.flatMap(\.assumptions.pricingNotes)) { lines.append(("pricing note", note)) }
        if reports.contains(where: { !$0.stochasticRounding.isEmpty }) {
            lines.append(("stochastic rounding", first.assumptions.stochasticRounding))
        }
        lines.append(("roofline", first.assumptions.roofline))
        return lines
    }

    func precisionText(_ inputs: CostInputs) -> String {
        let sizes = inputs.elementSizes
        let kind = inputs.precision.isFloat ? "float32" : "fixed point (accumulators \(inputs.precision.accumulatorBits) bits)"
        return "\(kind); bytes per element: weights \(sizes.weightBytes), feedback \(sizes.projectionBytes), "
            + "velocities \(sizes.optimiserStateBytes), input \(sizes.inputBytes), activations \(sizes.activationBytes), "
            + "errors \(sizes.errorBytes), accumulators \(sizes.accumulatorBytes); "
            + "masks \(sizes.dropoutMaskBits) bit per dropout element, \(sizes.poolWinnerBits) bits per pool winner"
    }

    // MARK: CSV

    /// One row per report, fixed columns; per-sample figures in pJ, cycles and
    /// bytes; storage per step in bytes; empty cells where a phase is not one
    /// of the rule's, or where no BP report of the same precision exists.
    var csv: String {
        let phases = TrainingPhase.allCases.filter { phase in
            phase != .optimiser && TrainingRule.engineRules.contains { $0.phases.contains(phase) }
        }
        var header = ["rule", "precision", "model", "batch", "profile"]
        header += phases.map { snakeCase($0.rawValue) + "_macs_per_sample" }
        header += ["macs_per_sample", "other_ops_per_sample", "bytes_read_per_sample", "bytes_written_per_sample",
                   "energy_pj_per_sample", "latency_cycles_per_sample", "peak_bytes", "peak_stage"]
        header += StorageCategory.allCases.map { "peak_" + snakeCase($0.rawValue) + "_bytes" }
        header += ["serving_level", "fits_on_chip", "spilled_bytes", "samples_per_epoch", "energy_pj_per_epoch",
                   "latency_seconds_per_epoch", "macs_vs_bp", "energy_vs_bp", "latency_vs_bp", "peak_vs_bp"]
        let rows = reports.map { report -> [String] in
            let figures = report.perSample
            var row = [report.inputs.rule.rawValue, report.inputs.precisionName, report.inputs.network.name,
                       String(report.inputs.batch), report.inputs.profileName]
            row += phases.map { phase in report.perSampleByPhase.first { $0.phase == phase }.map { csvNumber($0.figures.macs) } ?? "" }
            row += [figures.macs, figures.otherOperations, figures.bytesRead, figures.bytesWritten, figures.energyPicojoules,
                    figures.latencyCycles].map(csvNumber)
            row += [String(report.storage.peakBytes), report.storage.peakStage]
            row += StorageCategory.allCases.map { String(report.storage[$0]) }
            row += [report.placement.servingLevel, report.placement.fitsOnChip ? "yes" : "no", String(report.placement.spilledBytes)]
            row += [report.perEpoch.map { String($0.samples) } ?? "", report.perEpoch.map { csvNumber($0.figures.energyPicojoules) } ?? "",
                    report.perEpoch.map { csvNumber($0.figures.latencySeconds) } ?? ""]
            row += [ratio(report) { $0.perSample.macs }, ratio(report) { $0.perSample.energyPicojoules },
                    ratio(report) { $0.perSample.latencyCycles }, ratio(report) { Double($0.storage.peakBytes) }]
                .map { $0.map(csvNumber) ?? "" }
            return row
        }
        return TextTable(header: header, rows: rows).csv
    }
}

/// The energy unit that keeps the smallest of `values` (pJ) at 1 or more.
struct EnergyUnit {
    var name: String
    var picojoules: Double

    /// The unit that keeps the largest of `values` (pJ) at 1 or more (for a chart's axis).
    init(largest values: [Double]) {
        self.init(fitting: [values.max() ?? 1])
    }

    init(fitting values: [Double]) {
        let smallest = values.filter { $0 > 0 }.min() ?? 1
        let units: [(String, Double)] = [("pJ", 1), ("nJ", 1e3), ("µJ", 1e6), ("mJ", 1e9), ("J", 1e12)]
        let chosen = units.last { smallest >= $0.1 } ?? units[0]
        name = chosen.0
        picojoules = chosen.1
    }
}

/// Readable: whole numbers (and anything from 1000 up) with thousands
/// separators, smaller fractions to `significant` digits.
func humanNumber(_ value: Double, significant: Int = 3) -> String {
    guard value.isFinite else { return "-" }
    if abs(value) >= 1000 || value == value.rounded() {
        let digits = String(Int64(abs(value.rounded())))
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }
    return String(format: "%.\(significant)g", value)
}

/// Exact as written in a profile: whole numbers without a decimal point, others in Swift's shortest form.
func plainNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}

/// For CSV: whole numbers as integers, others to 10 significant digits (stable across platforms' last bits).
func csvNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(format: "%.10g", value)
}

/// `modulatedForward` -> `modulated_forward`.
func snakeCase(_ camel: String) -> String {
    camel.reduce(into: "") { text, character in
        if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
    }
}

func orderedUnique(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
