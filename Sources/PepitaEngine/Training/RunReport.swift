/// One training run as reports carry it: the inputs (every resolved setting),
/// the per-epoch curve and the summary, so a number never travels without
/// its meaning.
public struct RunReport: Codable, Sendable {
    public var config: TrainingConfig
    public var summary: RunSummary
    public var epochs: [EpochMetrics]

    public init(trainer: Trainer) {
        config = trainer.config
        summary = trainer.summary
        epochs = trainer.history
    }
}

/// Several runs side by side (`pepita-edge compare`), schema-versioned.
public struct ComparisonReport: Codable, Sendable {
    /// Bumped when a field changes meaning or disappears.
    public var schemaVersion = 1
    public var tool = "pepita-edge"
    public var runs: [RunReport]

    public init(runs: [RunReport]) { self.runs = runs }
}
