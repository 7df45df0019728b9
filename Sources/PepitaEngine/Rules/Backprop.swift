/// Backpropagation and its two feedback-alignment relatives, which differ only
/// in how the output error reaches the hidden layers.
///
/// Loss: softmax cross-entropy, mean over the batch, so the output delta is
/// `y - onehot` and the optimiser's `/ batch` makes the mean. Then, from the
/// top down, `dW_l = delta_l^T h_{l-1}` (for conv layers, summed over output
/// positions) and the delta one layer down is
/// - BP:  `(delta_l W_l) * f'`, the exact gradient;
/// - FA:  `(delta_l B_l) * f'` with a fixed random `B_l` shaped like `W_l`
///        (Lillicrap et al., 2016);
/// - DFA: `(e D_l) * f'` with a fixed random `D_l` (`classes x outputs_l`)
///        straight from the output error (Nøkland, 2016);
/// where `f'` is ReLU's derivative times the dropout mask, routed back through
/// max pooling to the winning inputs.
public struct Backprop: LearningRule {
    public let kind: RuleKind
    /// FA: `feedback[l]` replaces `W_l` for l >= 1 (index 0 unused, empty).
    /// DFA: `feedback[l]` is `D_l` for each hidden layer l (last entry unused, empty).
    public let feedback: [Matrix]

    public init(kind: RuleKind, feedback: [Matrix] = []) {
        precondition(!kind.isPepita)
        self.kind = kind
        self.feedback = feedback
    }

    /// Draws the fixed feedback matrices FA and DFA need from the `feedback`
    /// stream of `seed`, he_uniform like a weight of the same shape (fan-in is
    /// the matrix's column count); BP needs none.
    public static func randomFeedback(kind: RuleKind, architecture: Architecture, seed: UInt64) -> [Matrix] {
        var random = RandomStream(seed: seed, purpose: .feedback)
        let layers = architecture.layers
        switch kind {
        case .fa:
            return layers.enumerated().map { index, layer in
                index == 0 ? Matrix(zeros: 0, 0)
                    : heUniformMatrix(rows: layer.weightShape.rows, columns: layer.weightShape.columns,
                                      fanIn: layer.fanIn, scale: 1, random: &random)
            }
        case .dfa:
            return layers.enumerated().map { index, layer in
                index == layers.count - 1 ? Matrix(zeros: 0, 0)
                    : heUniformMatrix(rows: architecture.classCount, columns: layer.outputCount,
                                      fanIn: layer.outputCount, scale: 1, random: &random)
            }
        default:
            return []
        }
    }

    public var fixedMatrices: [String: Matrix] {
        var named: [String: Matrix] = [:]
        for (index, matrix) in feedback.enumerated() where matrix.count > 0 { named["B\(index)"] = matrix }
        return named
    }

    public func step(network: Network, input: Matrix, labels: [Int32], masks: [Matrix?], threads: Int,
                     recorder: OperationRecorder?) -> RuleStep {
        recorder?.phase = .forward
        let trace = network.forward(input, masks: masks, threads: threads, recorder: recorder)
        let outputError = Elementwise.outputError(trace.probabilities, labels: labels, recorder: recorder)
        let layers = network.layers
        var updates = [Matrix](repeating: Matrix(zeros: 0, 0), count: layers.count)
        var delta = outputError  // gradient at layer l's pre-activation
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            let layerTrace = trace.layers[index]
            recorder?.phase = .weightGradient
            recorder?.layer = index
            let gradientCounting = recorder?.product(.errors, index == 0 ? .modulatedInput : .activations, into: .updates)
            switch layers[index] {
            case .dense:
                updates[index] = product(delta, layerTrace.input, transposeA: true, threads: threads, counting: gradientCounting)
            case let .conv(_, outChannels, _, _):
                updates[index] = Convolution.weightGradient(delta: delta, patches: layerTrace.inputPatches!,
                                                            outChannels: outChannels, patchSize: layers[index].weightShape.columns,
                                                            threads: threads, counting: gradientCounting)
            }
            if index == 0 { break }
            precondition(!layers[index].isConvolution || kind == .dfa,
                         "a convolution above the first layer needs an input gradient, which is not implemented")
            // Gradient at the output of layer index-1 (after its pooling, if any),
            // counted under layer index-1, which receives it.
            recorder?.phase = .backwardDelta
            recorder?.layer = index - 1
            var below: Matrix
            switch kind {
            case .bp: below = product(delta, network.weights[index], threads: threads,
                                      counting: recorder?.product(.errors, .weights, into: .errors))
            case .fa: below = product(delta, feedback[index], threads: threads,
                                      counting: recorder?.product(.errors, .projection, into: .errors))
            default: below = product(outputError, feedback[index - 1], threads: threads,
                                     counting: recorder?.product(.errors, .projection, into: .errors))
            }
            let belowTrace = trace.layers[index - 1]
            if let winners = belowTrace.poolWinners {
                below = MaxPool.backward(below, winners: winners, inputShape: layers[index - 1].convolutionOutputShape!,
                                         recorder: recorder)
            }
            Elementwise.maskByActivation(&below, activated: belowTrace.activated, mask: masks[index - 1], recorder: recorder)
            delta = below
        }
        return RuleStep(updates: updates, firstPass: trace)
    }
}
