import Foundation
import HWModel
import PepitaEngine
import Quantized

/// What `compare --profile` adds to a row: the cost of one training step of
/// that row's model, rule, precision, batch and dropout on the profile
/// (`CostModel.report`, the same figures `cost` prints), per sample, with
/// ratios to BP in the same precision and settings — priced for BP even when
/// BP was not among the compared rules, so every row has its ratio.
struct RunCost: Encodable {
    var rule: String
    var precision: String
    var profile: String
    var macsPerSample: Double
    var peakStorageBytes: Int
    var energyPicojoulesPerSample: Double
    var latencyCyclesPerSample: Double
    var macsVsBP: Double
    var peakStorageVsBP: Double
    var energyVsBP: Double
    var latencyVsBP: Double
    /// The full cost report (inputs, assumptions, every count).
    var report: CostReport

    /// Prices `config` (trained on `dataset`) on `profile`; one epoch is the dataset's training set.
    init(config: TrainingConfig, dataset: Dataset, profile: HardwareProfile) throws {
        let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
        let network = NetworkShape(architecture)
        guard let rule = TrainingRule(rawValue: config.rule.rawValue) else {
            throw UsageError("the cost model does not price rule '\(config.rule.rawValue)'")
        }
        let options = StepOptions(dropoutKeep: Double(config.dropoutKeep),
                                  pepitaLastLayerError: PepitaLastLayerError(rawValue: config.lastLayerError.rawValue))
        func price(_ rule: TrainingRule) throws -> CostReport {
            try CostModel.report(network: network, rule: rule, batch: config.batchSize, precision: config.precision,
                                 profile: profile, samplesPerEpoch: dataset.train.count, options: options)
        }
        report = try price(rule)
        let bp = rule == .bp ? report : try price(.bp)
        self.rule = rule.rawValue
        precision = config.precision.name
        self.profile = profile.name
        macsPerSample = report.perSample.macs
        peakStorageBytes = report.storage.peakBytes
        energyPicojoulesPerSample = report.perSample.energyPicojoules
        latencyCyclesPerSample = report.perSample.latencyCycles
        macsVsBP = report.perSample.macs / bp.perSample.macs
        peakStorageVsBP = Double(report.storage.peakBytes) / Double(bp.storage.peakBytes)
        energyVsBP = report.perSample.energyPicojoules / bp.perSample.energyPicojoules
        latencyVsBP = report.perSample.latencyCycles / bp.perSample.latencyCycles
    }

    /// Column titles; `raw` (CSV) gives units in the title and plain numbers in the cells.
    static func header(raw: Bool, energyUnit: EnergyUnit) -> [String] {
        raw ? ["macs_per_sample", "peak_storage_bytes", "energy_pj_per_sample", "latency_cycles_per_sample",
               "macs_vs_bp", "peak_storage_vs_bp", "energy_vs_bp", "latency_vs_bp"]
            : ["MACs/sample", "peak storage (B)", "energy/sample (\(energyUnit.name))", "latency/sample (cycles)",
               "MACs vs BP", "peak vs BP", "energy vs BP", "latency vs BP"]
    }

    func cells(raw: Bool, energyUnit: EnergyUnit) -> [String] {
        let ratios = [macsVsBP, peakStorageVsBP, energyVsBP, latencyVsBP]
        if raw {
            return [macsPerSample, Double(peakStorageBytes), energyPicojoulesPerSample, latencyCyclesPerSample].map(csvNumber)
                + ratios.map(csvNumber)
        }
        return [humanNumber(macsPerSample), humanNumber(Double(peakStorageBytes)),
                humanNumber(energyPicojoulesPerSample / energyUnit.picojoules, significant: 4),
                humanNumber(latencyCyclesPerSample, significant: 4)] + ratios.map(CostText.ratioText)
    }
}

/// `compare --format json --profile P`: the runs as without a profile, and one cost per run in the same order.
struct CostedComparisonReport: Encodable {
    var schemaVersion = 1
    var tool = "pepita-edge"
    var runs: [RunReport]
    var costs: [RunCost]
}
