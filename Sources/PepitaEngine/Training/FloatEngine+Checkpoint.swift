import Quantized

extension FloatEngine {
    public func readCheckpoint(from directory: String) throws {
        try RunDirectory.checkFixedMatrices(rule.fixedMatrices.mapValues { ($0.values, [$0.rows, $0.columns]) }, in: directory)
        for (index, layer) in network.layers.enumerated() {
            let weight = try RunDirectory.readArray("\(directory)/W\(index).npy", expectedShape: RunDirectory.weightFileShape(layer))
            network.weights[index].values = weight.values
            let shape = [optimiser.velocities[index].rows, optimiser.velocities[index].columns]
            optimiser.velocities[index].values = try RunDirectory.readArray("\(directory)/V\(index).npy", expectedShape: shape).values
        }
    }

    public var randomPosition: UInt64? {
        get { nil }
        set {}
    }

    public func restoreCounters(_ counters: [TensorRole: QuantizationCounters]) {}

    public var firstNonFiniteLayer: Int? {
        network.weights.firstIndex { weight in weight.values.contains { !$0.isFinite } }
    }
}

extension RunDirectory {
    /// Checks that `directory` holds each fixed matrix (`F.npy`, `B1.npy`, ...)
    /// with exactly these values: a checkpoint resumed with another F would
    /// silently train a different run.
    static func checkFixedMatrices(_ matrices: [String: (values: [Float], shape: [Int])], in directory: String) throws {
        for (name, matrix) in matrices.sorted(by: { $0.key < $1.key }) {
            let file = "\(directory)/\(name).npy"
            let stored = try readArray(file, expectedShape: matrix.shape)
            guard stored.values.map(\.bitPattern) == matrix.values.map(\.bitPattern) else {
                throw FileError(path: file, reason: "differs from the run's \(name) (made from its seed and --init); the checkpoint belongs to another run")
            }
        }
    }
}
