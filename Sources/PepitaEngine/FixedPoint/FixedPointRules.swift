import Quantized

/// What a fixed-point rule step produces: per layer the exact update sums
/// `dW` (before `eta / B`) and the extra divisor the rule applies to them
/// (PEPITA's conv normalisation), plus the first pass's probabilities.
public struct FixedPointRuleStep: Sendable {
    public var updates: [ExactSums]
    public var divisors: [Double]
    public var probabilities: FixedMatrix
}

/// A learning rule in integer arithmetic. Conformers: `FixedPointPepita`, `FixedPointBackprop`.
public protocol FixedPointLearningRule: Sendable {
    var kind: RuleKind { get }
    func step(network: FixedPointNetwork, input: FixedMatrix, labels: [Int32], masks: [Matrix?], keepScale: FixedScalar?,
              arithmetic: FixedPointArithmetic) -> FixedPointRuleStep
    /// Fixed matrices by file name (`F`, `B1`, ...).
    var fixedMatrices: [String: FixedMatrix] { get }
}

/// `h1 - h2` of two traces narrowed to one format: an exact code difference,
/// saturated to Int16 (a difference of two 16-bit codes can need 17 bits).
/// One subtraction per element.
func codeDifference(_ a: FixedMatrix, _ b: FixedMatrix, operations: OperationRecorder?) -> FixedMatrix {
    precondition(a.format == b.format)
    operations?.count(OperationTally(adds: a.count))
    var result = a
    for i in result.codes.indices {
        result.codes[i] = Int16(clamping: Int32(a.codes[i]) - Int32(b.codes[i]))
    }
    return result
}

/// `dW = delta^T h_{l-1}` (dense) or the sum over positions of
/// `outer(delta, patch)` (conv), exactly. `roles` are those of `delta` and of the layer's input.
func weightUpdateSums(layer: LayerSpec, delta: FixedMatrix, trace: FixedLayerTrace, roles: (left: TensorRole, right: TensorRole),
                      arithmetic: FixedPointArithmetic) -> ExactSums {
    switch layer {
    case .dense:
        return arithmetic.sums(delta, trace.input, transposeA: true, role: .updates, operands: roles, takingLargest: true)
    case let .conv(_, outChannels, _, _):
        return arithmetic.convolutionWeightSums(delta: delta, patches: trace.inputPatches!, outChannels: outChannels,
                                                patchSize: layer.weightShape.columns, role: .updates, operands: roles)
    }
}

/// PEPITA in integer arithmetic, step for step as `Pepita` (see there for the
/// equations): `x_mod = x + e F^T` narrowed to the input's format (so a
/// modulation below half a step vanishes unless rounding is stochastic —
/// counted as "rounded to zero" under `modulatedInput`), the modulated pass
/// reuses the first pass's activation formats, and `h - h_mod` is the exact
/// difference of their codes.
public struct FixedPointPepita: FixedPointLearningRule {
    public let kind: RuleKind
    public let projection: FixedMatrix
    public let lastLayerError: LastLayerError
    public let convolutionBatchAverageTwice: Bool

    public init(kind: RuleKind, projection: FixedMatrix, lastLayerError: LastLayerError, convolutionBatchAverageTwice: Bool) {
        precondition(kind.isPepita)
        self.kind = kind
        self.projection = projection
        self.lastLayerError = lastLayerError
        self.convolutionBatchAverageTwice = convolutionBatchAverageTwice
    }

    public var fixedMatrices: [String: FixedMatrix] { ["F": projection] }

    public func step(network: FixedPointNetwork, input: FixedMatrix, labels: [Int32], masks: [Matrix?], keepScale: FixedScalar?,
                     arithmetic: FixedPointArithmetic) -> FixedPointRuleStep {
        let batch = input.rows
        let recorder = arithmetic.recorder
        let operations = arithmetic.operations
        recorder?.prefix = "pass1."
        operations?.phase = .forward
        let first = network.forward(input, masks: masks, keepScale: keepScale, arithmetic: arithmetic)
        recorder?.prefix = ""
        let error = arithmetic.outputError(first.traces.last!.output, labels: labels)
        recorder?.record("e", error, role: .errors, note: "y - onehot")
        operations?.phase = .errorProjection
        operations?.layer = nil
        var projected = error
        if kind == .pepitaSign {
            operations?.count(OperationTally(compares: error.count))
            projected.codes = error.codes.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
            projected.format.fractionalBits = 0
        }
        let modulationSums = arithmetic.sums(projected, projection, transposeB: true, role: .modulatedInput,
                                             operands: (.errors, .projection))
        let modulation = arithmetic.requantize(modulationSums, role: .modulatedInput, format: input.format)
        let modulatedInput = arithmetic.saturatingSum(input, modulation, role: .modulatedInput)
        recorder?.record("modulation", modulation, role: .modulatedInput, note: "e F^T narrowed to the input format")
        recorder?.record("x_mod", modulatedInput, role: .modulatedInput, note: "x + e F^T, saturating")
        recorder?.prefix = "pass2."
        operations?.phase = .modulatedForward
        let modulated = network.forward(modulatedInput, masks: masks, keepScale: keepScale,
                                        activationFormats: first.activationFormats, arithmetic: arithmetic)
        recorder?.prefix = ""
        let modulatedError = arithmetic.outputError(modulated.traces.last!.output, labels: labels)
        recorder?.record("e_mod", modulatedError, role: .errors, note: "y_mod - onehot")

        operations?.phase = .update
        var updates: [ExactSums] = []
        var divisors: [Double] = []
        let lastIndex = network.layers.count - 1
        for (index, layer) in network.layers.enumerated() {
            operations?.layer = index
            let delta: FixedMatrix
            if index == lastIndex {
                delta = lastLayerError == .modulated ? modulatedError : error
            } else if arithmetic.config.pepitaDifference == .accumulators {
                delta = arithmetic.requantize(arithmetic.sum(first.traces[index].activatedSums!,
                                                             modulated.traces[index].activatedSums!, subtract: true),
                                              role: .activations)
            } else {
                delta = codeDifference(first.traces[index].activated!, modulated.traces[index].activated!, operations: operations)
            }
            updates.append(weightUpdateSums(layer: layer, delta: delta, trace: modulated.traces[index],
                                            roles: (index == lastIndex ? .errors : .activations,
                                                    index == 0 ? .modulatedInput : .activations),
                                            arithmetic: arithmetic))
            recorder?.record("dW\(index)", updates[index], note: index == lastIndex
                ? "\(lastLayerError == .modulated ? "e_mod" : "e")^T h_mod (summed over the batch)"
                : "(h - h_mod)^T h_mod of the layer below (summed over the batch\(layer.isConvolution ? " and positions" : ""))")
            if let shape = layer.convolutionOutputShape {
                divisors.append(Double(shape.height * shape.width) * (convolutionBatchAverageTwice ? Double(batch) : 1))
            } else {
                divisors.append(1)
            }
        }
        return FixedPointRuleStep(updates: updates, divisors: divisors, probabilities: first.traces.last!.output)
    }
}

