import Foundation
import PepitaEngine

enum CompareCommand {
    static let help = """
    USAGE: pepita-edge compare [options]

    Trains each rule (PEPITA and BP by default) in each precision on the same
    model, data, seed and settings, one after the other, and prints final and best
    test accuracy, slowness and training seconds per epoch side by side. With
    --profile, each row also gets what one training step costs on that chip (the
    analytic model of `pepita-edge cost`): MACs, peak storage, energy and latency
    per sample, and their ratios to BP in the same precision.

    OPTIONS:
      --rules LIST           comma-separated rules to compare [pepita,bp]
    \(TrainingOptions.help)
                             (compare: a comma-separated list, e.g. float32,int16,int8)
      --run-dir DIR          write each run to DIR/<rule>-<precision>/ (refuses existing runs unless --force)
      --force                overwrite runs in --run-dir
      --checkpoint-every-steps N
                             also checkpoint the run in progress every N training steps
      --profile NAME|FILE    add cost columns priced on this hardware profile
                             (a name from `pepita-edge profiles list` or a JSON file)
      --format F             table | json | csv | md [table]
      --out PATH             write the result to PATH instead of stdout

    Each run trains as `train` does: a run directory gets a checkpoint after every
    epoch and is locked while in use; Ctrl-C or SIGTERM finishes the current step,
    checkpoints the run in progress (with --run-dir; continue it with
    `pepita-edge train --resume DIR/<rule>-<precision>`) and exits 130 / 143 naming
    the runs that finished; NaN/Inf weights stop everything with exit status 3.

    EXIT STATUS: 0 done, 1 bad input or I/O error, 2 usage error, 3 training diverged
    (NaN/Inf), 130 stopped by SIGINT, 143 stopped by SIGTERM.
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
        let checkpointEvery = try TrainingLoop.parseCheckpointEverySteps(&arguments, hasRunDirectory: runRoot != nil)
        let profileName = try arguments.string("--profile")
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()

        let dataset = try options.loadDataset()
        let configs = try options.precisions.flatMap { precision in
            try rules.map { try options.resolve(rule: $0, precision: precision, for: dataset) }
        }
        // Priced before training, so a bad profile stops the command at once.
        let costs = try profileName.map { name in
            let profile = try ProfileCatalog.load(name).profile
            return try configs.map { try RunCost(config: $0, dataset: dataset, profile: profile) }
        }
        let runDirectories = runRoot.map { root in
            configs.map { RunDirectory(path: root + "/" + $0.rule.rawValue + "-" + ($0.precision.name as NSString).lastPathComponent) }
        }
        // Every run directory is locked (for the whole command) before any is written.
        let locks = try runDirectories?.map { try $0.lock() }
        defer { withExtendedLifetime(locks) {} }
        try runDirectories?.forEach { try $0.create(overwrite: force) }
        var loop = TrainingLoop(stop: StopSignal.install(), checkpointEverySteps: checkpointEvery)
        var reports: [RunReport] = []
        for (index, config) in configs.enumerated() {
            let trainer = try options.makeTrainer(config: config, dataset: dataset)
            let directory = runDirectories?[index]
            try directory?.write(config: config)
            standardError("\(config.rule.rawValue) in \(config.precision.name): \(config.model) on \(dataset.name), \(config.epochs) epochs, batch \(config.batchSize)")
            let label = "\(config.rule.rawValue)/\(config.precision.name)"
            if let signal = try loop.run(trainer, label: label, runDirectory: directory) {
                throw interrupted(by: signal, in: trainer, label: label, directory: directory,
                                  finished: reports.map { "\($0.summary.rule.rawValue)/\($0.summary.precision)" })
            }
            reports.append(RunReport(trainer: trainer))
        }
        let text: String
        if format == .json {
            text = try costs.map { try jsonText(CostedComparisonReport(runs: reports, costs: $0)) } ?? jsonText(ComparisonReport(runs: reports))
        } else {
            text = render(reports.map(\.summary), costs: costs, format: format)
        }
        try OutputFormat.emit(text, to: outPath)
    }

    /// The one-line report of a compare stopped by `signal` during run `label`:
    /// where it stopped, which runs finished, and how to continue the stopped run.
    private static func interrupted(by signal: Int32, in trainer: Trainer, label: String, directory: RunDirectory?,
                                    finished: [String]) -> Interrupted {
        let done = finished.isEmpty ? "no run finished" : "finished: \(finished.joined(separator: ", "))"
        let saved = directory.map { "checkpoint written; continue it with: pepita-edge train --resume \($0.path)" }
            ?? "nothing saved (no --run-dir)"
        return Interrupted(signal: signal, description: "stopped by \(StopSignal.name(signal)) in the \(label) run at \(TrainingLoop.position(trainer)); \(done); \(saved)")
    }

    /// The summary table of `summaries` in `format` (JSON gets the summaries only),
    /// with the cost columns of `costs` (one per summary) when given.
    static func render(_ summaries: [RunSummary], costs: [RunCost]? = nil, format: OutputFormat) -> String {
        if format == .json { return (try? jsonText(summaries)) ?? "[]\n" }
        var table = summaryTable(summaries)
        if let costs {
            let raw = format == .csv
            let unit = EnergyUnit(fitting: costs.map(\.energyPicojoulesPerSample))
            table.header += RunCost.header(raw: raw, energyUnit: unit)
            table.rows = zip(table.rows, costs).map { $0 + $1.cells(raw: raw, energyUnit: unit) }
        }
        return format.render(table)
    }

    /// One row per run: accuracy, slowness, speed.
    static func summaryTable(_ summaries: [RunSummary]) -> TextTable {
        TextTable(
            header: ["rule", "precision", "model", "dataset", "epochs", "final test %", "best test %", "best epoch",
                     "slowness", "train s/epoch", "last-layer error"],
            rows: summaries.map { summary in
                [summary.rule.rawValue, summary.precision, summary.model, summary.dataset, String(summary.epochs),
                 percent(summary.finalTestAccuracy), percent(summary.bestTestAccuracy), String(summary.bestEpoch),
                 summary.slowness.map { String(format: "%.3f", $0) } ?? "-",
                 String(format: "%.3f", summary.medianTrainSecondsPerEpoch),
                 summary.lastLayerError?.rawValue ?? "-"]
            })
    }
}
