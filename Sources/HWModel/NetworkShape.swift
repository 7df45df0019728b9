/// A trainable network as plain shapes: enough to count what one training
/// step costs, nothing of how it is trained. A hardware architect can write one
/// in JSON without the engine (see `NetworkShape+Codable.swift`).
///
/// Conventions (those of the PEPITA reference code and of the engine):
/// no biases; every hidden layer is followed by ReLU, hidden dense layers by
/// inverted dropout; the last layer by softmax; convolutions have stride 1 and
/// no padding; a pooling conv layer is followed by 2x2 max pooling with
/// stride 2 that drops an odd trailing row or column (PyTorch's `MaxPool2d(2, 2)`).
///
/// `validate()` checks that the shapes chain; every function of the cost
/// model calls it first.
public struct NetworkShape: Equatable, Sendable {
    /// A label such as `fc:784-1024-10` or `Net1conv1fcXL`; only repeated in reports.
    public var name: String
    public var input: InputShape
    public var classes: Int
    public var layers: [LayerShape]

    public init(name: String, input: InputShape, classes: Int, layers: [LayerShape]) {
        self.name = name
        self.input = input
        self.classes = classes
        self.layers = layers
    }

    /// A fully connected network, `sizes` = inputs, hidden..., classes
    /// (`fc:784-1024-10` is `[784, 1024, 10]`), on a 1 x 1 x inputs input.
    public static func fullyConnected(_ sizes: [Int], name: String? = nil) -> NetworkShape {
        let layers = zip(sizes, sizes.dropFirst()).map { LayerShape.dense(inputs: $0, outputs: $1) }
        return NetworkShape(name: name ?? "fc:" + sizes.map(String.init).joined(separator: "-"),
                            input: InputShape(channels: 1, height: 1, width: sizes.first ?? 0),
                            classes: sizes.last ?? 0, layers: layers)
    }

    /// Scalars per input sample, `channels * height * width`.
    public var inputCount: Int { input.featureCount }

    /// Weights of every layer together.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weightCount } }
}

/// A sample's shape, `channels x height x width` (a flat vector is `1 x 1 x n`).
public struct InputShape: Codable, Equatable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var featureCount: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// One weighted layer and what follows it.
public enum LayerShape: Equatable, Sendable {
    /// Fully connected, weight `outputs x inputs`, `out = in · W^T`.
    case dense(inputs: Int, outputs: Int)
    /// Convolution, stride 1, no padding, weight `outChannels x (inputChannels * kernel * kernel)`,
    /// computed as im2col + one matrix product; then ReLU, then 2x2 max pooling when `maxPool2x2`.
    case conv(inputChannels: Int, inputHeight: Int, inputWidth: Int, outChannels: Int, kernel: Int, maxPool2x2: Bool)

    public var isConvolution: Bool {
        if case .conv = self { return true }
        return false
    }

    public var pools: Bool {
        if case let .conv(_, _, _, _, _, maxPool2x2) = self { return maxPool2x2 }
        return false
    }

    /// Scalars per sample going in (a conv's whole input feature map).
    public var inputCount: Int {
        switch self {
        case let .dense(inputs, _): return inputs
        case let .conv(channels, height, width, _, _, _): return channels * height * width
        }
    }

    /// Output positions of a convolution, `(H - k + 1) * (W - k + 1)`; 1 for a dense layer.
    public var positions: Int {
        switch self {
        case .dense: return 1
        case let .conv(_, height, width, _, k, _): return (height - k + 1) * (width - k + 1)
        }
    }

    /// Columns of the weight matrix: a dense layer's inputs, a conv's patch `C_in * k * k`.
    public var fanIn: Int {
        switch self {
        case let .dense(inputs, _): return inputs
        case let .conv(channels, _, _, _, k, _): return channels * k * k
        }
    }

    /// Rows of the weight matrix: a dense layer's outputs, a conv's output channels.
    public var fanOut: Int {
        switch self {
        case let .dense(_, outputs): return outputs
        case let .conv(_, _, _, outChannels, _, _): return outChannels
        }
    }

    public var weightCount: Int { fanIn * fanOut }

    /// Multiply-accumulates per sample of the forward product (and of each
    /// weight-gradient product): `in * out` for dense, `P * (C_in k k) * C_out` for conv.
    public var macsPerSample: Int { positions * fanIn * fanOut }

