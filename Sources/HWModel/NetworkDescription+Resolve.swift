/// A network description that does not hold together; one line naming the
/// field and the layer, e.g. `layers[3].stride (conv2): must be > 0, got 0`.
public struct NetworkDescriptionError: Error, Equatable, CustomStringConvertible {
    /// The file it was read from, when there is one.
    public var file: String?
    /// `layers[3].stride`, `input.channels`, `classes`, `(file)`, ...
    public var path: String
    /// The layer's own name, when the problem is in a named layer (the path already gives its index).
    public var layer: String?
    public var problem: String

    public init(file: String? = nil, path: String, layer: String? = nil, problem: String) {
        self.file = file
        self.path = path
        self.layer = layer
        self.problem = problem
    }

    public var description: String {
        (file.map { "\($0): " } ?? "") + path + (layer.map { " (\($0))" } ?? "") + ": " + problem
    }
}

/// A layer with its inputs found and its shapes inferred: what the cost model counts from.
public struct ResolvedLayer: Equatable, Sendable {
    public var index: Int
    public var name: String
    public var kind: LayerKind
    /// Indices of the layers whose outputs it reads, first the main input
    /// (then, for `add`, the named skip); `-1` is the network input.
    public var inputs: [Int]
    public var inputShape: InputShape
    public var outputShape: InputShape

    public var inputCount: Int { inputShape.featureCount }
    public var outputCount: Int { outputShape.featureCount }

    /// Output positions of a convolution (`H_out * W_out`); 1 for a dense layer.
    public var positions: Int {
        if case .conv2d = kind { return outputShape.height * outputShape.width }
        return 1
    }

    /// Columns of the weight matrix: a dense layer's inputs, a conv's patch `(C_in / groups) k_h k_w`; 0 otherwise.
    public var fanIn: Int {
        switch kind {
        case .dense: return inputCount
        case let .conv2d(conv): return inputShape.channels / conv.groups * conv.kernel.area
        default: return 0
        }
    }

    /// Rows of the weight matrix: a dense layer's units, a conv's filters; 0 otherwise.
    public var fanOut: Int {
        switch kind {
        case let .dense(units, _): return units
        case let .conv2d(conv): return conv.filters
        default: return 0
        }
    }

    public var weightCount: Int { fanIn * fanOut }

    public var biasCount: Int {
        switch kind {
        case let .dense(units, bias): return bias ? units : 0
        case let .conv2d(conv): return conv.bias ? conv.filters : 0
        default: return 0
        }
    }

    /// What batch norm normalises separately: a feature map's channels, a flat
    /// vector's features (as Keras normalises the last axis).
    public var normalisedChannels: Int {
        outputShape.channels == 1 && outputShape.height == 1 ? outputShape.width : outputShape.channels
    }

    /// Batch norm's trainable scale and shift, `2 C`.
    public var normalisationCount: Int { kind == .batchNorm ? 2 * normalisedChannels : 0 }

    /// Batch norm's running mean and variance, `2 C`: stored, not trained.
    public var statisticsCount: Int { kind == .batchNorm ? 2 * normalisedChannels : 0 }

    /// Parameters a rule updates (and the optimiser keeps a velocity for).
    public var trainableCount: Int { weightCount + biasCount + normalisationCount }

    /// Every stored parameter, as Keras counts them (batch norm: 4 per channel).
    public var parameterCount: Int { trainableCount + statisticsCount }

    /// Multiply-accumulates of the forward product per sample: `P * fanIn * fanOut`.
    public var forwardMACsPerSample: Int { positions * fanIn * fanOut }
}

/// A checked network: layers with shapes, and who reads whose output.
public struct ResolvedNetwork: Equatable, Sendable {
    public var network: NetworkDescription
    public var layers: [ResolvedLayer]
    /// For each layer, the layers that read its output (in file order).
    public var consumers: [[Int]]

    /// Values the last layer produces: the classes, or the input size for a reconstruction.
    public var outputCount: Int { layers[layers.count - 1].outputCount }
    public var inputCount: Int { network.input.featureCount }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var trainableCount: Int { layers.reduce(0) { $0 + $1.trainableCount } }
    public var forwardMACsPerSample: Int { layers.reduce(0) { $0 + $1.forwardMACsPerSample } }
    public var isClassifier: Bool {
        if case .classes = network.output { return true }
        return false
    }
}

extension NetworkDescription {
    /// The most values or MACs per sample a layer may have (2^40), so every count fits an `Int` with room for the batch.
    static let largestCount = Double(1 << 40)

    /// The name a layer goes by: its own, or `layers[i]`.
    public func layerName(_ index: Int) -> String { layers[index].name ?? "layers[\(index)]" }

