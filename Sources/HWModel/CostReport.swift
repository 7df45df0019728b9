import Quantized

/// Everything the cost model says about one network, rule, batch, precision
/// and profile, with the inputs and assumptions repeated in full so that no
/// number travels without its meaning (STYLE 9). Encodes to JSON; exporters
/// (CSV, Markdown, HTML) read this struct.
public struct CostReport: Codable, Equatable, Sendable {
    /// Version of this JSON layout; bumped on any change a reader would notice.
    public static let currentSchemaVersion = 2

    public var schemaVersion: Int
    public var inputs: CostInputs
    public var assumptions: CostAssumptions
    /// Operation counts of one step by phase, layer and product (precision-free).
    public var operations: StepOperations
    /// Bytes read and written of one step by phase and kind of data.
    public var traffic: StepTraffic
    /// Peak live storage of one step under `assumptions.schedule`.
    public var storage: StorageProfile
    /// Does the peak fit on chip, and what spills.
    public var placement: MemoryPlacement
    /// Stochastic rounding's narrowings and random bits of one step, by phase and role (empty without stochastic roles).
    public var stochasticRounding: [StochasticNarrowings]
    /// Energy and roofline latency of each phase of one step.
    public var phases: [PhaseCost]
    public var perStep: CostFigures
    /// `perStep / batch`.
    public var perSample: CostFigures
    /// Each phase's figures divided by the batch.
    public var perSampleByPhase: [PhaseFigures]
    /// When `samplesPerEpoch` is given: full batches plus the last partial batch.
    public var perEpoch: EpochCost?
}

/// The inputs a report priced, in full.
public struct CostInputs: Codable, Equatable, Sendable {
    public var network: NetworkShape
    public var rule: TrainingRule
    public var batch: Int
    /// With PEPITA's last-layer error resolved to what was priced (nil for BP/FA/DFA).
    public var options: StepOptions
    public var precisionName: String
    public var precision: PrecisionConfig
    public var elementSizes: ElementSizes
    public var profileName: String
    public var profileDescription: String
    public var clockHz: Double
    public var samplesPerEpoch: Int?
}

/// The assumptions behind the figures, as text.
public struct CostAssumptions: Codable, Equatable, Sendable {
    public var countingConventions: String
    public var dataflow: String
    public var schedule: String
    public var placement: String
    public var pricing: String
    /// What this precision and profile add to `pricing`: wide accumulators, random bits priced or not.
    public var pricingNotes: [String]
    public var stochasticRounding: String
    public var roofline: String
}

/// Totals over a step, a sample or an epoch.
public struct CostFigures: Codable, Equatable, Sendable {
    public var macs: Double
    public var otherOperations: Double
    public var bytesRead: Double
    public var bytesWritten: Double
    public var energyPicojoules: Double
    public var latencyCycles: Double
    public var latencySeconds: Double

    public static let zero = CostFigures(macs: 0, otherOperations: 0, bytesRead: 0, bytesWritten: 0,
                                         energyPicojoules: 0, latencyCycles: 0, latencySeconds: 0)

    public static func + (a: CostFigures, b: CostFigures) -> CostFigures {
        CostFigures(macs: a.macs + b.macs, otherOperations: a.otherOperations + b.otherOperations,
                    bytesRead: a.bytesRead + b.bytesRead, bytesWritten: a.bytesWritten + b.bytesWritten,
                    energyPicojoules: a.energyPicojoules + b.energyPicojoules, latencyCycles: a.latencyCycles + b.latencyCycles,
                    latencySeconds: a.latencySeconds + b.latencySeconds)
    }

    public func scaled(by factor: Double) -> CostFigures {
        CostFigures(macs: macs * factor, otherOperations: otherOperations * factor, bytesRead: bytesRead * factor,
                    bytesWritten: bytesWritten * factor, energyPicojoules: energyPicojoules * factor,
                    latencyCycles: latencyCycles * factor, latencySeconds: latencySeconds * factor)
    }
}

public struct PhaseFigures: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    public var figures: CostFigures
}

public struct EpochCost: Codable, Equatable, Sendable {
    public var samples: Int
    public var fullBatches: Int
    /// 0 when the batch divides the sample count.
    public var lastBatchSize: Int
    public var operations: EpochOperations
    public var figures: CostFigures
}
