extension NetworkShape {
    /// Checks the network is small enough that every count of a step fits an
    /// `Int`: at most 2^40 values per sample summed over the input and every
    /// layer's outputs, at most 2^40 MACs per sample summed over the layers, and
    /// at most 2^40 entries in PEPITA's `F` — the limits `NetworkDescription.resolve`
    /// sets for described networks. With the batch at most
    /// `NetworkCostModel.largestBatch` (2^16), a step's counts stay below 2^60.
    /// Computed in floating point, so the check itself cannot overflow.
    public func checkCountable() throws {
        let limit = NetworkDescription.largestCount
        func size(_ shape: InputShape) -> Double { Double(shape.channels) * Double(shape.height) * Double(shape.width) }
        var values = size(input), macs = 0.0
        for layer in layers {
            switch layer {
            case let .dense(inputs, outputs):
                macs += Double(inputs) * Double(outputs)
                values += Double(outputs)
            case let .conv(channels, height, width, outChannels, kernel, _):
                let positions = Double(height - kernel + 1) * Double(width - kernel + 1)
                macs += positions * Double(channels) * Double(kernel) * Double(kernel) * Double(outChannels)
                values += 2 * positions * Double(outChannels) // activated, then pooled (at most as many)
            }
        }
        if values > limit || macs > limit || size(input) * Double(classes) > limit {
            throw NetworkShapeError(field: "layers", problem: "the network is too large to price: more than 2^40 values, MACs or projection (F) entries per sample")
        }
    }
}