    /// Checks the description and infers every shape: sizes positive, names
    /// unique, `input` and `add.from` naming an *earlier* layer (so no cycle can
    /// form), strides and groups valid, kernels and windows fitting their maps,
    /// dense layers on flat vectors, residual shapes equal, and the last layer
    /// giving `classes` values (or the input's size for a reconstruction).
    public func resolve() throws -> ResolvedNetwork {
        func fail(_ path: String, _ problem: String, layer: Int? = nil) -> NetworkDescriptionError {
            NetworkDescriptionError(path: path, layer: layer.flatMap { layers[$0].name }, problem: problem)
        }
        for (field, value) in [("input.channels", input.channels), ("input.height", input.height),
                               ("input.width", input.width)] where value < 1 {
            throw fail(field, "must be > 0, got \(value)")
        }
        if Double(input.channels) * Double(input.height) * Double(input.width) > Self.largestCount {
            throw fail("input", "is too large to price: more than 2^40 values per sample")
        }
        if case let .classes(count) = output, count < 1 { throw fail("classes", "must be > 0, got \(count)") }
        guard !layers.isEmpty else { throw fail("layers", "must list at least one layer") }

        var indexByName: [String: Int] = [:]
        for (index, layer) in layers.enumerated() {
            guard let name = layer.name else { continue }
            if name.isEmpty { throw fail("layers[\(index)].name", "must not be empty") }
            if let earlier = indexByName[name] {
                throw fail("layers[\(index)].name", "'\(name)' is already the name of layers[\(earlier)]")
            }
            indexByName[name] = index
        }
        /// The index of the earlier layer `name` refers to, from `layers[index].field`.
        func earlierLayer(_ name: String, from index: Int, field: String) throws -> Int {
            guard let target = indexByName[name] else {
                throw fail("layers[\(index)].\(field)", "no layer is named '\(name)'", layer: index)
            }
            if target >= index {
                throw fail("layers[\(index)].\(field)", "'\(name)' is layers[\(target)], "
                           + (target == index ? "this layer itself" : "which comes later")
                           + ": a layer reads only earlier outputs (no cycles)", layer: index)
            }
            return target
        }

        var resolved: [ResolvedLayer] = []
        // Summed over the layers (per sample), so that a step's totals and the
        // storage planner's sums fit an `Int` with the batch (`NetworkCostModel.largestBatch`).
        var totalValues = Double(input.channels) * Double(input.height) * Double(input.width), totalPoolWork = 0.0
        for (index, layer) in layers.enumerated() {
            let path = "layers[\(index)]"
            func bad(_ field: String, _ problem: String) -> NetworkDescriptionError {
                fail(field.isEmpty ? path : "\(path).\(field)", problem, layer: index)
            }
            let main = try layer.input.map { try earlierLayer($0, from: index, field: "input") } ?? index - 1
            let shape = main < 0 ? input : resolved[main].outputShape
            var inputs = [main]
            let outputShape: InputShape
            switch layer.kind {
            case let .dense(units, _):
                if units < 1 { throw bad("units", "must be > 0, got \(units)") }
                if shape.channels != 1 || shape.height != 1 {
                    throw bad("", "dense needs a flat input (1x1xN) but gets \(shape): add a flatten layer before it")
                }
                outputShape = InputShape(channels: 1, height: 1, width: units)
            case let .conv2d(conv):
                outputShape = try convolutionOutput(conv, shape, bad)
            case let .pool(pooling):
                outputShape = try poolingOutput(pooling, shape, bad)
            case .flatten:
                outputShape = InputShape(channels: 1, height: 1, width: shape.featureCount)
            case .relu, .batchNorm:
                outputShape = shape
            case let .add(from):
                let skip = try earlierLayer(from, from: index, field: "from")
                let skipShape = resolved[skip].outputShape
                if skipShape != shape {
                    throw bad("from", "'\(from)' gives \(skipShape) but this layer's input is \(shape): a residual add needs equal shapes")
                }
                inputs.append(skip)
                outputShape = shape
            }
            // Checked in floating point first, so that no count of the cost model can overflow.
            let sizes = [Double(outputShape.channels) * Double(outputShape.height) * Double(outputShape.width)]
            let counted = ResolvedLayer(index: index, name: layerName(index), kind: layer.kind, inputs: inputs,
                                        inputShape: shape, outputShape: outputShape)
            let macs = Double(counted.positions) * Double(counted.fanIn) * Double(counted.fanOut)
            if (sizes + [macs]).contains(where: { $0 > Self.largestCount }) {
                throw bad("", "is too large to price: more than 2^40 values or MACs per sample")
            }
            // A pool's work is `n (window - 1)` per sample: its output times its window.
            let poolWork = counted.poolWindow.map { Double(counted.outputCount) * Double($0.area) } ?? 0
            if poolWork > Self.largestCount {
                throw bad("", "is too large to price: more than 2^40 pooling operations per sample")
            }
            totalValues += sizes[0]
            totalPoolWork += poolWork
            resolved.append(counted)
        }

        let last = resolved[resolved.count - 1]
        switch output {
        case let .classes(count):
            if last.outputCount != count {
                throw fail("layers[\(last.index)]", "the last layer gives \(last.outputCount) values but classes is \(count)", layer: last.index)
            }
        case .reconstruction:
            if last.outputCount != input.featureCount {
                throw fail("layers[\(last.index)]", "a reconstruction must give the input's \(input.featureCount) values, got \(last.outputCount)", layer: last.index)
            }
        }
        let totalMACs = resolved.reduce(0.0) { $0 + Double($1.positions) * Double($1.fanIn) * Double($1.fanOut) }
        if totalMACs > Self.largestCount || Double(input.featureCount) * Double(last.outputCount) > Self.largestCount {
            throw fail("layers", "the network is too large to price: more than 2^40 MACs per sample or projection (F) entries")
        }
        if totalValues > Self.largestCount || totalPoolWork > Self.largestCount {
            throw fail("layers", "the network is too large to price: more than 2^40 values or pooling operations per sample, summed over the input and every layer")
        }
        guard resolved.contains(where: { $0.kind.isWeighted }) else {
            throw fail("layers", "needs at least one dense or conv2d layer (nothing to train)")
        }
        var consumers = Array(repeating: [Int](), count: resolved.count)
        for layer in resolved { for producer in layer.inputs where producer >= 0 { consumers[producer].append(layer.index) } }
        return ResolvedNetwork(network: self, layers: resolved, consumers: consumers)
    }

