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
            let shape = try Self.parseShape(inputText)
            return Resolved(shape: shape, classes: classes, trainingSamples: nil,
                            description: "input \(shape), \(classes) classes (given)")
        }
        let name = datasetName ?? "digits"
        guard let known = DatasetCatalog.descriptions.first(where: { $0.name == name }) else {
            throw UsageError("unknown dataset '\(name)' (known: \(DatasetCatalog.names.joined(separator: ", ")); or give --input CxHxW --classes N)")
        }
        return Resolved(shape: known.shape, classes: known.classes, trainingSamples: known.trainingSamples,
                        description: "\(known.name): \(known.shape), \(known.classes) classes, \(known.trainingSamples) training samples (from the built-in table; no data read)")
    }

    /// The most values per sample `--input` may give (2^40, the cost model's limit).
    static let largestInputValues = 1 << 40

    /// `1x28x28` (channels x height x width) or `784` (a flat vector, 1x1x784).
    static func parseShape(_ text: String) throws -> SampleShape {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw UsageError("--input must be CxHxW with positive sizes (e.g. 1x28x28) or a count, got '\(text)'")
        }
        let sizes = parts.map { $0! }
        // Multiplied with overflow checks: the engine's shapes multiply C*H*W unchecked.
        var values = 1
        for size in sizes {
            let (product, overflow) = values.multipliedReportingOverflow(by: size)
            guard !overflow, product <= largestInputValues else {
                throw UsageError("--input '\(text)' is too large: more than 2^40 values per sample")
            }
            values = product
        }
        switch sizes.count {
        case 1: return SampleShape(channels: 1, height: 1, width: sizes[0])
        case 3: return SampleShape(channels: sizes[0], height: sizes[1], width: sizes[2])
        default: throw UsageError("--input must be CxHxW (e.g. 1x28x28) or a count, got '\(text)'")
        }
    }
}
