/// One weighted layer of a network and what follows it.
///
/// Every hidden layer is followed by ReLU; the last layer by softmax. Networks
/// have no biases (as in the PEPITA reference code).
public enum LayerSpec: Codable, Equatable, Sendable {
    /// Fully connected, weight `outputs x inputs`. Hidden dense layers get
    /// inverted dropout after ReLU.
    case dense(inputs: Int, outputs: Int)
    /// Convolution with stride 1 and no padding, weight
    /// `outChannels x (input.channels * kernelSize * kernelSize)`, then ReLU,
    /// then (when `maxPool`) 2x2 max pooling with stride 2.
    case conv(input: SampleShape, outChannels: Int, kernelSize: Int, maxPool: Bool)

    /// Scalars per sample going in.
    public var inputCount: Int {
        switch self {
        case let .dense(inputs, _): return inputs
        case let .conv(input, _, _, _): return input.featureCount
        }
    }

    /// Shape of the convolution's own output (before pooling).
    public var convolutionOutputShape: SampleShape? {
        guard case let .conv(input, outChannels, k, _) = self else { return nil }
        return SampleShape(channels: outChannels, height: input.height - k + 1, width: input.width - k + 1)
    }

    /// Scalars per sample coming out (after pooling, if any).
    public var outputCount: Int {
        switch self {
        case let .dense(_, outputs): return outputs
        case let .conv(_, _, _, maxPool):
            let shape = convolutionOutputShape!
            return maxPool ? MaxPool.outputShape(shape).featureCount : shape.featureCount
        }
    }

    /// Rows and columns of the weight matrix.
    public var weightShape: (rows: Int, columns: Int) {
        switch self {
        case let .dense(inputs, outputs): return (outputs, inputs)
        case let .conv(input, outChannels, k, _): return (outChannels, input.channels * k * k)
        }
    }

    /// Fan-in used by he_uniform: inputs of a dense layer, channels x k x k of a conv.
    public var fanIn: Int { weightShape.columns }

    public var isConvolution: Bool {
        if case .conv = self { return true }
        return false
    }
}

/// Which error drives the last layer's PEPITA update.
public enum LastLayerError: String, Codable, Sendable, CaseIterable {
    /// `e_mod = y_mod - onehot`, as the fully connected references do.
    case modulated
    /// `e = y - onehot` from the first pass, as the convolutional reference does.
    case firstPass = "first-pass"
}

/// A network description: its name as the user gave it, and its layers.
public struct Architecture: Codable, Equatable, Sendable {
    /// `fc:784-1024-10`, `Net1conv1fcXL`, `Net1conv1fcXL_cif`.
    public var name: String
    public var input: SampleShape
    public var classCount: Int
    public var layers: [LayerSpec]

    public init(name: String, input: SampleShape, classCount: Int, layers: [LayerSpec]) {
        self.name = name
        self.input = input
        self.classCount = classCount
        self.layers = layers
    }

    /// True when any layer is a convolution; the conv references' defaults
    /// (batch 50, first-pass last-layer error) then apply.
    public var isConvolutional: Bool { layers.contains { $0.isConvolution } }

    /// Default last-layer error of this model family (see `LastLayerError`).
    public var defaultLastLayerError: LastLayerError { isConvolutional ? .firstPass : .modulated }

    /// Default mini-batch size of this model family's reference code.
    public var defaultBatchSize: Int { isConvolutional ? 50 : 64 }

    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weightShape.rows * $1.weightShape.columns } }

    /// Builds a model from its command-line name for data of `input` shape
    /// with `classCount` classes.
    ///
    /// - `fc` : one hidden layer of 1024, i.e. `fc:<inputs>-1024-<classes>`;
    /// - `fc:784-1024-10` (sizes separated by `-`, first and last must match the data);
    /// - `Net1conv1fcXL`: conv 1->32, 5x5, ReLU, maxpool 2x2, FC -> classes;
    /// - `Net1conv1fcXL_cif`: the same for 3-channel 32x32 input.
    public static func named(_ name: String, input: SampleShape, classCount: Int) throws -> Architecture {
        if name == "fc" {
            return try named("fc:\(input.featureCount)-1024-\(classCount)", input: input, classCount: classCount)
        }
        if name.hasPrefix("fc:") {
            let parts = name.dropFirst(3).split(separator: "-", omittingEmptySubsequences: false)
            let sizes = parts.compactMap { Int($0) }
            guard sizes.count == parts.count, sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else {
                throw ArchitectureError.badSizes(name)
            }
            guard sizes.first == input.featureCount else {
                throw ArchitectureError.inputMismatch(model: name, modelInputs: sizes[0], dataInputs: input.featureCount)
            }
            guard sizes.last == classCount else {
                throw ArchitectureError.classMismatch(model: name, modelClasses: sizes.last!, dataClasses: classCount)
            }
            let layers = zip(sizes, sizes.dropFirst()).map { LayerSpec.dense(inputs: $0, outputs: $1) }
            return Architecture(name: name, input: input, classCount: classCount, layers: layers)
        }
        let expectedChannels: Int
        switch name {
        case "Net1conv1fcXL": expectedChannels = 1
        case "Net1conv1fcXL_cif": expectedChannels = 3
        default: throw ArchitectureError.unknown(name)
        }
        guard input.channels == expectedChannels, input.height >= 6, input.width >= 6 else {
            throw ArchitectureError.shapeUnsupported(model: name, shape: input,
                                                      needs: "\(expectedChannels) channel(s), at least 6x6")
        }
        let conv = LayerSpec.conv(input: input, outChannels: 32, kernelSize: 5, maxPool: true)
        let layers = [conv, .dense(inputs: conv.outputCount, outputs: classCount)]
        return Architecture(name: name, input: input, classCount: classCount, layers: layers)
    }

    public static let names = ["fc", "fc:SIZES (e.g. fc:784-1024-10)", "Net1conv1fcXL", "Net1conv1fcXL_cif"]
}

public enum ArchitectureError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case badSizes(String)
    case inputMismatch(model: String, modelInputs: Int, dataInputs: Int)
    case classMismatch(model: String, modelClasses: Int, dataClasses: Int)
    case shapeUnsupported(model: String, shape: SampleShape, needs: String)

    public var description: String {
        switch self {
        case let .unknown(name):
            return "unknown model '\(name)' (known: fc, fc:SIZES, Net1conv1fcXL, Net1conv1fcXL_cif)"
        case let .badSizes(name):
            return "model '\(name)': layer sizes must be positive integers separated by '-', e.g. fc:784-1024-10"
        case let .inputMismatch(model, modelInputs, dataInputs):
            return "model '\(model)' takes \(modelInputs) inputs but the data has \(dataInputs) per sample"
        case let .classMismatch(model, modelClasses, dataClasses):
            return "model '\(model)' has \(modelClasses) outputs but the data has \(dataClasses) classes"
        case let .shapeUnsupported(model, shape, needs):
            return "model '\(model)' needs \(needs) input; the data is \(shape)"
        }
    }
}
