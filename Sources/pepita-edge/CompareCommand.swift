import Foundation
import PepitaEngine

enum CompareCommand {
    static let help = """
    USAGE: pepita-edge compare [options]

    Trains each rule (PEPITA and BP by default) on the same model, data, seed and
    settings, one after the other, and prints final and best test accuracy,
    slowness and training seconds per epoch side by side.

    OPTIONS:
      --rules LIST           comma-separated rules to compare [pepita,bp]
    \(TrainingOptions.help)
      --run-dir DIR          write each run to DIR/<rule>/ (refuses existing runs unless --force)
      --force                overwrite runs in --run-dir
      --format F             table | json | csv | md [table]
      --out PATH             write the result to PATH instead of stdout
      --precision P          float32 (fixed point comes later) [float32]
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
        let configs = try rules.map { try options.resolve(rule: $0, for: dataset) }
        let runDirectories = runRoot.map { root in rules.map { RunDirectory(path: root + "/" + $0.rawValue) } }
        try runDirectories?.forEach { try $0.create(overwrite: force) }
        var reports: [RunReport] = []
        for (index, config) in configs.enumerated() {
            let trainer = try TrainingOptions.makeTrainer(config: config, dataset: dataset)
            let directory = runDirectories?[index]
            try directory?.write(config: config)
            standardError("\(config.rule.rawValue): \(config.model) on \(dataset.name), \(config.epochs) epochs, batch \(config.batchSize)")
            let progress = Progress(label: config.rule.rawValue)
            try trainer.train { metrics in
                progress.report(metrics, of: config.epochs)
                try directory?.write(history: trainer.history, summary: trainer.summary)
                try directory?.writeCheckpoint(trainer)
            }
            try directory?.writeFinalWeights(trainer)
            reports.append(RunReport(trainer: trainer))
        }
        let text = format == .json ? try jsonText(ComparisonReport(runs: reports)) : render(reports.map(\.summary), format: format)
        try OutputFormat.emit(text, to: outPath)
    }

    /// The summary table of `summaries` in `format` (JSON gets the summaries only).
    static func render(_ summaries: [RunSummary], format: OutputFormat) -> String {
        if format == .json { return (try? jsonText(summaries)) ?? "[]\n" }
        let table = TextTable(
            header: ["rule", "model", "dataset", "epochs", "final test %", "best test %", "best epoch",
                     "slowness", "train s/epoch", "last-layer error"],
            rows: summaries.map { summary in
                [summary.rule.rawValue, summary.model, summary.dataset, String(summary.epochs),
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
