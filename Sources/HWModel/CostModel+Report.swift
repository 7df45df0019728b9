import Quantized

extension CostModel {
    /// What the counts mean, repeated in every report.
    public static let countingConventions = """
        Counts are scalar operations of one training step on a batch, as the engine's kernels perform them. \
        A MAC is one multiply-accumulate inside a matrix product (dense: B*in*out; conv as im2col + GEMM: \
        B*P*(C_in*k*k)*C_out). adds: additions and subtractions outside products (a sum of n terms is n-1 adds; \
        the output error y - onehot is one subtraction per sample); multiplies: dropout, BP's dropout rescale, \
        softmax normalisation, optimiser scalings; compares: ReLU, BP's ReLU derivative (h > 0), max pooling \
        (3 per pooled value), softmax's running max, sign(e); exps and divides: softmax (classes exps; float: one \
        reciprocal per row and classes multiplies, integer softmax: classes divides). The optimiser is momentum SGD, \
        2 multiplies and 2 adds per weight. PEPITA's conv-update normalisation is folded into the optimiser scalar. \
        Narrowing to a fixed-point format, im2col, transposes, mask generation, one-hot encoding and per-step \
        scalars are data movement or setup and are not counted. The engine's kernel counters equal these counts \
        (CostModelAgreementTests, pepita-edge cost --check).
        """

    /// Counts, storage, placement, energy and latency of one step of `rule` on
    /// `network` with batch `batch`, in `precision`, priced on `profile`; with
    /// `samplesPerEpoch`, also one epoch (full batches plus the last partial batch).
    public static func report(network: NetworkShape, rule: TrainingRule, batch: Int, precision: PrecisionConfig,
                              profile: HardwareProfile, samplesPerEpoch: Int? = nil,
                              options: StepOptions = StepOptions()) throws -> CostReport {
        try profile.validate()
        var resolved = options
        resolved.pepitaLastLayerError = rule.isPepita ? options.lastLayerError(for: network) : nil
        resolved.softmax = StepOptions.softmaxMode(for: precision)
        let sizes = try ElementSizes(precision: precision)
        let step = try PricedStep(network: network, rule: rule, batch: batch, sizes: sizes, precision: precision,
                                  profile: profile, options: resolved)

        var epoch: EpochCost? = nil
        if let samples = samplesPerEpoch {
            let operations = try epochOperations(network: network, rule: rule, batch: batch, samples: samples, options: resolved)
            var figures = CostFigures.zero
            for (size, count) in epochBatches(samples: samples, batch: batch) {
                let priced = size == batch ? step : try PricedStep(network: network, rule: rule, batch: size, sizes: sizes,
                                                                   precision: precision, profile: profile, options: resolved)
                figures = figures + priced.figures.scaled(by: Double(count))
            }
            epoch = EpochCost(samples: samples, fullBatches: samples / batch, lastBatchSize: samples % batch,
                              operations: operations, figures: figures)
        }

        let clockHz = profile.clockHz.value
        return CostReport(
            schemaVersion: CostReport.currentSchemaVersion,
            inputs: CostInputs(network: network, rule: rule, batch: batch, options: resolved, precisionName: precision.name,
                               precision: precision, elementSizes: sizes, profileName: profile.name,
                               profileDescription: profile.description, clockHz: clockHz, samplesPerEpoch: samplesPerEpoch),
            assumptions: CostAssumptions(countingConventions: countingConventions, dataflow: dataflowAssumption,
                                         schedule: StorageModel.schedule(for: rule), placement: MemoryPlacement.policy,
                                         pricing: EnergyLatency.pricingAssumption,
                                         pricingNotes: EnergyLatency.pricingNotes(precision: precision, profile: profile,
                                                                                  stochasticNarrowings: step.stochasticNarrowings),
                                         stochasticRounding: stochasticRoundingAssumption, roofline: EnergyLatency.rooflineAssumption),
            operations: step.operations, traffic: step.traffic, storage: step.storage, placement: step.placement,
            stochasticRounding: step.stochasticNarrowings,
            phases: step.phases, perStep: step.figures, perSample: step.figures.scaled(by: 1 / Double(batch)),
            perSampleByPhase: step.phases.map {
                PhaseFigures(phase: $0.phase, figures: PricedStep.figures($0, clockHz: clockHz).scaled(by: 1 / Double(batch)))
            },
            perEpoch: epoch)
    }
}

/// Counts, storage, placement and prices of one step of one batch size.
struct PricedStep {
    let operations: StepOperations
    let traffic: StepTraffic
    let storage: StorageProfile
    let placement: MemoryPlacement
    let stochasticNarrowings: [StochasticNarrowings]
    let phases: [PhaseCost]
    let figures: CostFigures

    init(network: NetworkShape, rule: TrainingRule, batch: Int, sizes: ElementSizes, precision: PrecisionConfig,
         profile: HardwareProfile, options: StepOptions) throws {
        operations = try CostModel.operations(network: network, rule: rule, batch: batch, options: options)
        traffic = try CostModel.traffic(network: network, rule: rule, batch: batch, sizes: sizes, options: options)
        storage = try StorageModel.peak(network: network, rule: rule, batch: batch, sizes: sizes, options: options)
        placement = MemoryPlacement(storage: storage, traffic: traffic, profile: profile)
        stochasticNarrowings = CostModel.stochasticNarrowings(network: network, rule: rule, batch: batch, precision: precision)
        phases = try EnergyLatency.price(operations: operations, traffic: traffic, placement: placement,
                                         precision: precision, profile: profile, stochasticNarrowings: stochasticNarrowings)
        figures = phases.reduce(CostFigures.zero) { $0 + PricedStep.figures($1, clockHz: profile.clockHz.value) }
    }

    static func figures(_ phase: PhaseCost, clockHz: Double) -> CostFigures {
        CostFigures(macs: Double(phase.operations.macs), otherOperations: Double(phase.operations.otherOperations),
                    bytesRead: Double(phase.bytesRead), bytesWritten: Double(phase.bytesWritten),
                    energyPicojoules: phase.energy.energyPicojoules, latencyCycles: phase.latencyCycles,
                    latencySeconds: phase.latencyCycles / clockHz)
    }
}
