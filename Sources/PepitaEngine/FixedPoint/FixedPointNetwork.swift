import Quantized

/// What one layer computed in a fixed-point forward pass.
public struct FixedLayerTrace: Sendable {
    /// `h_{l-1}`, the layer's input.
    public var input: FixedMatrix
    /// Conv layers: the input's patch matrices (`Convolution.patchMatrices`,
    /// `batch * patch` rows of `positions`).
    public var inputPatches: FixedMatrix?
    /// Hidden layers: `relu(sums) * mask` narrowed to the activation format
    /// (conv: before pooling). The last layer: nil (see `logits`).
    public var activated: FixedMatrix?
    /// Hidden layers: the exact sums `relu(sums) * mask` before their narrowing.
    public var activatedSums: ExactSums?
    /// The last layer's exact sums.
    public var logits: ExactSums?
    public var poolWinners: [Int32]?
    /// To the next layer; for the last layer, the softmax probabilities (error format).
    public var output: FixedMatrix
}

/// A network whose weights are fixed-point codes, computed in integer arithmetic.
public struct FixedPointNetwork: Sendable {
    public let architecture: Architecture
    public var weights: [FixedMatrix]

    public init(architecture: Architecture, weights: [FixedMatrix]) {
        precondition(weights.count == architecture.layers.count)
        self.architecture = architecture
        self.weights = weights
    }

    public var layers: [LayerSpec] { architecture.layers }

    /// The forward pass. Per hidden layer: exact sums `h_{l-1} W^T` (conv:
    /// patches times the conv weight), ReLU and the dropout mask applied to the
    /// exact sums (the mask's 1/keep as a multiply-shift scalar), then ONE
    /// narrowing to the activation format. Dynamic activation formats are
    /// chosen from the first pass; `activationFormats` hands them to the
    /// modulated pass so both passes share each layer's scale and `h - h_mod`
    /// is an exact code difference. The last layer's sums go through softmax
    /// (integer approximation by default) into the error format.
    public func forward(_ input: FixedMatrix, masks: [Matrix?]?, keepScale: FixedScalar?,
                        activationFormats: [FixedPointFormat?]? = nil,
                        arithmetic: FixedPointArithmetic) -> (traces: [FixedLayerTrace], activationFormats: [FixedPointFormat?]) {
        var traces: [FixedLayerTrace] = []
        var formats: [FixedPointFormat?] = []
        var current = input
        let operations = arithmetic.operations
        for (index, layer) in layers.enumerated() {
            let isLast = index == layers.count - 1
            operations?.layer = index
            let inputRole: TensorRole = index == 0 ? .modulatedInput : .activations
            var patches: FixedMatrix? = nil
            var sums: ExactSums
            switch layer {
            case .dense:
                sums = arithmetic.sums(current, weights[index], transposeB: true, role: isLast ? .errors : .activations,
                                       operands: (inputRole, .weights))
            case let .conv(shape, _, k, _):
                let positions = layer.convolutionOutputShape!.height * layer.convolutionOutputShape!.width
                let patchMatrices = FixedMatrix(
                    rows: current.rows * shape.channels * k * k, columns: positions,
                    codes: Convolution.patchMatrices(current.codes, batch: current.rows, shape: shape, kernelSize: k,
                                                     threads: arithmetic.threads),
                    format: current.format)
                sums = arithmetic.convolutionSums(patches: patchMatrices, weight: weights[index], batch: current.rows,
                                                  role: .activations, operands: (inputRole, .weights))
                patches = patchMatrices
            }
            if isLast {
                let probabilities = softmax(sums, arithmetic: arithmetic)
                arithmetic.recorder?.record("logits", sums, note: "last layer sums, before softmax")
                arithmetic.recorder?.record("y", probabilities, role: .errors, note: "softmax output")
                traces.append(FixedLayerTrace(input: current, inputPatches: patches, activated: nil, activatedSums: nil,
                                              logits: sums, poolWinners: nil, output: probabilities))
                formats.append(nil)
                break
            }
            // ReLU, one compare per element; dropout, one multiply per element.
            operations?.count(OperationTally(compares: sums.values.count))
            let dropout = masks?[index].flatMap { mask in keepScale.map { (mask, $0) } }
            if let (_, keepScale) = dropout {
                operations?.count(OperationTally(multiplies: sums.values.count))
                sums.fractionalBits += keepScale.shift
            }
            sums.changeValues { values in
                if let (mask, keepScale) = dropout {
                    return mask.values.withUnsafeBufferPointer { keep in
                        TensorQuantization.reluAndDropout(values, keep: keep, mantissa: keepScale.mantissa,
                                                          threads: arithmetic.threads)
                    }
                }
                return TensorQuantization.reluAndDropout(values, keep: nil, mantissa: 0, threads: arithmetic.threads)
            }
            let activated = arithmetic.requantize(sums, role: .activations, format: activationFormats?[index] ?? nil)
            arithmetic.recorder?.record("h\(index + 1)", activated, role: .activations,
                                        note: "relu(sums) * dropout mask, narrowed (conv: before pooling)")
            formats.append(activated.format)
            var output = activated
            var winners: [Int32]? = nil
            if case .conv(_, _, _, true) = layer {
                let pooled = MaxPool.forward(activated.codes, batch: activated.rows, shape: layer.convolutionOutputShape!,
                                             threads: arithmetic.threads, recorder: operations)
                output = FixedMatrix(rows: activated.rows, columns: pooled.output.count / activated.rows,
                                     codes: pooled.output, format: activated.format)
                winners = pooled.winners
            }
            traces.append(FixedLayerTrace(input: current, inputPatches: patches, activated: activated, activatedSums: sums,
                                          logits: nil, poolWinners: winners, output: output))
            current = output
        }
        return (traces, formats)
    }

