extension CostModel {
    /// The dataflow the traffic counts assume; every report repeats it.
    public static let dataflowAssumption = """
        Every matrix product reads each operand once from on-chip memory and writes its output once; \
        weights (and F / feedback matrices) are read once per product that uses them, i.e. once per pass. \
        A convolution reads its input feature map once (im2col is an address pattern, not a stored copy). \
        ReLU, dropout, max pooling, softmax and the output error are applied in the product's output stage, \
        before the single write. Elementwise steps not fused into a product (x + e F^T, the ReLU-derivative mask, \
        routing through max pooling) read their operands once and write their result once. \
        Weight gradients leave the accumulators straight into the momentum update (no dW is stored); \
        the optimiser reads and writes every weight and velocity once. \
        BP takes the ReLU/dropout derivative from the stored activation (h > 0), so it stores no dropout mask; \
        PEPITA stores the dropout mask (1 bit per element) for its second pass. \
        Labels and one-hot targets are not counted.
        """

    /// Bytes read and written per phase and kind of data for one step, under
    /// `dataflowAssumption`, with element sizes from the precision config.
    ///
    /// Forward pass, per layer: read its input (`B * inputCount`) and its weights;
    /// a hidden layer writes its output (`B * pooled`); under PEPITA a pooling
    /// conv also writes its pre-pool activation (`B * activated`, which the update
    /// needs), the first pass writes the dropout mask and the modulated pass reads it;
    /// under BP/FA/DFA a pooling layer writes its winner indices. The last layer
    /// writes the output error (`B * classes`).
    ///
    /// PEPITA `errorProjection`: read `e`, `F` and `x`, write `x_mod`.
    /// PEPITA `update`, per layer: read `h` and `h_mod` (`B * activated` each; the
    /// last layer reads its error instead) and the layer's modulated input.
    ///
    /// BP/FA/DFA `backwardDelta`, per delta sent to layer `l - 1`: read `delta_l`
    /// and `W_l` (FA: `B_l`; DFA: `e` and `D_{l-1}`), read layer `l - 1`'s stored
    /// output (the derivative) and its winner indices if it pools, write
    /// `delta_{l-1}` (`B * activated_{l-1}`). `weightGradient`, per layer: read
    /// `delta_l` and the layer's stored input.
    ///
    /// `optimiser`: read and write every weight and every velocity.
    public static func traffic(network: NetworkShape, rule: TrainingRule, batch: Int, sizes: ElementSizes,
                               options: StepOptions = StepOptions()) throws -> StepTraffic {
        try checkInputs(network: network, rule: rule, batch: batch, options: options)
        let counter = TrafficCounter(network: network, rule: rule, batch: batch, sizes: sizes, options: options)
        return StepTraffic(rule: rule, batch: batch, phases: rule.phases.map(counter.phase))
    }
}

/// The formulas of `CostModel.traffic`, phase by phase.
struct TrafficCounter {
    let network: NetworkShape
    let rule: TrainingRule
    let batch: Int
    let sizes: ElementSizes
    let options: StepOptions

    var layers: [LayerShape] { network.layers }
    var lastIndex: Int { layers.count - 1 }

    func inputKind(_ l: Int) -> DataKind { l == 0 ? .input : .activations }

    func phase(_ phase: TrainingPhase) -> PhaseTraffic {
        var tally = TrafficTally()
        let B = batch
        switch phase {
        case .forward, .modulatedForward:
            for (l, layer) in layers.enumerated() {
                tally.read(inputKind(l), sizes.bytes(inputKind(l), count: B * layer.inputCount))
                tally.read(.weights, sizes.bytes(.weights, count: layer.weightCount))
                guard l < lastIndex else {
                    tally.write(.errors, sizes.bytes(.errors, count: B * network.classes))
                    continue
                }
                tally.write(.activations, sizes.bytes(.activations, count: B * layer.outputCount))
                if rule.isPepita {
                    if layer.pools { tally.write(.activations, sizes.bytes(.activations, count: B * layer.activatedCount)) }
                    if !layer.isConvolution && options.usesDropout {
                        let maskBytes = sizes.maskBytes(count: B * layer.fanOut, bits: sizes.dropoutMaskBits)
                        if phase == .forward { tally.write(.masks, maskBytes) } else { tally.read(.masks, maskBytes) }
                    }
                } else if layer.pools {
                    tally.write(.masks, sizes.maskBytes(count: B * layer.outputCount, bits: sizes.poolWinnerBits))
                }
            }
        case .errorProjection:
            tally.read(.errors, sizes.bytes(.errors, count: B * network.classes))
            tally.read(.projection, sizes.bytes(.projection, count: network.inputCount * network.classes))
            tally.read(.input, sizes.bytes(.input, count: B * network.inputCount))
            tally.write(.input, sizes.bytes(.input, count: B * network.inputCount))
        case .update:
            for (l, layer) in layers.enumerated() {
                if l < lastIndex {
                    tally.read(.activations, sizes.bytes(.activations, count: 2 * B * layer.activatedCount))
                } else {
                    tally.read(.errors, sizes.bytes(.errors, count: B * network.classes))
                }
                tally.read(inputKind(l), sizes.bytes(inputKind(l), count: B * layer.inputCount))
            }
        case .backwardDelta:
            for l in stride(from: lastIndex, through: 1, by: -1) {
                let layer = layers[l], below = layers[l - 1]
                if rule == .dfa {
                    tally.read(.errors, sizes.bytes(.errors, count: B * network.classes))
                    tally.read(.projection, sizes.bytes(.projection, count: network.classes * below.outputCount))
                } else {
                    tally.read(.errors, sizes.bytes(.errors, count: B * layer.activatedCount))
                    let matrix: DataKind = rule == .bp ? .weights : .projection
                    tally.read(matrix, sizes.bytes(matrix, count: layer.weightCount))
                }
                tally.read(.activations, sizes.bytes(.activations, count: B * below.outputCount))
                if below.pools { tally.read(.masks, sizes.maskBytes(count: B * below.outputCount, bits: sizes.poolWinnerBits)) }
                tally.write(.errors, sizes.bytes(.errors, count: B * below.activatedCount))
            }
        case .weightGradient:
            for (l, layer) in layers.enumerated() {
                tally.read(.errors, sizes.bytes(.errors, count: B * layer.activatedCount))
                tally.read(inputKind(l), sizes.bytes(inputKind(l), count: B * layer.inputCount))
            }
        case .optimiser:
            let weights = network.parameterCount
            tally.read(.weights, sizes.bytes(.weights, count: weights))
            tally.write(.weights, sizes.bytes(.weights, count: weights))
            tally.read(.optimiserState, sizes.bytes(.optimiserState, count: weights))
            tally.write(.optimiserState, sizes.bytes(.optimiserState, count: weights))
        case .recompute, .negativeForward:
            break // phases of pepita-ms and ff only, which `checkInputs` refuses here
        }
        return tally.phase(phase)
    }
}
