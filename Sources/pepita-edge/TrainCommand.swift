import Foundation
import PepitaEngine

enum TrainCommand {
    static let help = """
    USAGE: pepita-edge train [options]

    Trains one model with one learning rule; prints a summary, and writes a run
    directory (config.json, metrics.csv/json, checkpoint/, weights/*.npy) when
    --run-dir is given. Progress goes to stderr.

    OPTIONS:
      --rule NAME            pepita, pepita-sign, bp, fa, dfa [pepita]
    \(TrainingOptions.help)
      --run-dir DIR          write the run here (refuses an existing run unless --force)
      --force                overwrite the run in --run-dir
      --format F             table | json | csv | md for the summary [table]
      --out PATH             write the summary to PATH instead of stdout
    """

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        let options = try TrainingOptions.parse(&arguments, readsRule: true)
        let runDirectory = try arguments.string("--run-dir").map(RunDirectory.init(path:))
        let force = arguments.flag("--force")
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()

        let dataset = try options.loadDataset()
        guard options.precisions.count == 1 else { throw UsageError("train takes one --precision (compare takes a list)") }
        let config = try options.resolve(rule: options.rule, precision: options.precisions[0], for: dataset)
        let trainer = try options.makeTrainer(config: config, dataset: dataset)
        if let runDirectory {
            try runDirectory.create(overwrite: force)
            try runDirectory.write(config: config)
        }
        standardError("training \(config.model) (\(trainer.architecture.parameterCount) weights) with \(config.rule.rawValue) in \(config.precision.name) on \(dataset.name): \(dataset.train.count) train / \(dataset.test.count) test, batch \(config.batchSize), \(config.epochs) epochs, \(config.threads) thread(s)")
        let progress = Progress(label: config.rule.rawValue)
        try trainer.train { metrics in
            progress.report(metrics, of: config.epochs)
            if let runDirectory {
                try runDirectory.write(history: trainer.history, summary: trainer.summary)
                try runDirectory.writeCheckpoint(trainer)
            }
        }
        if let runDirectory {
            try runDirectory.write(history: trainer.history, summary: trainer.summary)
            try runDirectory.writeCheckpoint(trainer)
            try runDirectory.writeFinalWeights(trainer)
        }
        if let last = trainer.history.last { QuantizationReport.print(last, precision: config.precision) }
        try OutputFormat.emit(CompareCommand.render([trainer.summary], format: format), to: outPath)
    }
}
