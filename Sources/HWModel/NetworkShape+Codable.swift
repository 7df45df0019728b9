import Foundation

/// JSON form of a network, as a hardware architect writes it:
///
/// ```json
/// { "name": "Net1conv1fcXL", "input": { "channels": 1, "height": 28, "width": 28 }, "classes": 10,
///   "layers": [
///     { "kind": "conv", "inputChannels": 1, "inputHeight": 28, "inputWidth": 28,
///       "outChannels": 32, "kernel": 5, "maxPool2x2": true },
///     { "kind": "dense", "inputs": 4608, "outputs": 10 } ] }
/// ```
extension NetworkShape: Codable {
    private enum CodingKeys: String, CodingKey { case name, input, classes, layers }

    /// Decodes and validates (`validate()`), so a decoded network always chains.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decodeIfPresent(String.self, forKey: .name) ?? "",
                  input: try container.decode(InputShape.self, forKey: .input),
                  classes: try container.decode(Int.self, forKey: .classes),
                  layers: try container.decode([LayerShape].self, forKey: .layers))
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(input, forKey: .input)
        try container.encode(classes, forKey: .classes)
        try container.encode(layers, forKey: .layers)
    }

    /// Reads a network from JSON; a shape that does not chain is a `NetworkShapeError`.
    public init(json data: Data) throws {
        self = try JSONDecoder().decode(NetworkShape.self, from: data)
    }
}

extension LayerShape: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, inputs, outputs, inputChannels, inputHeight, inputWidth, outChannels, kernel, maxPool2x2
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "dense":
            self = .dense(inputs: try container.decode(Int.self, forKey: .inputs),
                          outputs: try container.decode(Int.self, forKey: .outputs))
        case "conv":
            self = .conv(inputChannels: try container.decode(Int.self, forKey: .inputChannels),
                         inputHeight: try container.decode(Int.self, forKey: .inputHeight),
                         inputWidth: try container.decode(Int.self, forKey: .inputWidth),
                         outChannels: try container.decode(Int.self, forKey: .outChannels),
                         kernel: try container.decode(Int.self, forKey: .kernel),
                         maxPool2x2: try container.decodeIfPresent(Bool.self, forKey: .maxPool2x2) ?? false)
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container,
                                                   debugDescription: "layer kind '\(kind)' is not dense or conv")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .dense(inputs, outputs):
            try container.encode("dense", forKey: .kind)
            try container.encode(inputs, forKey: .inputs)
            try container.encode(outputs, forKey: .outputs)
        case let .conv(channels, height, width, outChannels, kernel, maxPool2x2):
            try container.encode("conv", forKey: .kind)
            try container.encode(channels, forKey: .inputChannels)
            try container.encode(height, forKey: .inputHeight)
            try container.encode(width, forKey: .inputWidth)
            try container.encode(outChannels, forKey: .outChannels)
            try container.encode(kernel, forKey: .kernel)
            try container.encode(maxPool2x2, forKey: .maxPool2x2)
        }
    }
}
