import Foundation
import PepitaEngine

/// The test-accuracy curve of a saved run (`train --run-dir` or one run of
/// `compare --run-dir`), read from its `metrics.json`, for the cost report's
/// accuracy chart.
struct RunCurve {
    var path: String
    var summary: RunSummary
    /// Test accuracy (0...1) after each epoch, from epoch 1.
    var testAccuracy: [(epoch: Int, accuracy: Double)]

    /// `pepita int8`, with the model and dataset when `differ` (runs of different models or data in one chart).
    func label(showingModelAndData differ: Bool) -> String {
        let base = "\(summary.rule.rawValue) \(summary.precision)"
        return differ ? "\(base) (\(summary.model), \(summary.dataset))" : base
    }

    /// Each path is a run directory (it holds `metrics.json`) or a folder of
    /// them (`compare --run-dir`: every subdirectory holding one, sorted by name).
    static func load(_ paths: [String]) throws -> [RunCurve] {
        try paths.flatMap { path -> [RunCurve] in
            if FileManager.default.fileExists(atPath: path + "/metrics.json") { return [try read(path)] }
            let children = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
                .map { path + "/" + $0 }
                .filter { FileManager.default.fileExists(atPath: $0 + "/metrics.json") }
            if children.isEmpty {
                throw FileError(path: path, reason: "no metrics.json here or in its subdirectories (give a run directory of train or compare --run-dir)")
            }
            return try children.map(read)
        }
    }

    /// `metrics.json` as `RunDirectory.write(history:summary:)` writes it.
    private struct MetricsFile: Codable {
        var epochs: [EpochMetrics]
        var summary: RunSummary
    }

    /// Reads `metrics.json` the way it is written (`ReportJSON`: a diverged run's
    /// NaN losses are the string "nan"), through `StrictJSON` and its size limit.
    private static func read(_ directory: String) throws -> RunCurve {
        let file = directory + "/metrics.json"
        let data = try StrictJSON.readFile(file, maxBytes: StrictJSON.maxBytes)
        let metrics: MetricsFile
        do {
            metrics = try StrictJSON.decode(MetricsFile.self, from: data, file: file)
        } catch let error as FileError {
            throw FileError(path: file, reason: "not a metrics file of pepita-edge (\(error.reason))")
        }
        return RunCurve(path: directory, summary: metrics.summary,
                        testAccuracy: metrics.epochs.map { ($0.epoch, $0.testAccuracy) })
    }
}
