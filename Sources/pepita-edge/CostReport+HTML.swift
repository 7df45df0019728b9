import Foundation
import HWModel

/// `cost --format html`: one self-contained page a hardware team can open
/// anywhere — inline CSS, inline SVG (`BarChart`, `LineChart`), no script, no
/// external resource. It shows the same tables as the text report (read from
/// `CostText`, so both say the same numbers) and charts of them: energy per
/// sample by phase and by component, peak storage by category, storage per
/// layer, latency by phase with its bound, placement, one epoch, and test
/// accuracy per epoch of the runs given with `--run`; then the inputs and
/// assumptions.
struct CostHTML {
    var text: CostText

    var reports: [CostReport] { text.reports }
    var precisions: [String] { orderedUnique(reports.map(\.inputs.precisionName)) }

    static let style = """
        body { font-family: sans-serif; color: #222; max-width: 1180px; margin: 24px auto; padding: 0 16px; }
        h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
        table { border-collapse: collapse; font-size: 12px; margin: 8px 0 16px; display: block; max-width: 100%; overflow-x: auto; }
        th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
        th { background: #f2f2f2; } td.n { text-align: right; white-space: nowrap; }
        p.caption { color: #555; font-size: 13px; max-width: 900px; }
        dl { font-size: 13px; } dt { font-weight: bold; margin-top: 8px; } dd { margin-left: 16px; max-width: 1000px; }
        .charts svg { display: block; margin: 8px 0 24px; }
        """

