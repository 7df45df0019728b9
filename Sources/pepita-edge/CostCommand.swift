import EngineCost
import Foundation
import HWModel
import PepitaEngine
import Quantized

/// `pepita-edge cost`: what one training step (and epoch) of a model costs on a
/// hardware profile, per rule and precision. Parses, builds the network's
/// shapes from the engine's `Architecture`, calls `CostModel.report` once per
/// rule and precision, formats (`CostReport+Text.swift`).
enum CostCommand {
    static let help = """
    USAGE: pepita-edge cost [options]

    Counts, storage, energy and latency of training on a chip (the analytic model
    of HWModel; no data is read and nothing is trained): per rule and precision,
    MACs per sample by phase, bytes read and written, peak live storage by
    category, whether it fits on chip, energy and roofline latency per sample and
    per epoch, and ratios to BP when BP is among the rules. Every table is
    followed by the inputs and assumptions it was priced under.

    OPTIONS:
      --model NAME           fc (one hidden layer of 1024), fc:784-1024-10 (any sizes),
                             Net1conv1fcXL, Net1conv1fcXL_cif           [fc]
      --rule LIST            pepita, pepita-sign, bp, fa, dfa, comma-separated, or all [pepita,bp]
      --precision LIST       float32, int16, int8, int8-stochastic or a precision config
                             file, comma-separated [float32]
      --profile NAME|FILE    a hardware profile: a name from `pepita-edge profiles list`
                             or a JSON file [horowitz-45nm]
      --batch N              samples per training step [64 for fc, 50 for conv models]
      --dataset NAME         the input shape, classes and training-set size of
                             digits (1x8x8, 10, 1437), mnist, fashion-mnist (1x28x28, 10, 60000),
                             cifar10 (3x32x32, 10, 50000), cifar100 (3x32x32, 100, 50000) [digits]
      --input CxHxW          instead of --dataset: the sample shape (e.g. 1x28x28, or 784) ...
      --classes N            ... and the number of classes
      --samples N            samples per epoch [the dataset's training set; none with --input]
      --last-layer-error E   modulated | first-pass: PEPITA's last-layer error
                             [modulated for fc, first-pass for conv models]
      --dropout-keep X       keep probability of hidden dense layers, 1 = off [0.9]
      --format F             table | json | csv | md | html [table]; html is one
                             self-contained page with SVG charts (no script, no external files)
      --run DIR[,DIR...]     (html) add the test-accuracy curves of saved runs: a run
                             directory of train, or compare's --run-dir (every run in it)
      --out PATH             write the report to PATH instead of stdout
      --check                instead of the report: run one real training step per rule and
                             precision with the engine's operation counters on and print the
                             analytic counts beside the counted ones, phase by phase and layer
                             by layer, ending with "equal" or the first difference (exit 1)
    """

    /// Shapes and training-set sizes of the datasets `train` knows, so that
    /// costing a model needs no data on the machine.
    struct DatasetShape {
        var name: String
        var shape: SampleShape
        var classes: Int
        var trainingSamples: Int
    }

    static let datasetShapes = [
        DatasetShape(name: "digits", shape: SampleShape(channels: 1, height: 8, width: 8), classes: 10, trainingSamples: 1437),
        DatasetShape(name: "mnist", shape: SampleShape(channels: 1, height: 28, width: 28), classes: 10, trainingSamples: 60_000),
        DatasetShape(name: "fashion-mnist", shape: SampleShape(channels: 1, height: 28, width: 28), classes: 10, trainingSamples: 60_000),
        DatasetShape(name: "cifar10", shape: SampleShape(channels: 3, height: 32, width: 32), classes: 10, trainingSamples: 50_000),
        DatasetShape(name: "cifar100", shape: SampleShape(channels: 3, height: 32, width: 32), classes: 100, trainingSamples: 50_000),
    ]

    /// The JSON document: every report in full.
    struct Document: Encodable {
        var schemaVersion = 1
        var tool = "pepita-edge"
        var reports: [CostReport]
    }

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        let modelName = try arguments.string("--model") ?? "fc"
        let rules = try parseRules(try arguments.string("--rule") ?? "pepita,bp")
        let precisionList = try arguments.string("--precision") ?? "float32"
        let profileName = try arguments.string("--profile") ?? "horowitz-45nm"
        let batchGiven = try arguments.integer("--batch")
        let datasetName = try arguments.string("--dataset")
        let inputText = try arguments.string("--input")
        let classesGiven = try arguments.integer("--classes")
        let samplesGiven = try arguments.integer("--samples")
        var lastLayerError: PepitaLastLayerError? = nil
        if let text = try arguments.string("--last-layer-error") {
            guard let value = PepitaLastLayerError(rawValue: text) else {
                throw UsageError("--last-layer-error must be modulated or first-pass, got '\(text)'")
            }
            lastLayerError = value
        }
        let dropoutKeep = try arguments.number("--dropout-keep") ?? 0.9
        let runPaths = try arguments.string("--run").map { $0.split(separator: ",").map(String.init) } ?? []
        let check = arguments.flag("--check")
        let (format, outPath) = try OutputFormat.parse(&arguments, allowing: OutputFormat.allCases)
        try arguments.finish()
        if !runPaths.isEmpty && format != .html { throw UsageError("--run adds accuracy curves to --format html only") }
        if check && format == .html { throw UsageError("--check prints table, md, csv or json, not html") }

