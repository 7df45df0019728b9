import Foundation
import HWModel
import PepitaEngine

/// `pepita-edge network export|show`: write an engine model as a network
/// description (the JSON `cost --network` reads), or check a description and
/// list its layers with their inferred shapes, parameters and MACs.
enum NetworkCommand {
    static let help = """
    USAGE: pepita-edge network export --model NAME [--dataset NAME | --input CxHxW --classes N] [--out PATH]
           pepita-edge network show FILE [--format table|json|csv|md] [--out PATH]

    export  writes the engine model NAME (fc, fc:784-1024-10, Net1conv1fcXL,
            Net1conv1fcXL_cif) built for the dataset's shape [digits] as a network
            description; `cost --network` on it prices exactly what `cost --model` does.
    show    checks a network description (errors name layers[i].field and the layer)
            and lists each layer: type, output shape, parameters, forward MACs per sample.
    """

    static func run(_ words: [String]) throws {
        var arguments = Arguments(Array(words.dropFirst()))
        switch words.first {
        case nil, "--help", "-h", "help":
            print(help)
        case "export":
            if arguments.wantsHelp { print(help); return }
            let model = try arguments.string("--model") ?? "fc"
            let data = try DataShapeOptions(&arguments)
            let outPath = try arguments.string("--out")
            try arguments.finish()
            let resolved = try data.resolve()
            let architecture = try Architecture.named(model, input: resolved.shape, classCount: resolved.classes)
            try OutputFormat.emit(try NetworkDescription(NetworkShape(architecture)).jsonText(), to: outPath)
        case "show":
            if arguments.wantsHelp { print(help); return }
            let (format, outPath) = try OutputFormat.parse(&arguments)
            let path = try arguments.positional("a network description file")
            try arguments.finish()
            let network = try NetworkDescription(contentsOf: URL(fileURLWithPath: path)).resolve()
            try OutputFormat.emit(try layerListing(network, format: format), to: outPath)
        case let other?:
            throw UsageError("unknown network subcommand '\(other)' (try: export, show, --help)")
        }
    }

    static func layerListing(_ network: ResolvedNetwork, format: OutputFormat) throws -> String {
        let table = TextTable(
            header: ["#", "layer", "type", "reads", "output", "params", "forward MACs"],
            rows: network.layers.map { layer in
                [String(layer.index), layer.name, layer.kind.typeName,
                 layer.inputs.map { $0 < 0 ? "input" : network.layers[$0].name }.joined(separator: " + "),
                 layer.outputShape.description, String(layer.parameterCount), String(layer.forwardMACsPerSample)]
            })
        let summary = "\(network.network.name): input \(network.network.input), \(network.layers.count) layers, "
            + "\(network.parameterCount) parameters (\(network.trainableCount) trainable), \(network.forwardMACsPerSample) forward MACs per sample\n"
        switch format {
        case .table, .html: return summary + table.aligned  // html is not offered here (OutputFormat.textFormats)
        case .md: return summary + "\n" + table.markdown
        case .csv: return table.csv
        case .json: return try network.network.jsonText()
        }
    }
}
