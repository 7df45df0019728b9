/// PEPITA (Dellaferrera & Kreiman, ICML 2022), as the reference code does it.
///
/// Per mini-batch:
/// 1. standard pass: `h_l = relu(h_{l-1} W_l^T) * mask_l`, `y = softmax(h_{L-1} W_L^T)`, `e = y - onehot`;
/// 2. modulated pass on `x_mod = x + e F^T` with the same dropout masks, `e_mod = y_mod - onehot`;
/// 3. hidden updates `dW_l = (h_l - h_l^mod)^T h_{l-1}^mod` (with `h_0^mod = x_mod`),
///    last layer `dW_L = e_mod^T h_{L-1}^mod` (FC references) or `e^T h_{L-1}^mod`
///    (conv reference), chosen by `lastLayerError`.
///
/// Conv layers: `dW = sum over output positions of outer(h - h^mod, patch of h_{l-1}^mod)`,
/// divided by the number of positions and by the batch — the conv reference's
/// batch average — before the optimiser's own `/ batch`. With
/// `convolutionBatchAverageTwice == false` the first batch division is skipped.
/// The division is not done here: the step hands it on as the layer's
/// `RuleStep.divisors` entry and the optimiser folds it into its scalar
/// `eta / (B * divisor)` (one multiply per weight, as the fixed-point engine does).
public struct Pepita: LearningRule {
    public let kind: RuleKind
    /// `F`, `inputCount x classes`.
    public let projection: Matrix
    public let lastLayerError: LastLayerError
    public let convolutionBatchAverageTwice: Bool

    public init(kind: RuleKind = .pepita, projection: Matrix, lastLayerError: LastLayerError,
                convolutionBatchAverageTwice: Bool = true) {
        precondition(kind.isPepita)
        self.kind = kind
        self.projection = projection
        self.lastLayerError = lastLayerError
        self.convolutionBatchAverageTwice = convolutionBatchAverageTwice
    }

    /// `F = Bstd * U(-sqrt(6/n_input), +sqrt(6/n_input))` (`inputCount x classes`),
    /// times a further 0.1 for the sign variant, from the `projection` stream of `seed`.
    public static func randomProjection(for architecture: Architecture, projectionScale: Float,
                                        kind: RuleKind, seed: UInt64) -> Matrix {
        var random = RandomStream(seed: seed, purpose: .projection)
        let inputs = architecture.input.featureCount
        let scale = projectionScale * (kind == .pepitaSign ? 0.1 : 1)
        return heUniformMatrix(rows: inputs, columns: architecture.classCount, fanIn: inputs, scale: scale, random: &random)
    }

    public var fixedMatrices: [String: Matrix] { ["F": projection] }

    public func step(network: Network, input: Matrix, labels: [Int32], masks: [Matrix?], threads: Int,
                     recorder: OperationRecorder?) -> RuleStep {
        let batch = input.rows
        let lastIndex = network.layers.count - 1
        recorder?.phase = .forward
        // Both passes multiply by the same weights: W^T is packed once for them.
        let packed = network.packedTransposedWeights(threads: threads)
        let first = network.forward(input, masks: masks, packedWeights: packed, threads: threads, recorder: recorder)
        let error = Elementwise.outputError(first.probabilities, labels: labels, recorder: recorder)
        recorder?.phase = .errorProjection
        recorder?.layer = nil
        let projected = kind == .pepitaSign ? Elementwise.sign(error, recorder: recorder) : error
        // x_mod = x + e F^T
        let modulatedInput = product(projected, projection, transposeB: true, accumulatingInto: input, threads: threads,
                                     counting: recorder?.product(.errors, .projection, into: .modulatedInput))
        recorder?.phase = .modulatedForward
        let modulated = network.forward(modulatedInput, masks: masks, packedWeights: packed, threads: threads,
                                        recorder: recorder)
        let modulatedError = Elementwise.outputError(modulated.probabilities, labels: labels, recorder: recorder)

        recorder?.phase = .update
        var updates: [Matrix] = []
        var divisors: [Float] = []
        for (index, layer) in network.layers.enumerated() {
            recorder?.layer = index
            let modulatedTrace = modulated.layers[index]
            let delta: Matrix
            if index == lastIndex {
                delta = lastLayerError == .modulated ? modulatedError : error
            } else {
                delta = Elementwise.difference(first.layers[index].activated, modulatedTrace.activated, recorder: recorder)
            }
            let counting = recorder?.product(index == lastIndex ? .errors : .activations,
                                             index == 0 ? .modulatedInput : .activations, into: .updates)
            switch layer {
            case .dense:
                updates.append(product(delta, modulatedTrace.input, transposeA: true, threads: threads, counting: counting))
                divisors.append(1)
            case let .conv(_, outChannels, _, _):
                updates.append(Convolution.weightGradient(delta: delta, patches: modulatedTrace.inputPatches!,
                                                          outChannels: outChannels, patchSize: layer.weightShape.columns,
                                                          threads: threads, counting: counting))
                let positions = layer.convolutionOutputShape!.height * layer.convolutionOutputShape!.width
                divisors.append(Float(positions) * (convolutionBatchAverageTwice ? Float(batch) : 1))
            }
        }
        return RuleStep(updates: updates, divisors: divisors, firstPass: first)
    }
}
