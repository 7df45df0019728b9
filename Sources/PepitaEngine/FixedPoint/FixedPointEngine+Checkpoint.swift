import Quantized

extension FixedPointEngine {
    /// Reads back the integer codes `writeCheckpoint(to:)` wrote; each file's
    /// sidecar must give the format this engine uses for it.
    public func readCheckpoint(from directory: String) throws {
        try RunDirectory.checkFixedMatrices(rule.fixedMatrices.mapValues { ($0.dequantized.values, [$0.rows, $0.columns]) },
                                            in: directory)
        for (index, layer) in network.layers.enumerated() {
            let weight = network.weights[index]
            network.weights[index].codes = try RunDirectory.readCodes("\(directory)/W\(index).npy",
                                                                      expectedShape: RunDirectory.weightFileShape(layer),
                                                                      format: weight.format)
            let velocity = optimiser.velocities[index]
            optimiser.velocities[index].codes = try RunDirectory.readCodes("\(directory)/V\(index).npy",
                                                                           expectedShape: [velocity.rows, velocity.columns],
                                                                           format: velocity.format)
        }
    }

    public var randomPosition: UInt64? {
        get { arithmetic.narrowings }
        set { if let newValue { arithmetic.narrowings = newValue } }
    }

    public func restoreCounters(_ counters: [TensorRole: QuantizationCounters]) {
        for (role, counter) in counters { arithmetic.record(counter, role: role) }
    }

    /// Integer weights are always finite.
    public var firstNonFiniteLayer: Int? { nil }
}
