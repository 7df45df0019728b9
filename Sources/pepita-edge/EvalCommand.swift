import Foundation
import PepitaEngine
import Quantized

enum EvalCommand {
    static let help = """
    USAGE: pepita-edge eval --run-dir DIR [options]

    Loads a trained run's weights (DIR/weights/, or DIR/checkpoint/ if the run
    did not finish) and its config, and prints loss and accuracy on a dataset.

    OPTIONS:
      --run-dir DIR        the run to evaluate (required)
      --checkpoint         use DIR/checkpoint/ even when DIR/weights/ exists
      --dataset NAME       dataset to evaluate on [the run's]
      --data-dir DIR       where its files are [the run's]
      --split S            test | train [test]
      --precision P        evaluate in another arithmetic than the run's (e.g. float32
                           weights quantised to int8: post-training quantisation) [the run's]
      --threads N          worker threads [all cores]
      --format F           table | json | csv | md [table]
      --out PATH           write the result to PATH instead of stdout
    """

    struct Result: Codable {
        var model: String
        var rule: RuleKind
        var precision: String
        var weights: String
        var dataset: String
        var split: String
        var samples: Int
        var loss: Double
        var accuracy: Double
    }

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        guard let path = try arguments.string("--run-dir") else { throw UsageError("eval needs --run-dir DIR") }
        let useCheckpoint = arguments.flag("--checkpoint")
        let datasetName = try arguments.string("--dataset")
        let dataDirectory = try arguments.string("--data-dir")
        let split = try arguments.string("--split") ?? "test"
        guard split == "test" || split == "train" else { throw UsageError("--split must be test or train, got '\(split)'") }
        let precision = try arguments.string("--precision").map { try PrecisionConfig.load($0) }
        let threads = try arguments.integer("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw UsageError("--threads must be >= 1, got \(threads)") }
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()

        let run = RunDirectory(path: path)
        let config = try run.readConfig()
        let dataset = try DatasetCatalog.load(name: datasetName ?? config.dataset,
                                              dataDirectory: datasetName == nil ? (dataDirectory ?? config.dataDirectory) : dataDirectory)
        let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
        let finished = FileManager.default.fileExists(atPath: run.weightsPath + "/W0.npy")
        let weightsDirectory = (useCheckpoint || !finished) ? run.checkpointPath : run.weightsPath
        let state = try RunDirectory.readInitialState(from: weightsDirectory, architecture: architecture,
                                                      readProjection: config.rule.isPepita)
        // The run's own arithmetic evaluates it: fixed-point weights are read
        // back exactly (codes * 2^-n) and narrowed into the same formats.
        var evaluationConfig = config
        evaluationConfig.threads = threads
        evaluationConfig.dataset = dataset.name
        if let precision { evaluationConfig.precision = precision }
        let engine = try Trainer(config: evaluationConfig, dataset: dataset, initial: state).engine
        let samples = split == "test" ? dataset.test : dataset.train
        let evaluation = engine.evaluate(samples)
        let result = Result(model: config.model, rule: config.rule, precision: evaluationConfig.precision.name, weights: weightsDirectory, dataset: dataset.name,
                            split: split, samples: samples.count, loss: evaluation.loss, accuracy: evaluation.accuracy)
        let text: String
        if format == .json {
            text = try jsonText(result)
        } else {
            let table = TextTable(header: ["model", "rule", "precision", "dataset", "split", "samples", "loss", "accuracy %"],
                                  rows: [[result.model, result.rule.rawValue, result.precision, result.dataset, split, String(samples.count),
                                          String(format: "%.4f", evaluation.loss), percent(evaluation.accuracy)]])
            text = format == .csv ? table.csv : format == .md ? table.markdown : table.aligned
        }
        try OutputFormat.emit(text, to: outPath)
    }
}
