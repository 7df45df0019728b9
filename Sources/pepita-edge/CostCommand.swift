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

    An engine model (--model, or --network on a file `network export` wrote)
    with the engine's rules is priced operation for operation as the engine
    trains it (with dropout, epochs, PEPITA's last-layer error). Any other
    network, the rules pepita-ms and ff, or --per-layer price the description
    layer by layer (NetworkCostModel): per training sample, every rule side by
    side, peak RAM under two assumptions (every buffer kept; buffers reused
    as soon as dead); batch 1 unless --batch.

    OPTIONS:
      --model NAME           fc (one hidden layer of 1024), fc:784-1024-10 (any sizes),
                             Net1conv1fcXL, Net1conv1fcXL_cif           [fc]
      --network FILE         instead of --model: a network description (JSON; see the
                             README and networks/*.json: dense, conv2d with stride, padding
                             and groups, pooling, flatten, relu, batchNorm, residual add)
      --rule LIST            pepita, pepita-sign, bp, fa, dfa, pepita-ms (memory-saving
                             PEPITA), ff (Forward-Forward), comma-separated, or all
                             [pepita,bp for an engine model; all for a described network]
      --per-layer            break the costs down by layer (every rule side by side)
      --precision LIST       float32, int16, int8, int8-stochastic, int16-stochastic or a precision config
                             file, comma-separated [float32]
      --profile NAME|FILE    a hardware profile: a name from `pepita-edge profiles list`
                             or a JSON file [horowitz-45nm]
      --batch N              samples per training step, at most 65536 [64 for fc, 50 for conv
                             models, 1 for a described network]
      --dataset NAME         the input shape, classes and training-set size of
                             digits (1x8x8, 10, 1437), mnist, fashion-mnist (1x28x28, 10, 60000),
                             cifar10 (3x32x32, 10, 50000), cifar100 (3x32x32, 100, 50000) [digits]
      --input CxHxW          instead of --dataset: the sample shape (e.g. 1x28x28, or 784) ...
      --classes N            ... and the number of classes
      --samples N            samples per epoch, at most 2^40 [the dataset's training set; none with --input]
      --last-layer-error E   modulated | first-pass: PEPITA's last-layer error
                             [modulated for fc, first-pass for conv models]
      --dropout-keep X       keep probability of hidden dense layers, 1 = off [0.9 for an engine
                             model, also with --per-layer; 1 for any other described network]
      --format F             table | json | csv | md | html [table]; html is one
                             self-contained page with SVG charts (no script, no external files;
                             engine models priced by rule, not --network or --per-layer)
      --run DIR[,DIR...]     (html) add the test-accuracy curves of saved runs: a run
                             directory of train, or compare's --run-dir (every run in it)
      --out PATH             write the report to PATH instead of stdout
      --check                instead of the report: run one real training step per rule and
                             precision of an engine model (--model) with the engine's operation
                             counters on and print the analytic counts beside the counted ones,
                             phase by phase and layer by layer, ending with "equal" or the first
                             difference (exit 1); the engine's five rules only, --batch at
                             most 4096, no --per-layer, --profile or --samples
    """

    /// The JSON document: every report in full.
    struct Document: Encodable {
        var schemaVersion = 1
        var tool = "pepita-edge"
        var reports: [CostReport]
    }

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        let modelGiven = try arguments.string("--model")
        let networkPath = try arguments.string("--network")
        let perLayer = arguments.flag("--per-layer")
        let ruleText = try arguments.string("--rule")
        let precisionList = try arguments.string("--precision") ?? "float32"
        let profileGiven = try arguments.string("--profile")
        let profileName = profileGiven ?? "horowitz-45nm"
        let batchGiven = try arguments.integer("--batch")
        let data = try DataShapeOptions(&arguments)
        let samplesGiven = try arguments.integer("--samples")
        var lastLayerError: PepitaLastLayerError? = nil
        if let text = try arguments.string("--last-layer-error") {
            guard let value = PepitaLastLayerError(rawValue: text) else {
                throw UsageError("--last-layer-error must be modulated or first-pass, got '\(text)'")
            }
            lastLayerError = value
        }
        let dropoutGiven = try arguments.number("--dropout-keep")
        let dropoutKeep = dropoutGiven ?? 0.9
        let runPaths = try arguments.string("--run").map { $0.split(separator: ",").map(String.init) } ?? []
        let check = arguments.flag("--check")
        let (format, outPath) = try OutputFormat.parse(&arguments, allowing: OutputFormat.allCases)
        try arguments.finish()
        if !runPaths.isEmpty && format != .html { throw UsageError("--run adds accuracy curves to --format html only") }
        if check && format == .html { throw UsageError("--check prints table, md, csv or json, not html") }

        guard dropoutKeep > 0, dropoutKeep <= 1 else { throw UsageError("--dropout-keep must be in (0, 1], got \(dropoutKeep)") }
        if let batch = batchGiven, batch < 1 { throw UsageError("--batch must be >= 1, got \(batch)") }
        if !check, let batch = batchGiven, batch > NetworkCostModel.largestBatch {
            throw UsageError("--batch must be at most \(NetworkCostModel.largestBatch), got \(batch)")
        }
        if let samples = samplesGiven, samples < 1 { throw UsageError("--samples must be >= 1, got \(samples)") }
        if let samples = samplesGiven, samples > CostModel.largestSampleCount {
            throw UsageError("--samples must be at most 2^40 (\(CostModel.largestSampleCount)), got \(samples)")
        }
        if check {
            // --check runs the engine once per rule and precision; it prices nothing.
            for (flag, given) in [("--per-layer", perLayer), ("--profile", profileGiven != nil), ("--samples", samplesGiven != nil)] where given {
                throw UsageError("--check runs one engine step and prices nothing; \(flag) does not apply to it")
            }
            if let batch = batchGiven, batch > CostCheck.largestBatch {
                throw UsageError("--check runs a real training step in memory: --batch must be at most \(CostCheck.largestBatch), got \(batch)")
            }
        }

        // The network: an engine model on a dataset's shape, or a description file.
        let description: NetworkDescription, engineNetwork: NetworkShape?, defaultBatch: Int
        var engineArchitecture: Architecture? = nil
        var samplesPerEpoch = samplesGiven
        let modelText: String, dataDescription: String
        if let networkPath {
            if let modelGiven { throw UsageError("give --model \(modelGiven) or --network FILE, not both") }
            if data.isGiven { throw UsageError("--network FILE gives the input shape and classes; drop --dataset, --input and --classes") }
            description = try NetworkDescription(contentsOf: URL(fileURLWithPath: networkPath))
            engineNetwork = NetworkShape(lowering: description)
            // As `Architecture.defaultBatchSize`: the conv reference's 50, the FC references' 64.
            defaultBatch = engineNetwork.map { $0.layers.contains(where: \.isConvolution) ? 50 : 64 } ?? 1
            modelText = description.name
            dataDescription = "input \(description.input) from \(networkPath)" + (samplesGiven.map { ", \($0) samples per epoch (given)" } ?? "")
        } else {
            let resolved = try data.resolve()
            samplesPerEpoch = samplesPerEpoch ?? resolved.trainingSamples
            let architecture = try Architecture.named(modelGiven ?? "fc", input: resolved.shape, classCount: resolved.classes)
            let network = NetworkShape(architecture)
            description = NetworkDescription(network)
            engineArchitecture = architecture
            engineNetwork = network
            defaultBatch = architecture.defaultBatchSize
            modelText = modelGiven ?? "fc"
            dataDescription = resolved.description
        }
        let requested = try ruleText.flatMap(parseRules)
        let priceAsDescribed = engineNetwork == nil || perLayer || (requested ?? []).contains { !$0.isEngineRule }
        let precisions = try precisionList.split(separator: ",").map { try PrecisionConfig.load(String($0)) }
        if precisions.isEmpty { throw UsageError("--precision needs a preset name or a file") }
        let (profile, profilePath) = try ProfileCatalog.load(profileName)
        let batch = batchGiven ?? defaultBatch
        if check {
            guard let architecture = engineArchitecture else { throw UsageError("--check runs the engine: give --model, not --network") }
            if let rule = requested?.first(where: { !$0.isEngineRule }) {
                throw UsageError("--check runs the engine's rules (\(TrainingRule.engineRules.map(\.rawValue).joined(separator: ", "))), not \(rule.rawValue)")
            }
            try CostCheck.checkFits(network: engineNetwork!, batch: batch)
            return try CostCheck.run(architecture: architecture, rules: requested ?? TrainingRule.engineRules, precisions: precisions,
                                     batch: batch, dropoutKeep: dropoutKeep, lastLayerError: lastLayerError, format: format, outPath: outPath)
        }

        if priceAsDescribed {
            // Every rule on the description's layers (NetworkCostModel).
            for (flag, given) in [("--samples", samplesGiven != nil), ("--last-layer-error", lastLayerError != nil)] where given {
                throw UsageError("\(flag) applies to the engine's models priced by rule (pepita, pepita-sign, bp, fa, dfa without --per-layer), not to this network or rule list")
            }
            // An engine model keeps the engine's dropout (so --per-layer agrees with the
            // exact model); any other network has none unless asked for.
            let describedDropoutKeep = engineNetwork != nil ? dropoutKeep : dropoutGiven ?? 1
            if format == .html { throw UsageError("--format html covers engine models priced by rule; use table, md, csv or json with --network or --per-layer") }
            let rules = requested ?? TrainingRule.allCases
            let reports = try precisions.map { precision in
                try NetworkCostModel.report(network: description, rules: rules, batch: batch, precision: precision, profile: profile,
                                            dropoutKeep: describedDropoutKeep)
            }
            let text = format == .json
                ? try jsonText(NetworkDocument(networkReports: reports))
                : NetworkCostText(reports: reports, perLayer: perLayer, profile: profile, profileFile: profilePath).render(format)
            try OutputFormat.emit(text, to: outPath)
            return
        }

        // The engine's rules on an engine network: the exact model (CostModel).
        let rules = requested ?? (ruleText == nil ? [.pepita, .bp] : TrainingRule.engineRules)
        let network = engineNetwork!
        let options = StepOptions(dropoutKeep: dropoutKeep, pepitaLastLayerError: lastLayerError)
        let reports = try precisions.flatMap { precision in
            try rules.map { rule in
                try CostModel.report(network: network, rule: rule, batch: batch, precision: precision, profile: profile,
                                     samplesPerEpoch: samplesPerEpoch, options: options)
            }
        }
        let text = format == .json
            ? try jsonText(Document(reports: reports))
            : CostText(reports: reports, request: CostRequest(model: modelText, data: dataDescription, profile: profile,
                                                              profileFile: profilePath, runs: try RunCurve.load(runPaths)))
                .render(format)
        try OutputFormat.emit(text, to: outPath)
    }

    /// The JSON document of the described-network path: one report per precision.
    struct NetworkDocument: Encodable {
        var schemaVersion = 1
        var tool = "pepita-edge"
        var networkReports: [NetworkCostReport]
    }

    /// `pepita,bp`; `all` is every rule the chosen path prices (the engine's
    /// five on an engine model, all seven on a described network), returned as nil.
    static func parseRules(_ text: String) throws -> [TrainingRule]? {
        if text == "all" { return nil }
        let rules = try text.split(separator: ",").map { word -> TrainingRule in
            guard let rule = TrainingRule(rawValue: String(word)) else {
                throw UsageError("unknown rule '\(word)' (known: \(TrainingRule.allCases.map(\.rawValue).joined(separator: ", ")), all)")
            }
            return rule
        }
        if rules.isEmpty { throw UsageError("--rule needs at least one rule") }
        return rules
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