/// BP, FA and DFA in integer arithmetic, as `Backprop`: deltas are narrowed
/// to the error format at every layer (dynamic scaling keeps small deltas
/// alive), ReLU's derivative and the dropout mask are applied to the exact
/// sums before that narrowing. ReLU's derivative is read from the stored
/// activation code, as a chip that keeps only the narrowed activations would:
/// a positive pre-activation that rounded to code 0 passes no gradient.
public struct FixedPointBackprop: FixedPointLearningRule {
    public let kind: RuleKind
    /// As `Backprop.feedback`, narrowed to the projection format.
    public let feedback: [FixedMatrix]

    public init(kind: RuleKind, feedback: [FixedMatrix]) {
        precondition(!kind.isPepita)
        self.kind = kind
        self.feedback = feedback
    }

    public var fixedMatrices: [String: FixedMatrix] {
        var named: [String: FixedMatrix] = [:]
        for (index, matrix) in feedback.enumerated() where matrix.count > 0 { named["B\(index)"] = matrix }
        return named
    }

    public func step(network: FixedPointNetwork, input: FixedMatrix, labels: [Int32], masks: [Matrix?], keepScale: FixedScalar?,
                     arithmetic: FixedPointArithmetic) -> FixedPointRuleStep {
        let recorder = arithmetic.recorder
        let operations = arithmetic.operations
        recorder?.prefix = "pass1."
        operations?.phase = .forward
        let traces = network.forward(input, masks: masks, keepScale: keepScale, arithmetic: arithmetic).traces
        recorder?.prefix = ""
        let outputError = arithmetic.outputError(traces.last!.output, labels: labels)
        recorder?.record("e", outputError, role: .errors, note: "y - onehot")
        let layers = network.layers
        var updates = [ExactSums?](repeating: nil, count: layers.count)
        var delta = outputError
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            operations?.phase = .weightGradient
            operations?.layer = index
            updates[index] = weightUpdateSums(layer: layers[index], delta: delta, trace: traces[index],
                                              roles: (.errors, index == 0 ? .modulatedInput : .activations), arithmetic: arithmetic)
            recorder?.record("dW\(index)", updates[index]!, note: "delta\(index)^T h\(index) (summed over the batch)")
            if index == 0 { break }
            precondition(!layers[index].isConvolution || kind == .dfa,
                         "a convolution above the first layer needs an input gradient, which is not implemented")
            // Counted under layer index-1, which receives the delta.
            operations?.phase = .backwardDelta
            operations?.layer = index - 1
            var below: ExactSums
            switch kind {
            case .bp: below = arithmetic.sums(delta, network.weights[index], role: .errors, operands: (.errors, .weights))
            case .fa: below = arithmetic.sums(delta, feedback[index], role: .errors, operands: (.errors, .projection))
            default: below = arithmetic.sums(outputError, feedback[index - 1], role: .errors, operands: (.errors, .projection))
            }
            let belowTrace = traces[index - 1]
            if let winners = belowTrace.poolWinners {
                below.values = MaxPool.backward(below.values, batch: below.rows, winners: winners,
                                                inputShape: layers[index - 1].convolutionOutputShape!, recorder: operations)
                below.columns = below.values.count / below.rows
            }
            // ReLU's derivative, one compare per element on the stored code (a
            // dropped unit's code is 0: its sum was zeroed before narrowing).
            let activated = belowTrace.activated!
            let mask = masks[index - 1]
            // With dropout, the keep scale multiplies in the same pass (its
            // multiplies counted, its shift added to the scale).
            operations?.count(OperationTally(compares: below.values.count))
            let scale = mask != nil ? keepScale : nil
            if let scale {
                operations?.count(OperationTally(multiplies: below.values.count))
                below.fractionalBits += scale.shift
            }
            below.changeValues { values in
                activated.codes.withUnsafeBufferPointer { codes in
                    TensorQuantization.gate(values, byCodes: codes, mantissa: scale?.mantissa ?? 1)
                }
            }
            delta = arithmetic.requantize(below, role: .errors)
            recorder?.record("delta\(index - 1)", delta, role: .errors, note: "delta at layer \(index - 1)'s pre-activation")
        }
        return FixedPointRuleStep(updates: updates.map { $0! }, divisors: [Double](repeating: 1, count: layers.count),
                                  probabilities: traces.last!.output)
    }
}
