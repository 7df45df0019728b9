import Foundation
import PepitaEngine
import Quantized

/// The options `train` and `compare` share, as given (nil = not given), and
/// their resolution into a full `TrainingConfig` once the data is known.
struct TrainingOptions {
    var model = "fc"
    var rule: RuleKind = .pepita
    var dataset = "digits"
    var dataDirectory: String?
    var epochs: Int?
    var batchSize: Int?
    var learningRate: Double?
    var decayEpochs: [Int]?
    var decayFactor: Double?
    var momentum: Double?
    var dropoutKeep: Double?
    var projectionScale: Double?
    var lastLayerError: LastLayerError?
    var convolutionBatchAverageTwice = true
    var shuffle = true
    var seed: UInt64 = 1
    var validationFraction = 0.0
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var fitEpochs: Int?
    var initDirectory: String?
    var precisions: [PrecisionConfig] = [.preset(named: "float32")!]
    var precisionGiven = false
    /// Count every step's operations into metrics.json (`OperationRecorder`).
    var countOperations = true

    static let help = """
      --model NAME           fc (one hidden layer of 1024), fc:784-1024-10 (any sizes),
                             Net1conv1fcXL, Net1conv1fcXL_cif           [fc]
      --dataset NAME         digits (embedded), mnist, fashion-mnist, cifar10, cifar100 [digits]
      --data-dir DIR         where the dataset's files are (fashion-mnist defaults to
                             /usr/share/datasets/fashion-mnist)
      --epochs N             [100]
      --batch N              mini-batch size [64 for fc, 50 for conv models]
      --lr X                 learning rate eta [0.01]
      --decay-epochs LIST    epochs (from 0) where lr is multiplied by --decay-factor,
                             comma-separated, or 'none' [60,90]
      --decay-factor X       [0.1]
      --momentum X           [0.9]
      --dropout-keep X       keep probability of hidden dense layers, 1 = off [0.9]
      --bstd X               scale of PEPITA's projection F [0.05]
      --last-layer-error E   modulated | first-pass: error of PEPITA's last-layer update
                             [modulated for fc, first-pass for conv models]
      --conv-single-average  divide conv PEPITA updates by the batch once, not twice as
                             the conv reference does
      --no-shuffle           keep the training set in file order
      --no-operation-counts  do not count the operations of each step (metrics.json
                             then has no "operations"); counting is on by default
      --seed N               seeds weights, F, shuffling and dropout [1]
      --validation X         hold out this fraction of the training set (its end) [0]
      --threads N            worker threads [all cores]
      --fit-epochs N         points of the test curve (chance included) for the slowness fit [100,
                             as the reference]
      --init DIR             start from DIR/W0.npy, W1.npy, ... (and F.npy for PEPITA)
      --precision P          float32, int16, int16-stochastic, int8, int8-stochastic, or a precision
                             config JSON file (see README) [float32]
    """

    /// Reads every shared option from `arguments`; `ruleFlag` false for `compare`.
    static func parse(_ arguments: inout Arguments, readsRule: Bool) throws -> TrainingOptions {
        var options = TrainingOptions()
        if let model = try arguments.string("--model") { options.model = model }
        if readsRule, let rule = try arguments.string("--rule") { options.rule = try parseRule(rule) }
        if let dataset = try arguments.string("--dataset") { options.dataset = dataset }
        options.dataDirectory = try arguments.string("--data-dir")
        options.epochs = try arguments.integer("--epochs")
        options.batchSize = try arguments.integer("--batch")
        options.learningRate = try arguments.number("--lr")
        options.decayEpochs = try arguments.integerList("--decay-epochs")
        options.decayFactor = try arguments.number("--decay-factor")
        options.momentum = try arguments.number("--momentum")
        options.dropoutKeep = try arguments.number("--dropout-keep")
        options.projectionScale = try arguments.number("--bstd")
        if let text = try arguments.string("--last-layer-error") {
            guard let value = LastLayerError(rawValue: text) else {
                throw UsageError("--last-layer-error must be modulated or first-pass, got '\(text)'")
            }
            options.lastLayerError = value
        }
        options.convolutionBatchAverageTwice = !arguments.flag("--conv-single-average")
        options.shuffle = !arguments.flag("--no-shuffle")
        options.countOperations = !arguments.flag("--no-operation-counts")
        if let seed = try arguments.string("--seed") {
            guard let value = UInt64(seed) else { throw UsageError("--seed must be a whole number >= 0, got '\(seed)'") }
            options.seed = value
        }
        if let fraction = try arguments.number("--validation") { options.validationFraction = fraction }
        if let threads = try arguments.integer("--threads") { options.threads = threads }
        options.fitEpochs = try arguments.integer("--fit-epochs")
        options.initDirectory = try arguments.string("--init")
        if let list = try arguments.string("--precision") {
            options.precisions = try list.split(separator: ",").map { try PrecisionConfig.load(String($0)) }
            options.precisionGiven = true
            if options.precisions.isEmpty { throw UsageError("--precision needs a preset name or a file") }
        }
        return options
    }

