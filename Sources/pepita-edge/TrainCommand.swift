import Foundation
import PepitaEngine

enum TrainCommand {
    static let help = """
    USAGE: pepita-edge train [options]
           pepita-edge train --resume RUN_DIR [--epochs N] [--checkpoint-every-steps N]

    Trains one model with one learning rule; prints a summary, and writes a run
    directory (config.json, metrics.csv/json, checkpoint/, weights/*.npy) when
    --run-dir is given. Progress goes to stderr.

    A run directory gets a checkpoint after every epoch (and every N steps with
    --checkpoint-every-steps). Ctrl-C or SIGTERM finishes the current step, writes a
    checkpoint and exits (130, 143); --resume continues such a run (or one killed
    outright) from its last checkpoint and ends with the same weights as a run
    that never stopped.

    OPTIONS:
      --rule NAME            pepita, pepita-sign, bp, fa, dfa [pepita]
    \(TrainingOptions.help)
      --run-dir DIR          write the run here (refuses an existing run unless --force)
      --force                overwrite the run in --run-dir
      --resume DIR           continue the run in DIR from its checkpoint, with its settings
                             (config.json); --epochs N may extend or shorten it, but N must
                             reach the checkpoint's epoch (the one in progress, if any)
      --checkpoint-every-steps N
                             also write a checkpoint every N training steps (mini-batches)
      --format F             table | json | csv | md for the summary [table]
      --out PATH             write the summary to PATH instead of stdout

    EXIT STATUS: 0 done, 1 bad input or I/O error, 2 usage error, 3 training diverged
    (NaN/Inf), 130 stopped by SIGINT, 143 stopped by SIGTERM.
    """

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        // Every option is read and checked before anything is loaded or written.
        let resumePath = try arguments.string("--resume")
        let runPath = try arguments.string("--run-dir")
        let force = arguments.flag("--force")
        if resumePath != nil && (runPath != nil || force) {
            throw UsageError("--resume continues the run in its own directory; --run-dir and --force cannot be given with it")
        }
        let checkpointEvery = try TrainingLoop.parseCheckpointEverySteps(&arguments, hasRunDirectory: resumePath != nil || runPath != nil)
        let makeTrainer = try resumePath.map { path in try resumedTrainer(&arguments, path: path) }
            ?? newTrainer(&arguments, runDirectory: runPath.map(RunDirectory.init(path:)), force: force)
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()
        let (trainer, runDirectory, lock) = try makeTrainer()
        defer { withExtendedLifetime(lock) {} }

        var loop = TrainingLoop(stop: StopSignal.install(), checkpointEverySteps: checkpointEvery)
        if let signal = try loop.run(trainer, label: trainer.config.rule.rawValue, runDirectory: runDirectory) {
            let stopped = "stopped by \(StopSignal.name(signal)) at \(TrainingLoop.position(trainer))"
            guard let runDirectory else {
                throw Interrupted(signal: signal, description: "\(stopped); nothing saved (no --run-dir)")
            }
            throw Interrupted(signal: signal, description: "\(stopped); checkpoint written; continue with: pepita-edge train --resume \(runDirectory.path)")
        }
        try OutputFormat.emit(CompareCommand.render([trainer.summary], format: format), to: outPath)
    }

    /// Reads the options of a new run; the returned closure builds it.
    private static func newTrainer(_ arguments: inout Arguments, runDirectory: RunDirectory?,
                                   force: Bool) throws -> () throws -> (Trainer, RunDirectory?, RunDirectoryLock?) {
        let options = try TrainingOptions.parse(&arguments, readsRule: true)
        return { try newTrainer(options: options, runDirectory: runDirectory, force: force) }
    }

    /// A new run from the command line's options.
    private static func newTrainer(options: TrainingOptions, runDirectory: RunDirectory?,
                                   force: Bool) throws -> (Trainer, RunDirectory?, RunDirectoryLock?) {
        let dataset = try options.loadDataset()
        guard options.precisions.count == 1 else { throw UsageError("train takes one --precision (compare takes a list)") }
        let config = try options.resolve(rule: options.rule, precision: options.precisions[0], for: dataset)
        let trainer = try options.makeTrainer(config: config, dataset: dataset)
        let lock = try runDirectory?.lock()
        if let runDirectory {
            try runDirectory.create(overwrite: force)
            try runDirectory.write(config: config)
        }
        standardError("training \(config.model) (\(trainer.architecture.parameterCount) weights) with \(config.rule.rawValue) in \(config.precision.name) on \(dataset.name): \(dataset.train.count) train / \(dataset.test.count) test, batch \(config.batchSize), \(config.epochs) epochs, \(config.threads) thread(s)")
        return (trainer, runDirectory, lock)
    }

    /// Reads the options of a resumed run (only `--epochs` may change, to extend
    /// it); the returned closure rebuilds it.
    private static func resumedTrainer(_ arguments: inout Arguments,
                                       path: String) throws -> () throws -> (Trainer, RunDirectory?, RunDirectoryLock?) {
        let epochs = try arguments.integer("--epochs")
        if let word = arguments.firstRemainingOption(except: ["--format", "--out"]) {
            throw UsageError("--resume continues a run with its saved settings (config.json); '\(word)' cannot be given with it")
        }
        return { try resumedTrainer(path: path, epochs: epochs) }
    }

    /// The run in `path`, rebuilt from its config.json and put back where its
    /// checkpoint says it was; `epochs` (`--epochs`) must not end it before that point.
    private static func resumedTrainer(path: String, epochs: Int?) throws -> (Trainer, RunDirectory?, RunDirectoryLock?) {
        let runDirectory = RunDirectory(path: path)
        // The config is read first: a path that is no run must not get a lock file.
        var config = try runDirectory.readConfig()
        let lock = try runDirectory.lock()
        let state = try runDirectory.readCheckpointState()
        if let epochs {
            try checkEpochs(epochs, against: state, of: path)
            config.epochs = epochs
        }
        let dataset = try DatasetCatalog.load(name: config.dataset, dataDirectory: config.dataDirectory,
                                              validationFraction: config.validationFraction)
        let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
        // The checkpoint carries the unfinished epoch's counted operations, when the run counts them.
        let trainer = try Trainer(config: config, dataset: dataset,
                                  initial: runDirectory.resumeInitialState(config: config, architecture: architecture),
                                  countOperations: config.countsOperations)
        try runDirectory.resume(trainer)
        if epochs != nil { try runDirectory.write(config: config) }
        standardError("resuming \(path) at \(TrainingLoop.position(trainer)) (\(config.epochs) epochs, \(config.threads) thread(s))")
        return (trainer, runDirectory, lock)
    }

    /// `--epochs N` on resume must leave the checkpoint's position inside the run:
    /// N >= the epoch in progress (N > epochs completed when an epoch is half done,
    /// N >= epochs completed at an epoch boundary). Anything less would end the run
    /// before its own checkpoint, with weights from the middle of an epoch.
    private static func checkEpochs(_ epochs: Int, against state: TrainerCheckpointState, of path: String) throws {
        let inProgress = state.stepsCompletedInEpoch > 0
        let minimum = state.epochsCompleted + (inProgress ? 1 : 0)
        guard epochs < minimum else { return }
        let position = inProgress
            ? "is at epoch \(state.epochsCompleted + 1), step \(state.stepsCompletedInEpoch) of \(state.stepsPerEpoch)"
            : "has \(state.epochsCompleted) epochs done"
        throw UsageError("--epochs \(epochs) would end the run before its checkpoint, which \(position); give --epochs >= \(minimum) to resume \(path)")
    }
}
