import Foundation
import PepitaEngine

enum CompareCommand {
    static let help = """
    USAGE: pepita-edge compare [options]

    Trains each rule (PEPITA and BP by default) in each precision on the same
    model, data, seed and settings, one after the other, and prints final and best
    test accuracy, slowness and training seconds per epoch side by side.

    OPTIONS:
      --rules LIST           comma-separated rules to compare [pepita,bp]
    \(TrainingOptions.help)
                             (compare: a comma-separated list, e.g. float32,int16,int8)
      --run-dir DIR          write each run to DIR/<rule>-<precision>/ (refuses existing runs unless --force)
      --force                overwrite runs in --run-dir
      --format F             table | json | csv | md [table]
      --out PATH             write the result to PATH instead of stdout
    """

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        var rules: [RuleKind] = [.pepita, .bp]
        if let list = try arguments.string("--rules") {
            rules = try list.split(separator: ",").map { try TrainingOptions.parseRule(String($0)) }
            if rules.isEmpty { throw UsageError("--rules needs at least one rule") }
        }
        let options = try TrainingOptions.parse(&arguments, readsRule: false)
        let runRoot = try arguments.string("--run-dir")
        let force = arguments.flag("--force")
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()

        let dataset = try options.loadDataset()
        let configs = try options.precisions.flatMap { precision in
            try rules.map { try options.resolve(rule: $0, precision: precision, for: dataset) }
        }
        let runDirectories = runRoot.map { root in
            configs.map { RunDirectory(path: root + "/" + $0.rule.rawValue + "-" + ($0.precision.name as NSString).lastPathComponent) }
        }
        try runDirectories?.forEach { try $0.create(overwrite: force) }
        var reports: [RunReport] = []
        for (index, config) in configs.enumerated() {
            let trainer = try options.makeTrainer(config: config, dataset: dataset)
            let directory = runDirectories?[index]
            try directory?.write(config: config)
            standardError("\(config.rule.rawValue) in \(config.precision.name): \(config.model) on \(dataset.name), \(config.epochs) epochs, batch \(config.batchSize)")
            let progress = Progress(label: "\(config.rule.rawValue)/\(config.precision.name)")
            try trainer.train { metrics in
                progress.report(metrics, of: config.epochs)
                try directory?.write(history: trainer.history, summary: trainer.summary)
                try directory?.writeCheckpoint(trainer)
            }
            try directory?.writeFinalWeights(trainer)
            if let last = trainer.history.last { QuantizationReport.print(last, precision: config.precision) }
            reports.append(RunReport(trainer: trainer))
        }
        let text = format == .json ? try jsonText(ComparisonReport(runs: reports)) : render(reports.map(\.summary), format: format)
        try OutputFormat.emit(text, to: outPath)
    }

    /// The summary table of `summaries` in `format` (JSON gets the summaries only).
    static func render(_ summaries: [RunSummary], format: OutputFormat) -> String {
        if format == .json { return (try? jsonText(summaries)) ?? "[]\n" }
        let table = TextTable(
            header: ["rule", "precision", "model", "dataset", "epochs", "final test %", "best test %", "best epoch",
                     "slowness", "train s/epoch", "last-layer error"],
            rows: summaries.map { summary in
                [summary.rule.rawValue, summary.precision, summary.model, summary.dataset, String(summary.epochs),
                 percent(summary.finalTestAccuracy), percent(summary.bestTestAccuracy), String(summary.bestEpoch),
                 summary.slowness.map { String(format: "%.3f", $0) } ?? "-",
                 String(format: "%.3f", summary.medianTrainSecondsPerEpoch),
                 summary.lastLayerError?.rawValue ?? "-"]
            })
        switch format {
        case .csv: return table.csv
        case .md: return table.markdown
        default: return table.aligned
        }
    }
}