    static func parseRule(_ text: String) throws -> RuleKind {
        guard let rule = RuleKind(rawValue: text) else {
            throw UsageError("unknown rule '\(text)' (known: \(RuleKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return rule
    }

    func loadDataset() throws -> Dataset {
        if !(validationFraction >= 0 && validationFraction < 1) {
            throw UsageError("--validation must be in [0, 1), got \(validationFraction)")
        }
        return try DatasetCatalog.load(name: dataset, dataDirectory: dataDirectory, validationFraction: validationFraction)
    }

    /// Every setting resolved for `rule` on `data`, defaults taken from the model family.
    func resolve(rule: RuleKind, precision: PrecisionConfig, for data: Dataset) throws -> TrainingConfig {
        let architecture = try Architecture.named(model, input: data.shape, classCount: data.classCount)
        let config = TrainingConfig(
            model: architecture.name, rule: rule, dataset: data.name, dataDirectory: dataDirectory,
            epochs: epochs ?? 100, batchSize: batchSize ?? architecture.defaultBatchSize,
            learningRate: Float(learningRate ?? 0.01), decayEpochs: decayEpochs ?? [60, 90],
            decayFactor: Float(decayFactor ?? 0.1), momentum: Float(momentum ?? 0.9),
            dropoutKeep: Float(dropoutKeep ?? 0.9), projectionScale: Float(projectionScale ?? 0.05),
            lastLayerError: lastLayerError ?? architecture.defaultLastLayerError,
            convolutionBatchAverageTwice: convolutionBatchAverageTwice, shuffle: shuffle, seed: seed,
            validationFraction: validationFraction, threads: threads, fitEpochs: fitEpochs ?? 100,
            initDirectory: initDirectory, countOperations: countOperations, precision: precision)
        try config.validate()
        return config
    }

    /// Builds the trainer of a new run, reading `--init` weights if given (a resumed
    /// run reads its checkpoint instead: `RunDirectory.resumeInitialState`).
    func makeTrainer(config: TrainingConfig, dataset: Dataset) throws -> Trainer {
        var initial: InitialState? = nil
        if let directory = config.initDirectory {
            let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
            initial = try RunDirectory.readInitialState(from: directory, architecture: architecture,
                                                        readProjection: config.rule.isPepita)
        }
        return try Trainer(config: config, dataset: dataset, initial: initial, countOperations: config.countsOperations)
    }
}

/// Progress on stderr: one plain line per epoch (SPEC §6: no control codes
/// unless stderr is a terminal, where the line is rewritten in place).
struct Progress {
    let label: String
    let interactive = isatty(2) == 1

    func report(_ metrics: EpochMetrics, of epochs: Int) {
        let line = label + String(format: " epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  %.2fs",
                          metrics.epoch, epochs, Double(metrics.learningRate), metrics.trainLoss,
                          100 * metrics.trainAccuracy, metrics.testLoss, 100 * metrics.testAccuracy, metrics.trainSeconds)
        if interactive {
            try? FileHandle.standardError.write(contentsOf: Data(("\r\u{1B}[K" + line + (metrics.epoch == epochs ? "\n" : "")).utf8))
        } else {
            standardError(line)
        }
    }
}