    /// Scalars per sample after ReLU and before pooling: `outputs` for dense,
    /// `C_out * P` for conv. PEPITA's update and BP's delta live at this size.
    public var activatedCount: Int { positions * fanOut }

    /// The conv output's height and width before pooling.
    public var convolutionOutputSize: (height: Int, width: Int)? {
        guard case let .conv(_, height, width, _, k, _) = self else { return nil }
        return (height - k + 1, width - k + 1)
    }

    /// The shape handed to the next layer (after pooling, if any); nil for dense.
    public var outputShape: InputShape? {
        guard case let .conv(_, _, _, outChannels, _, maxPool2x2) = self, let size = convolutionOutputSize else { return nil }
        return maxPool2x2
            ? InputShape(channels: outChannels, height: size.height / 2, width: size.width / 2)
            : InputShape(channels: outChannels, height: size.height, width: size.width)
    }

    /// Scalars per sample handed to the next layer (pooled, if the layer pools).
    public var outputCount: Int { outputShape?.featureCount ?? fanOut }
}

/// A network description whose shapes do not chain; the message names the
/// layer index and field, e.g. `layers[1].inputs: must equal ...`.
public struct NetworkShapeError: Error, Equatable, CustomStringConvertible {
    /// `layers[1].inputs`, `input.channels`, `classes`, ...
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

extension NetworkShape {
    /// Checks every size is positive and the layers chain: layer 0 takes the
    /// input (a conv its exact shape, a dense layer its `C*H*W` scalars), each
    /// later layer takes what the one before hands on, the last layer is dense
    /// with `classes` outputs, kernels fit their input, a pooled map is at least 1x1.
    public func validate() throws {
        func fail(_ field: String, _ problem: String) -> NetworkShapeError { NetworkShapeError(field: field, problem: problem) }
        for (field, value) in [("input.channels", input.channels), ("input.height", input.height),
                               ("input.width", input.width), ("classes", classes)] where value < 1 {
            throw fail(field, "must be > 0, got \(value)")
        }
        guard !layers.isEmpty else { throw fail("layers", "must list at least one layer") }
        var incoming: InputShape? = input
        var incomingCount = input.featureCount
        for (index, layer) in layers.enumerated() {
            let path = "layers[\(index)]"
            let from = index == 0 ? "the input's" : "layers[\(index - 1)]'s"
            switch layer {
            case let .dense(inputs, outputs):
                if inputs < 1 { throw fail("\(path).inputs", "must be > 0, got \(inputs)") }
                if outputs < 1 { throw fail("\(path).outputs", "must be > 0, got \(outputs)") }
                if inputs != incomingCount {
                    throw fail("\(path).inputs", "must equal \(from) \(incomingCount) outputs, got \(inputs)")
                }
                incoming = nil
                incomingCount = outputs
            case let .conv(channels, height, width, outChannels, kernel, _):
                for (field, value) in [("inputChannels", channels), ("inputHeight", height), ("inputWidth", width),
                                       ("outChannels", outChannels), ("kernel", kernel)] where value < 1 {
                    throw fail("\(path).\(field)", "must be > 0, got \(value)")
                }
                guard let shape = incoming else {
                    throw fail(path, "a convolution needs a feature map but \(from) output is a dense vector")
                }
                for (field, value, expected) in [("inputChannels", channels, shape.channels),
                                                 ("inputHeight", height, shape.height),
                                                 ("inputWidth", width, shape.width)] where value != expected {
                    throw fail("\(path).\(field)", "must equal \(from) \(expected) (shape \(shape)), got \(value)")
                }
                if kernel > min(height, width) {
                    throw fail("\(path).kernel", "\(kernel) does not fit the \(height)x\(width) input")
                }
                let output = layer.outputShape!
                if output.height < 1 || output.width < 1 {
                    throw fail("\(path).maxPool2x2", "the \(height - kernel + 1)x\(width - kernel + 1) conv output is too small to pool 2x2")
                }
                incoming = output
                incomingCount = output.featureCount
            }
        }
        let last = layers.count - 1
        guard case let .dense(_, outputs) = layers[last] else {
            throw fail("layers[\(last)]", "the last layer must be dense (it feeds the softmax)")
        }
        if outputs != classes {
            throw fail("layers[\(last)].outputs", "must equal classes (\(classes)), got \(outputs)")
        }
    }
}