    var page: String {
        let first = reports[0]
        let title = "\(text.network.name), batch \(text.batch), on \(first.inputs.profileName)"
        var body = ["<h1>What training costs on a chip: \(escape(title))</h1>",
                    "<p class=\"caption\">Rules \(escape(orderedUnique(reports.map { $0.inputs.rule.rawValue }).joined(separator: ", "))); "
                        + "precisions \(escape(precisions.joined(separator: ", "))). Counts, storage and prices from the analytic model "
                        + "(pepita-edge cost, report schema \(first.schemaVersion)); no data was read to price them. "
                        + "The inputs and every assumption are at the end.</p>"]
        let perSample = text.perSampleSection
        body += section("Per sample", caption: perSample.title, tables: [perSample.table])
        body += ["<h2>Energy per sample</h2>", "<div class=\"charts\">", energyByPhaseChart.svg()]
        body += precisions.map { energyByComponentChart(precision: $0).svg() }
        body.append("</div>")
        let latency = text.latencySection
        body += ["<h2>Latency by phase</h2>", "<div class=\"charts\">"] + precisions.map { latencyChart(precision: $0).svg() } + ["</div>"]
        body += section(nil, caption: latency.title, tables: [latency.table])
        let storage = text.storageSection, layers = text.layerStorageSection
        body += ["<h2>Peak storage</h2>", "<div class=\"charts\">", storageChart.svg(), layerStorageChart.svg(), "</div>"]
        body += section(nil, caption: storage.title, tables: [storage.table])
        body += section(nil, caption: layers.title, tables: [layers.table])
        body += section("Placement: what fits on chip, what spills", caption: "Peak bytes of each kind of data, on chip and spilled to the off-chip level, at the level that serves the step.",
                        tables: [placementTable])
        let notes = reports.flatMap { report in report.placement.notes.map { "\(report.inputs.rule.rawValue), \(report.inputs.precisionName): \($0)" } }
        if !notes.isEmpty { body.append("<ul>" + notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>") }
        if let epoch = text.epochSection { body += section("One epoch", caption: epoch.title, tables: [epoch.table]) }
        if !text.request.runs.isEmpty {
            body += ["<h2>Accuracy</h2>", "<div class=\"charts\">", accuracyChart.svg(), "</div>"]
            body += section(nil, caption: "The runs, as compare prints them (" + text.request.runs.map(\.path).joined(separator: ", ") + ").",
                            tables: [CompareCommand.summaryTable(text.request.runs.map(\.summary))])
        }
        body.append("<h2>Inputs and assumptions</h2>")
        body.append("<dl>" + text.assumptions.map { "<dt>\(escape($0.key))</dt><dd>\(escape($0.text))</dd>" }.joined(separator: "\n") + "</dl>")
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>pepita-edge cost: \(escape(title))</title>\n"
            + "<style>\n\(Self.style)\n</style>\n</head>\n<body>\n" + body.joined(separator: "\n") + "\n</body>\n</html>\n"
    }

    func section(_ heading: String?, caption: String, tables: [TextTable]) -> [String] {
        (heading.map { ["<h2>\(escape($0))</h2>"] } ?? []) + ["<p class=\"caption\">\(escape(caption))</p>"] + tables.map(\.html)
    }

    func escape(_ text: String) -> String { SVG.escape(text) }

    /// `pepita`, or `pepita int8` when the chart mixes precisions.
    func barLabel(_ report: CostReport, withPrecision: Bool) -> String {
        withPrecision ? "\(report.inputs.rule.rawValue) \(report.inputs.precisionName)" : report.inputs.rule.rawValue
    }

    func reports(of precision: String) -> [CostReport] { reports.filter { $0.inputs.precisionName == precision } }

    // MARK: Charts

    /// One bar per rule, grouped by precision, stacked by phase.
    var energyByPhaseChart: BarChart {
        let phases = text.allPhases
        let unit = EnergyUnit(largest: reports.map(\.perSample.energyPicojoules))
        let groups = precisions.map { precision in
            BarChart.Group(label: precision, bars: reports(of: precision).map { report in
                BarChart.Bar(label: report.inputs.rule.rawValue, values: phases.map { phase in
                    (report.perSampleByPhase.first { $0.phase == phase }?.figures.energyPicojoules ?? 0) / unit.picojoules
                })
            })
        }
        return BarChart(title: "Energy per sample, stacked by phase", valueLabel: "energy per sample (\(unit.name))",
                        series: phases.map(CostText.phaseTitle), groups: groups)
    }

    /// The components of a phase's energy: MACs, other operations, each memory level, random bits.
    func components(_ cost: PhaseCost) -> [String: Double] {
        var parts: [String: Double] = ["MACs": cost.energy.macs.reduce(0) { $0 + $1.energyPicojoules },
                                       "other operations": cost.energy.otherOperations.reduce(0) { $0 + $1.energyPicojoules }]
        for memory in cost.energy.memories {
            parts[memory.level, default: 0] += memory.readEnergyPicojoules + memory.writeEnergyPicojoules
        }
        if let random = cost.energy.randomBits { parts["random bits", default: 0] += random.energyPicojoules }
        return parts
    }

    /// For one precision: one bar per rule in each of its phases, stacked by component.
    func energyByComponentChart(precision: String) -> BarChart {
        let priced = reports(of: precision)
        let levels = reports[0].placement.levels.map(\.level) + (reports[0].placement.offChipLevel.map { [$0] } ?? [])
        var series = ["MACs", "other operations"] + levels.filter { level in
            priced.contains { $0.phases.contains { $0.energy.memories.contains { $0.level == level } } }
        }
        if priced.contains(where: { $0.phases.contains { ($0.energy.randomBits?.energyPicojoules ?? 0) > 0 } }) { series.append("random bits") }
        let batch = Double(text.batch)
        let unit = EnergyUnit(largest: priced.flatMap(\.phases).map { $0.energy.energyPicojoules / batch })
        let groups = text.allPhases.compactMap { phase -> BarChart.Group? in
            let bars = priced.compactMap { report -> BarChart.Bar? in
                guard let cost = report.phases.first(where: { $0.phase == phase }) else { return nil }
                let parts = components(cost)
                return BarChart.Bar(label: report.inputs.rule.rawValue, values: series.map { (parts[$0] ?? 0) / batch / unit.picojoules })
            }
            return bars.isEmpty ? nil : BarChart.Group(label: CostText.phaseTitle(phase), bars: bars)
        }
        return BarChart(title: "Energy per sample of each phase by component, \(precision)", valueLabel: "energy per sample (\(unit.name))",
                        series: series, groups: groups)
    }

    /// For one precision: cycles per sample of each phase, one bar per rule, coloured by what bounds it.
    func latencyChart(precision: String) -> BarChart {
        let priced = reports(of: precision)
        let bounds = orderedUnique(priced.flatMap { $0.phases.map(\.bound) })
        let batch = Double(text.batch)
        let groups = text.allPhases.compactMap { phase -> BarChart.Group? in
            let bars = priced.compactMap { report -> BarChart.Bar? in
                guard let cost = report.phases.first(where: { $0.phase == phase }) else { return nil }
                return BarChart.Bar(label: report.inputs.rule.rawValue,
                                    values: bounds.map { $0 == cost.bound ? cost.latencyCycles / batch : 0 })
            }
            return bars.isEmpty ? nil : BarChart.Group(label: CostText.phaseTitle(phase), bars: bars)
        }
        return BarChart(title: "Latency per sample of each phase, \(precision) (colour: what bounds it)", valueLabel: "cycles per sample",
                        series: bounds.map { $0 == "compute" ? "compute bound" : $0.replacingOccurrences(of: "memory:", with: "memory bound: ") },
                        groups: groups)
    }

    /// One bar per rule, grouped by precision, stacked by storage category at the peak.
    var storageChart: BarChart {
        let categories = StorageCategory.allCases.filter { category in reports.contains { $0.storage[category] > 0 } }
        let unit = ByteUnit(largest: reports.map { Double($0.storage.peakBytes) })
        let groups = precisions.map { precision in
            BarChart.Group(label: precision, bars: reports(of: precision).map { report in
                BarChart.Bar(label: report.inputs.rule.rawValue, values: categories.map { Double(report.storage[$0]) / unit.bytes })
            })
        }
        return BarChart(title: "Peak live storage of one step by category", valueLabel: "bytes at the peak (\(unit.name))",
                        series: categories.map(CostText.categoryTitle), groups: groups)
    }

    /// Per layer: the most bytes each rule holds at once beyond weights and velocities.
    var layerStorageChart: BarChart {
        let layerIDs = orderedLayerIDs
        let unit = ByteUnit(largest: reports.flatMap { $0.storage.layerStorage.map { Double($0.largestLiveBytes) } })
        let groups = layerIDs.map { layer in
            BarChart.Group(label: text.layerTitle(layer), bars: reports.map { report in
                let bytes = report.storage.layerStorage.first { $0.layer == layer }?.largestLiveBytes ?? 0
                return BarChart.Bar(label: barLabel(report, withPrecision: precisions.count > 1), values: [Double(bytes) / unit.bytes])
            })
        }
        return BarChart(title: "Storage per layer beyond weights and velocities: most live at once", valueLabel: "bytes (\(unit.name))",
                        series: ["most live at once"], groups: groups)
    }

    /// Layers 0, 1, ... that some report stores for, then nil (x, F, e).
    var orderedLayerIDs: [Int?] {
        let all = reports.flatMap { $0.storage.layerStorage.map(\.layer) }
        return Set(all.compactMap { $0 }).sorted().map { Optional($0) } + (all.contains { $0 == nil } ? [nil] : [])
    }

    var accuracyChart: LineChart {
        let runs = text.request.runs
        let differ = Set(runs.map { "\($0.summary.model) \($0.summary.dataset)" }).count > 1
        return LineChart(title: "Test accuracy per epoch", xLabel: "epoch", yLabel: "test accuracy (%)",
                         series: runs.map { run in
                             LineChart.Series(name: run.label(showingModelAndData: differ),
                                              points: run.testAccuracy.map { SVGPoint(x: Double($0.epoch), y: 100 * $0.accuracy) })
                         })
    }

    // MARK: Tables

    var placementTable: TextTable {
        let kinds = DataKind.allCases.filter { kind in reports.contains { $0.placement.kinds.contains { $0.kind == kind } } }
        let header = ["rule", "precision", "serving level", "fits on chip", "peak", "spilled"]
            + kinds.map { "\($0.rawValue) on chip / spilled" } + ["off-chip level"]
        let rows = reports.map { report -> [String] in
            let placement = report.placement
            var row = [report.inputs.rule.rawValue, report.inputs.precisionName, placement.servingLevel, placement.fitsOnChip ? "yes" : "no",
                       humanNumber(Double(placement.peakBytes)), humanNumber(Double(placement.spilledBytes))]
            row += kinds.map { kind in
                guard let entry = placement.kinds.first(where: { $0.kind == kind }) else { return "-" }
                return "\(humanNumber(Double(entry.onChipBytes))) / \(humanNumber(Double(entry.spilledBytes)))"
            }
            let offChip = placement.offChipLevel.map { level in
                "\(level)" + (placement.offChipSizeBytes.map { " (\(bytesText(Double($0))))" } ?? "")
                    + (placement.offChipOverflowBytes > 0 ? ": \(humanNumber(Double(placement.offChipOverflowBytes))) B do not fit" : "")
            } ?? "none"
            return row + [offChip]
        }
        return TextTable(header: header, rows: rows)
    }
}

extension TextTable {
    /// An HTML table; cells that start with a digit (numbers, `1.23 (compute)`) are right-aligned.
    var html: String {
        func cell(_ text: String) -> String {
            let numeric = text.first.map { $0.isNumber } ?? false
            return (numeric ? "<td class=\"n\">" : "<td>") + SVG.escape(text) + "</td>"
        }
        return "<table>\n<thead><tr>" + header.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            + rows.map { "<tr>" + $0.map(cell).joined() + "</tr>" }.joined(separator: "\n") + "\n</tbody>\n</table>"
    }
}

/// The byte unit (B, KiB, MiB, GiB) that keeps the largest of `values` below 1024.
struct ByteUnit {
    var name: String
    var bytes: Double

    init(largest values: [Double]) {
        let largest = values.max() ?? 0
        let units: [(String, Double)] = [("B", 1), ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824)]
        let chosen = units.last { largest >= $0.1 } ?? units[0]
        name = chosen.0
        bytes = chosen.1
    }
}
