import Quantized

/// What one layer computed in a forward pass, kept for the learning rules.
public struct LayerTrace: Sendable {
    /// `h_{l-1}`: the layer's input, `batch x inputCount`.
    public var input: Matrix
    /// For a conv layer, `input`'s patch matrices (`Convolution.patchMatrices`:
    /// `batch * patchSize` rows of `positions`).
    public var inputPatches: Matrix?
    /// `h_l` before pooling: ReLU output times the dropout mask for hidden layers
    /// (for conv layers, the conv output after ReLU); logits for the last layer.
    public var activated: Matrix
    /// Winning indices of the max pool, when the layer pools.
    public var poolWinners: [Int32]?
    /// What goes to the next layer (pooled, if the layer pools); softmax
    /// probabilities for the last layer.
    public var output: Matrix
}

/// All layers of one forward pass.
public struct ForwardTrace: Sendable {
    public var layers: [LayerTrace]
    /// Softmax output of the last layer, `batch x classes`.
    public var probabilities: Matrix { layers[layers.count - 1].output }
}

/// A network's architecture and its weights (one matrix per layer, no biases).
public struct Network: Sendable {
    public let architecture: Architecture
    public var weights: [Matrix]

    public init(architecture: Architecture, weights: [Matrix]) {
        precondition(weights.count == architecture.layers.count)
        for (layer, weight) in zip(architecture.layers, weights) {
            precondition(weight.rows == layer.weightShape.rows && weight.columns == layer.weightShape.columns)
        }
        self.architecture = architecture
        self.weights = weights
    }

    /// he_uniform initialisation, `W ~ U(-sqrt(6 / fanIn), +sqrt(6 / fanIn))`,
    /// layer by layer, row-major, from the `weights` stream of `seed`.
    public init(heUniform architecture: Architecture, seed: UInt64) {
        var random = RandomStream(seed: seed, purpose: .weights)
        let weights = architecture.layers.map { layer in
            heUniformMatrix(rows: layer.weightShape.rows, columns: layer.weightShape.columns,
                            fanIn: layer.fanIn, scale: 1, random: &random)
        }
        self.init(architecture: architecture, weights: weights)
    }

    public var layers: [LayerSpec] { architecture.layers }

    /// Runs the network on `input` (`batch x inputCount`).
    ///
    /// `masks[l]` (values 0 or 1/keep, or nil for no dropout) multiplies hidden
    /// dense layer `l`'s ReLU output; PEPITA passes the same masks to both passes.
    /// With a `recorder`, each layer's operations are counted under its index
    /// in the recorder's current phase.
    /// `packedWeights[l]`, when given, is dense layer `l`'s `W^T` from
    /// `packedTransposedWeights` (same floats; the pack is shared by passes).
    public func forward(_ input: Matrix, masks: [Matrix?]? = nil, packedWeights: [FloatPackedOperand?]? = nil, threads: Int,
                        recorder: OperationRecorder? = nil) -> ForwardTrace {
        var traces: [LayerTrace] = []
        traces.reserveCapacity(layers.count)
        var current = input
        for (index, layer) in layers.enumerated() {
            let isLast = index == layers.count - 1
            recorder?.layer = index
            let counting = recorder?.product(index == 0 ? .modulatedInput : .activations, .weights,
                                             into: isLast ? .errors : .activations)
            var patches: Matrix? = nil
            var activated: Matrix
            switch layer {
            case .dense:
                if let packed = packedWeights?[index] {
                    activated = product(current, packed, threads: threads, counting: counting)
                } else {
                    activated = product(current, weights[index], transposeB: true, threads: threads, counting: counting)
                }
            case let .conv(shape, _, k, _):
                let patchMatrices = Convolution.patchMatrices(current, shape: shape, kernelSize: k, threads: threads)
                activated = Convolution.forward(patches: patchMatrices, weight: weights[index], batch: current.rows,
                                                threads: threads, counting: counting)
                patches = patchMatrices
            }
            var output: Matrix
            var winners: [Int32]? = nil
            if isLast {
                output = Elementwise.softmax(activated, recorder: recorder)
            } else {
                Elementwise.relu(&activated, recorder: recorder)
                if let mask = masks?[index] { Elementwise.multiply(&activated, by: mask, recorder: recorder) }
                if case .conv(_, _, _, true) = layer {
                    let pooled = MaxPool.forward(activated, shape: layer.convolutionOutputShape!, threads: threads,
                                                 recorder: recorder)
                    output = pooled.output
                    winners = pooled.winners
                } else {
                    output = activated
                }
            }
            traces.append(LayerTrace(input: current, inputPatches: patches, activated: activated,
                                     poolWinners: winners, output: output))
            current = output
        }
        return ForwardTrace(layers: traces)
    }

    /// Each dense layer's `W^T` packed for the float kernel (nil for conv layers),
    /// for several forward passes with the same weights (PEPITA's two).
    public func packedTransposedWeights(threads: Int) -> [FloatPackedOperand?] {
        layers.indices.map { index in
            guard case .dense = layers[index] else { return nil }
            let weight = weights[index]
            return weight.values.withUnsafeBufferPointer { buffer in
                FloatGEMM.pack(StridedMatrix.transposeOf(buffer.baseAddress!, storedRows: weight.rows,
                                                         storedColumns: weight.columns), threads: threads)
            }
        }
    }

    /// Class probabilities for `input`, no dropout, evaluated `batchSize` rows at a time.
    public func predict(_ input: Matrix, batchSize: Int = 1000, threads: Int) -> Matrix {
        var result = Matrix(zeros: input.rows, architecture.classCount)
        var start = 0
        while start < input.rows {
            let end = min(input.rows, start + batchSize)
            let slice = Matrix(rows: end - start, columns: input.columns,
                               values: Array(input.values[start * input.columns ..< end * input.columns]))
            let probabilities = forward(slice, threads: threads).probabilities
            result.values.replaceSubrange(start * result.columns ..< end * result.columns, with: probabilities.values)
            start = end
        }
        return result
    }
}

/// `scale * U(-sqrt(6 / fanIn), +sqrt(6 / fanIn))`, filled row-major.
public func heUniformMatrix(rows: Int, columns: Int, fanIn: Int, scale: Float, random: inout RandomStream) -> Matrix {
    let bound = Float((6.0 / Double(fanIn)).squareRoot())
    var matrix = Matrix(zeros: rows, columns)
    for i in matrix.values.indices { matrix.values[i] = scale * random.nextSymmetric(bound: bound) }
    return matrix
}

/// Inverted dropout masks for one mini-batch (each drawn on up to `threads`
/// threads, the same draws whatever the count): for every hidden dense layer a
/// `batch x outputs` matrix of 0 (dropped, probability `1 - keep`) or `1/keep`;
/// nil for conv layers, the last layer, or when `keep == 1`.
public func dropoutMasks(for architecture: Architecture, batch: Int, keep: Float, random: inout RandomStream,
                         threads: Int = 1) -> [Matrix?] {
    architecture.layers.enumerated().map { index, layer in
        guard keep < 1, index < architecture.layers.count - 1, case let .dense(_, outputs) = layer else { return nil }
        return Matrix(rows: batch, columns: outputs) { random.fillBernoulli($0, probability: keep, value: 1 / keep, threads: threads) }
    }
}
