import HWModel
import PepitaEngine

/// The engine's `Architecture` as HWModel's plain `NetworkShape`. HWModel never
/// imports the engine (a hardware architect prices a network written in JSON),
/// so this module (used by the CLI and the agreement tests) is where the two meet.
extension NetworkShape {
    /// The same layers, sizes and pooling; the name is the architecture's
    /// (`fc:64-1024-10` for `fc` on 8x8 digits).
    public init(_ architecture: Architecture) {
        let input = architecture.input
        self.init(name: architecture.name,
                  input: InputShape(channels: input.channels, height: input.height, width: input.width),
                  classes: architecture.classCount,
                  layers: architecture.layers.map(LayerShape.init))
    }
}

extension LayerShape {
    public init(_ layer: LayerSpec) {
        switch layer {
        case let .dense(inputs, outputs):
            self = .dense(inputs: inputs, outputs: outputs)
        case let .conv(input, outChannels, kernelSize, maxPool):
            self = .conv(inputChannels: input.channels, inputHeight: input.height, inputWidth: input.width,
                         outChannels: outChannels, kernel: kernelSize, maxPool2x2: maxPool)
        }
    }
}
