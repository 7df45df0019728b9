/// The engine's networks (`NetworkShape`: dense and stride-1 unpadded convs,
/// each hidden layer followed by ReLU, a conv optionally by 2x2 max pooling,
/// no biases, softmax output) are a subset of what a `NetworkDescription` can
/// say. `network export` writes one as a description; `cost --network` lowers a
/// description back to a `NetworkShape` when it is in that subset, so an
/// exported engine model is priced by exactly the same code as `--model`.
extension NetworkDescription {
    /// The same network as layers: each engine layer becomes its weighted layer,
    /// `relu` if hidden, `maxPool` 2 if it pools, with a `flatten` before a dense
    /// layer whose input is a feature map.
    public init(_ shape: NetworkShape) {
        var layers: [NetworkLayer] = []
        var incoming = shape.input
        for (index, layer) in shape.layers.enumerated() {
            let hidden = index < shape.layers.count - 1
            switch layer {
            case let .dense(_, outputs):
                if incoming.channels != 1 || incoming.height != 1 { layers.append(NetworkLayer(.flatten)) }
                layers.append(NetworkLayer(.dense(units: outputs, bias: false)))
                incoming = InputShape(channels: 1, height: 1, width: outputs)
            case let .conv(_, _, _, outChannels, kernel, maxPool2x2):
                layers.append(NetworkLayer(.conv2d(Convolution(filters: outChannels, kernel: .square(kernel)))))
                if hidden { layers.append(NetworkLayer(.relu)) }
                if maxPool2x2 { layers.append(NetworkLayer(.pool(Pooling(kind: .max, size: .square(2))))) }
                incoming = layer.outputShape ?? incoming
            }
            if hidden && !layer.isConvolution { layers.append(NetworkLayer(.relu)) }
        }
        self.init(name: shape.name, source: "pepita-edge engine model \(shape.name) (network export)",
                  input: shape.input, output: .classes(shape.classes), layers: layers)
    }
}

extension NetworkShape {
    /// The engine network a description spells out, or nil when it uses
    /// anything outside the engine's subset (batch norm, residuals, strides,
    /// padding, groups, biases, average pooling, a missing or extra ReLU, a
    /// reconstruction output). The description must already resolve.
    public init?(lowering description: NetworkDescription) {
        guard case let .classes(classes) = description.output, let network = try? description.resolve() else { return nil }
        let layers = network.layers
        var shapes: [LayerShape] = []
        var index = 0
        var endsWithBareWeightedLayer = false
        func follows(_ next: Int, _ kind: (LayerKind) -> Bool) -> Bool {
            next < layers.count && layers[next].inputs == [next - 1] && kind(layers[next].kind)
        }
        while index < layers.count {
            let layer = layers[index]
            guard layer.inputs == [index - 1] else { return nil }
            endsWithBareWeightedLayer = false
            switch layer.kind {
            case .flatten:
                index += 1
                continue
            case let .dense(units, bias):
                guard !bias else { return nil }
                shapes.append(.dense(inputs: layer.inputCount, outputs: units))
                index += 1
                if index == layers.count { endsWithBareWeightedLayer = true; break }
                guard follows(index, { $0 == .relu }) else { return nil }
                index += 1
            case let .conv2d(conv):
                guard conv.stride == .square(1), conv.padding == .valid, conv.groups == 1, !conv.bias,
                      conv.kernel.height == conv.kernel.width, follows(index + 1, { $0 == .relu }) else { return nil }
                let pools = follows(index + 2) { kind in
                    if case let .pool(pooling) = kind { return pooling.kind == .max && pooling.size == .square(2) && (pooling.stride ?? .square(2)) == .square(2) }
                    return false
                }
                shapes.append(.conv(inputChannels: layer.inputShape.channels, inputHeight: layer.inputShape.height,
                                    inputWidth: layer.inputShape.width, outChannels: conv.filters,
                                    kernel: conv.kernel.height, maxPool2x2: pools))
                index += pools ? 3 : 2
            default:
                return nil
            }
        }
        guard endsWithBareWeightedLayer else { return nil }
        let shape = NetworkShape(name: description.name, input: description.input, classes: classes, layers: shapes)
        guard (try? shape.validate()) != nil else { return nil }
        self = shape
    }
}
