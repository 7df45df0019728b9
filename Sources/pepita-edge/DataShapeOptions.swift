import PepitaEngine

/// `--dataset NAME` or `--input CxHxW --classes N`: the sample shape and
/// classes an engine model is built for, without reading any data (shared by
/// `cost` and `network export`).
struct DataShapeOptions {
    var datasetName: String?
    var inputText: String?
    var classes: Int?

    init(_ arguments: inout Arguments) throws {
        datasetName = try arguments.string("--dataset")
        inputText = try arguments.string("--input")
        classes = try arguments.integer("--classes")
    }

    var isGiven: Bool { datasetName != nil || inputText != nil || classes != nil }

    struct Resolved {
        var shape: SampleShape
        var classes: Int
        /// The dataset's training-set size; nil for `--input`.
        var trainingSamples: Int?
        /// For the report's inputs block.
        var description: String
    }

    /// A known dataset (default `digits`), or `--input` and `--classes`.
    func resolve() throws -> Resolved {
        if inputText != nil || classes != nil {
            if let datasetName { throw UsageError("give --dataset \(datasetName) or --input and --classes, not both") }
            guard let inputText, let classes else { throw UsageError("--input and --classes go together") }
            guard classes >= 1 else { throw UsageError("--classes must be >= 1, got \(classes)") }
            let shape = try CostCommand.parseShape(inputText)
            return Resolved(shape: shape, classes: classes, trainingSamples: nil,
                            description: "input \(shape), \(classes) classes (given)")
        }
        let name = datasetName ?? "digits"
        guard let known = CostCommand.datasetShapes.first(where: { $0.name == name }) else {
            throw UsageError("unknown dataset '\(name)' (known: \(CostCommand.datasetShapes.map(\.name).joined(separator: ", ")); or give --input CxHxW --classes N)")
        }
        return Resolved(shape: known.shape, classes: known.classes, trainingSamples: known.trainingSamples,
                        description: "\(known.name): \(known.shape), \(known.classes) classes, \(known.trainingSamples) training samples (from the built-in table; no data read)")
    }
}
