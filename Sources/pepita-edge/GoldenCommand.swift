import Foundation
import PepitaEngine
import Quantized

enum GoldenCommand {
    static let help = """
    USAGE: pepita-edge golden --out DIR [options]

    Golden test vectors for RTL verification: runs ONE fixed-point training step
    on the first --samples training samples (file order) and writes every tensor
    of it as an integer .npy file (inputs, weights, both passes' activations,
    errors, x_mod, update sums, narrowed updates, velocities, new weights), in
    computation order, plus manifest.json with each tensor's format
    (value = code * 2^-fractionalBits) and the full configuration.

    OPTIONS:
      --out DIR              directory to write (refused if it holds a manifest, unless --force)
      --samples N            samples in the step (the batch) [4]
      --rule NAME            pepita, pepita-sign, bp, fa, dfa [pepita]
      --precision P          a fixed-point preset or config file [int8]
      --model, --dataset, --data-dir, --lr, --momentum, --dropout-keep, --bstd,
      --last-layer-error, --conv-single-average, --seed, --threads, --init: as for train
      --force                overwrite an existing golden directory
    """

    struct Header: Encodable {
        var tool = "pepita-edge"
        var config: TrainingConfig
        var samples: Int
        var learningRate: Float
        var note = "one training step; tensors in computation order; value = code * 2^-fractionalBits"
    }

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        guard let out = try arguments.string("--out") else { throw UsageError("golden needs --out DIR") }
        let samples = try arguments.integer("--samples") ?? 4
        guard samples >= 1 else { throw UsageError("--samples must be >= 1, got \(samples)") }
        let force = arguments.flag("--force")
        var options = try TrainingOptions.parse(&arguments, readsRule: true)
        try arguments.finish()
        if !options.precisionGiven { options.precisions = [PrecisionConfig.preset(named: "int8")!] }
        guard options.precisions.count == 1, !options.precisions[0].isFloat else {
            throw UsageError("golden needs one fixed-point --precision (e.g. int8, int16 or a config file)")
        }
        if FileManager.default.fileExists(atPath: out + "/manifest.json") && !force {
            throw UsageError("\(out) already holds golden vectors; choose another --out or pass --force")
        }
        let dataset = try options.loadDataset()
        guard samples <= dataset.train.count else {
            throw UsageError("--samples \(samples) is more than the \(dataset.train.count) training samples")
        }
        var config = try options.resolve(rule: options.rule, precision: options.precisions[0], for: dataset)
        config.batchSize = samples
        config.epochs = 1
        let trainer = try options.makeTrainer(config: config, dataset: dataset)
        guard let engine = trainer.engine as? FixedPointEngine else { throw UsageError("golden needs fixed point") }
        let batch = dataset.train.subset(0..<samples)
        var dropout = RandomStream(seed: config.seed, purpose: .dropout)
        let masks = dropoutMasks(for: trainer.architecture, batch: samples, keep: config.dropoutKeep, random: &dropout)
        let learningRate = config.schedule.learningRate(epoch: 0)
        let recorder = engine.goldenStep(input: Matrix(rows: samples, columns: batch.shape.featureCount, values: batch.pixels),
                                         labels: batch.labels, masks: masks, learningRate: learningRate)
        try recorder.write(to: out, header: Header(config: config, samples: samples, learningRate: learningRate))
        standardError("wrote \(recorder.entries.count) tensors and manifest.json to \(out)")
    }
}