    private func convolutionOutput(_ conv: Convolution, _ shape: InputShape,
                                   _ bad: (String, String) -> NetworkDescriptionError) throws -> InputShape {
        if conv.filters < 1 { throw bad("filters", "must be > 0, got \(conv.filters)") }
        if conv.kernel.height < 1 || conv.kernel.width < 1 { throw bad("kernel", "must be > 0, got \(conv.kernel)") }
        if conv.stride.height < 1 || conv.stride.width < 1 { throw bad("stride", "must be > 0, got \(conv.stride)") }
        if conv.groups < 1 { throw bad("groups", "must be > 0, got \(conv.groups)") }
        if shape.channels % conv.groups != 0 || conv.filters % conv.groups != 0 {
            throw bad("groups", "\(conv.groups) must divide the input's \(shape.channels) channels and the \(conv.filters) filters")
        }
        // Checked before any padding mode uses it: with `same` padding the kernel
        // need not fit the input, and its area and fan-in are formed in `Int`.
        if Double(conv.kernel.height) * Double(conv.kernel.width) * Double(shape.channels / conv.groups) > Self.largestCount {
            throw bad("kernel", "\(conv.kernel) is too large to price: more than 2^40 weights per filter")
        }
        let height: Int, width: Int
        switch conv.padding {
        case .same:
            height = (shape.height + conv.stride.height - 1) / conv.stride.height
            width = (shape.width + conv.stride.width - 1) / conv.stride.width
        case .valid:
            height = (shape.height - conv.kernel.height) / conv.stride.height + 1
            width = (shape.width - conv.kernel.width) / conv.stride.width + 1
            if shape.height < conv.kernel.height || shape.width < conv.kernel.width {
                throw bad("kernel", "\(conv.kernel) does not fit the \(shape.height)x\(shape.width) input without padding")
            }
        case let .explicit(top, bottom, left, right):
            if min(top, bottom, left, right) < 0 { throw bad("padding", "must be >= 0 on every side") }
            let paddedHeight = shape.height + top + bottom, paddedWidth = shape.width + left + right
            if paddedHeight < conv.kernel.height || paddedWidth < conv.kernel.width {
                throw bad("kernel", "\(conv.kernel) does not fit the padded \(paddedHeight)x\(paddedWidth) input")
            }
            height = (paddedHeight - conv.kernel.height) / conv.stride.height + 1
            width = (paddedWidth - conv.kernel.width) / conv.stride.width + 1
        }
        // Explicit padding can make the map larger than the input: checked before
        // the layer's counts (positions, MACs) are formed in `Int`.
        if Double(conv.filters) * Double(height) * Double(width) > Self.largestCount {
            throw bad("", "is too large to price: more than 2^40 values or MACs per sample")
        }
        return InputShape(channels: conv.filters, height: height, width: width)
    }

    private func poolingOutput(_ pooling: Pooling, _ shape: InputShape,
                               _ bad: (String, String) -> NetworkDescriptionError) throws -> InputShape {
        guard let size = pooling.size else { return InputShape(channels: shape.channels, height: 1, width: 1) }
        let stride = pooling.stride ?? size
        if size.height < 1 || size.width < 1 { throw bad("size", "must be > 0, got \(size)") }
        if stride.height < 1 || stride.width < 1 { throw bad("stride", "must be > 0, got \(stride)") }
        if size.height > shape.height || size.width > shape.width {
            throw bad("size", "the \(size) window does not fit the \(shape.height)x\(shape.width) input")
        }
        return InputShape(channels: shape.channels, height: (shape.height - size.height) / stride.height + 1,
                          width: (shape.width - size.width) / stride.width + 1)
    }
}

extension ResolvedLayer {
    /// The pooling window (the whole map for a global pool); nil if not a pool.
    public var poolWindow: Extent2D? {
        guard case let .pool(pooling) = kind else { return nil }
        return pooling.size ?? Extent2D(inputShape.height, inputShape.width)
    }

    /// Bits of a max-pool winner index: enough to name one position of the window (2 for 2x2).
    public var poolWinnerBits: Int {
        let window = poolWindow?.area ?? 1
        var bits = 1
        while (1 << bits) < window { bits += 1 }
        return bits
    }
}