        guard dropoutKeep > 0, dropoutKeep <= 1 else { throw UsageError("--dropout-keep must be in (0, 1], got \(dropoutKeep)") }
        if let batch = batchGiven, batch < 1 { throw UsageError("--batch must be >= 1, got \(batch)") }
        if let samples = samplesGiven, samples < 1 { throw UsageError("--samples must be >= 1, got \(samples)") }

        // The data's shape: a known dataset, or --input and --classes.
        let shape: SampleShape, classes: Int, dataDescription: String
        var samplesPerEpoch = samplesGiven
        if inputText != nil || classesGiven != nil {
            if let datasetName { throw UsageError("give --dataset \(datasetName) or --input and --classes, not both") }
            guard let inputText, let classesGiven else { throw UsageError("--input and --classes go together") }
            guard classesGiven >= 1 else { throw UsageError("--classes must be >= 1, got \(classesGiven)") }
            shape = try parseShape(inputText)
            classes = classesGiven
            dataDescription = "input \(shape), \(classes) classes (given)"
        } else {
            let name = datasetName ?? "digits"
            guard let known = datasetShapes.first(where: { $0.name == name }) else {
                throw UsageError("unknown dataset '\(name)' (known: \(datasetShapes.map(\.name).joined(separator: ", ")); or give --input CxHxW --classes N)")
            }
            shape = known.shape
            classes = known.classes
            samplesPerEpoch = samplesPerEpoch ?? known.trainingSamples
            dataDescription = "\(known.name): \(known.shape), \(known.classes) classes, \(known.trainingSamples) training samples (from the built-in table; no data read)"
        }

        let architecture = try Architecture.named(modelName, input: shape, classCount: classes)
        let network = NetworkShape(architecture)
        let batch = batchGiven ?? architecture.defaultBatchSize
        let precisions = try precisionList.split(separator: ",").map { try PrecisionConfig.load(String($0)) }
        if precisions.isEmpty { throw UsageError("--precision needs a preset name or a file") }
        if check {
            return try CostCheck.run(architecture: architecture, rules: rules, precisions: precisions, batch: batch,
                                     dropoutKeep: dropoutKeep, lastLayerError: lastLayerError, format: format, outPath: outPath)
        }
        let (profile, profilePath) = try ProfileCatalog.load(profileName)
        let options = StepOptions(dropoutKeep: dropoutKeep, pepitaLastLayerError: lastLayerError)

        let reports = try precisions.flatMap { precision in
            try rules.map { rule in
                try CostModel.report(network: network, rule: rule, batch: batch, precision: precision, profile: profile,
                                     samplesPerEpoch: samplesPerEpoch, options: options)
            }
        }
        let text = format == .json
            ? try jsonText(Document(reports: reports))
            : CostText(reports: reports, request: CostRequest(model: modelName, data: dataDescription, profile: profile,
                                                              profileFile: profilePath, runs: try RunCurve.load(runPaths)))
                .render(format)
        try OutputFormat.emit(text, to: outPath)
    }

    /// `pepita,bp`, `all`.
    static func parseRules(_ text: String) throws -> [TrainingRule] {
        if text == "all" { return TrainingRule.allCases }
        let rules = try text.split(separator: ",").map { word -> TrainingRule in
            guard let rule = TrainingRule(rawValue: String(word)) else {
                throw UsageError("unknown rule '\(word)' (known: \(TrainingRule.allCases.map(\.rawValue).joined(separator: ", ")), all)")
            }
            return rule
        }
        if rules.isEmpty { throw UsageError("--rule needs at least one rule") }
        return rules
    }

    /// `1x28x28` (channels x height x width) or `784` (a flat vector, 1x1x784).
    static func parseShape(_ text: String) throws -> SampleShape {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw UsageError("--input must be CxHxW with positive sizes (e.g. 1x28x28) or a count, got '\(text)'")
        }
        let sizes = parts.map { $0! }
        switch sizes.count {
        case 1: return SampleShape(channels: 1, height: 1, width: sizes[0])
        case 3: return SampleShape(channels: sizes[0], height: sizes[1], width: sizes[2])
        default: throw UsageError("--input must be CxHxW (e.g. 1x28x28) or a count, got '\(text)'")
        }
    }
}

/// What the user asked for, in words, for the report's inputs block.
struct CostRequest {
    /// `--model` as given (`fc`), beside the network it became (`fc:64-1024-10`).
    var model: String
    var data: String
    /// The profile priced on, for its notes.
    var profile: HardwareProfile
    var profileFile: String
    /// Saved runs whose accuracy the HTML report charts (`--run`).
    var runs: [RunCurve] = []
}