    /// Row-wise softmax of exact logits into the error format that holds 1.0.
    /// The integer softmax counts, per row of `c` logits: `c - 1` compares
    /// (the max), `c` subtractions of it, `c` exps (base-2 exponent by table
    /// and polynomial), `c - 1` adds (the sum) and `c` divides (one exact
    /// division per probability). The float option counts as `Elementwise.softmax`.
    func softmax(_ logits: ExactSums, arithmetic: FixedPointArithmetic) -> FixedMatrix {
        let format = arithmetic.config[.errors].format(forMaxAbs: 1)
        var codes = [Int16]()
        codes.reserveCapacity(logits.values.count)
        switch arithmetic.config.softmax {
        case .integer:
            let width = logits.columns
            if width > 0 {
                arithmetic.operations?.count(OperationTally(adds: logits.rows * (2 * width - 1), compares: logits.rows * (width - 1),
                                                            exps: logits.values.count, divides: logits.values.count))
            }
            var counters = QuantizationCounters()
            for row in 0..<logits.rows {
                let slice = Array(logits.values[row * logits.columns ..< (row + 1) * logits.columns])
                codes += IntegerSoftmax.probabilities(logits: slice, logitFractionalBits: logits.fractionalBits,
                                                      output: format, counters: &counters)
            }
            arithmetic.record(counters, role: .errors)
        case .float:
            let step = Double(sign: .plus, exponent: -logits.fractionalBits, significand: 1)
            let real = Matrix(rows: logits.rows, columns: logits.columns, values: logits.values.map { Float(Double($0) * step) })
            return arithmetic.quantize(Elementwise.softmax(real, recorder: arithmetic.operations), role: .errors, format: format)
        }
        return FixedMatrix(rows: logits.rows, columns: logits.columns, codes: codes, format: format)
    }

    /// Predicted class of each row: the argmax of the exact logits (ties to the lower class).
    public func predictions(_ input: FixedMatrix, arithmetic: FixedPointArithmetic) -> (classes: [Int], logits: ExactSums) {
        let trace = forward(input, masks: nil, keepScale: nil, arithmetic: arithmetic).traces.last!
        let logits = trace.logits!
        let classes = (0..<logits.rows).map { row -> Int in
            var best = 0
            for j in 1..<logits.columns where logits.values[row * logits.columns + j] > logits.values[row * logits.columns + best] {
                best = j
            }
            return best
        }
        return (classes, logits)
    }
}
