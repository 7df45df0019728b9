import Foundation
import PepitaEngine

/// The one loop `train` and `compare` run a `Trainer` with, so both get the same
/// guarantees: step by step with the finiteness check (`Trainer.step()`), a stop
/// between two steps on SIGINT/SIGTERM (`StopSignal`), overflow warnings and
/// progress after each epoch, and — when the run has a directory — metrics and a
/// checkpoint after every epoch, a checkpoint every `checkpointEverySteps` steps,
/// one when stopped, and the final weights when done.
struct TrainingLoop {
    let stop: StopSignal
    /// Also checkpoint every this many steps (global step numbers), when the run has a directory.
    let checkpointEverySteps: Int?
    /// Steps of the runs this process trained before the current one (compare's
    /// earlier runs), so the test hook's step number counts across runs.
    private(set) var stepsOfEarlierRuns = 0

    /// The largest `--checkpoint-every-steps`: any larger is "never" anyway.
    static let maxCheckpointEverySteps = 1 << 40

    init(stop: StopSignal, checkpointEverySteps: Int?) {
        self.stop = stop
        self.checkpointEverySteps = checkpointEverySteps
    }

    /// Reads `--checkpoint-every-steps` (1 ... `maxCheckpointEverySteps`); it needs a run directory.
    static func parseCheckpointEverySteps(_ arguments: inout Arguments, hasRunDirectory: Bool) throws -> Int? {
        guard let steps = try arguments.integer("--checkpoint-every-steps") else { return nil }
        guard (1...maxCheckpointEverySteps).contains(steps) else {
            throw UsageError("--checkpoint-every-steps must be in 1...\(maxCheckpointEverySteps), got \(steps)")
        }
        guard hasRunDirectory else { throw UsageError("--checkpoint-every-steps needs --run-dir (checkpoints are written there)") }
        return steps
    }

    /// Trains the rest of `trainer`'s run, labelled `label` in progress lines.
    /// - Returns: nil when every epoch is done (and, with a run directory, its
    ///   metrics, last checkpoint and final weights are written); the signal when
    ///   stopped by one, after checkpointing the step it interrupted (with a run directory).
    /// - Throws: `Diverged` when a step made the weights NaN or infinite; file errors.
    mutating func run(_ trainer: Trainer, label: String, runDirectory: RunDirectory?) throws -> Int32? {
        let config = trainer.config
        let progress = Progress(label: label)
        var globalStep = trainer.epochsCompleted * trainer.stepsPerEpoch + trainer.stepsCompletedInEpoch
        let finished: Bool
        do {
            finished = try trainer.train(shouldStop: { stop.received != nil }) { metrics in
                globalStep += 1
                if let metrics {
                    progress.report(metrics, of: config.epochs)
                    QuantizationReport.warnAboutOverflows(metrics, precision: config.precision)
                    if let runDirectory {
                        try runDirectory.write(history: trainer.history, summary: trainer.summary)
                        try runDirectory.writeCheckpoint(trainer)
                    }
                } else if let runDirectory, let checkpointEverySteps, globalStep % checkpointEverySteps == 0 {
                    try runDirectory.writeCheckpoint(trainer)
                }
                stop.testHook(afterStep: stepsOfEarlierRuns + globalStep)
            }
        } catch let error as TrainingError {
            throw Diverged(error: error, label: label, runDirectory: runDirectory)
        }
        stepsOfEarlierRuns += config.epochs * trainer.stepsPerEpoch
        if !finished, let signal = stop.received {
            try runDirectory?.writeCheckpoint(trainer)
            return signal
        }
        if let runDirectory {
            try runDirectory.write(history: trainer.history, summary: trainer.summary)
            try runDirectory.writeCheckpoint(trainer)
            try runDirectory.writeFinalWeights(trainer)
        }
        if let last = trainer.history.last { QuantizationReport.print(last, precision: config.precision) }
        return nil
    }

    /// Where `trainer` stopped, for messages: `epoch 2, step 5 of 45`.
    static func position(_ trainer: Trainer) -> String {
        "epoch \(trainer.epochsCompleted + 1), step \(trainer.stepsCompletedInEpoch) of \(trainer.stepsPerEpoch)"
    }
}

/// A run whose weights became NaN or infinite (`TrainingError.nonFinite`), with
/// what is left of it: the last good checkpoint when one was written, else nothing.
/// Exits with status 3.
struct Diverged: Error, CustomStringConvertible {
    var description: String

    init(error: TrainingError, label: String, runDirectory: RunDirectory?) {
        let checkpoint = runDirectory.map { AtomicDirectory.readablePath($0.checkpointPath) }
        let kept: String
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint + "/state.json") {
            kept = "the last good checkpoint (\(checkpoint)) is kept"
        } else if runDirectory != nil {
            kept = "no checkpoint had been written yet"
        } else {
            kept = "nothing saved (no --run-dir)"
        }
        description = "\(error.description) of the \(label) run; \(kept) (try a smaller --lr)"
    }
}
