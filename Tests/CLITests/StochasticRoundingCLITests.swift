import Foundation
import TestSupport
import XCTest

/// The cost model's count of stochastic narrowings (the random bits stochastic
/// rounding draws) equals what the fixed-point engine narrows: one epoch of
/// `train` on the embedded digits (1,437 samples = 22 batches of 64 + 1 of 29)
/// against `cost` for a batch of 64 and one of 29, role by role.
final class StochasticRoundingCLITests: XCTestCase {
    /// int8 with every role rounded stochastically.
    static let everyRoleStochastic = """
        { "name": "int8-every-role-stochastic", "base": "int8",
          "roles": { "weights": { "bits": 8, "fractionalBits": 7, "rounding": "stochastic" },
                     "activations": { "bits": 8, "scaling": "dynamic", "rounding": "stochastic" },
                     "errors": { "bits": 8, "scaling": "dynamic", "rounding": "stochastic" },
                     "projection": { "bits": 8, "scaling": "dynamic", "rounding": "stochastic" },
                     "modulatedInput": { "bits": 8, "fractionalBits": 6, "rounding": "stochastic" },
                     "updates": { "bits": 8, "scaling": "dynamic", "rounding": "stochastic" },
                     "optimiserState": { "bits": 8, "fractionalBits": 10, "rounding": "stochastic" } } }
        """

    private func object(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// Narrowings per role of one step, from `cost --format json`.
    private func costNarrowings(model: String, rule: String, batch: Int, config: String) throws -> [String: Int] {
        let result = try PepitaEdgeCommand.run(["cost", "--model", model, "--rule", rule, "--precision", config,
                                                "--batch", String(batch), "--format", "json",
                                                "--profile", CostCLITests.profilePath("horowitz-45nm")])
        XCTAssertEqual(result.status, 0, result.standardError)
        let report = try XCTUnwrap((try object(result.standardOutput)["reports"] as? [[String: Any]])?.first)
        var byRole: [String: Int] = [:]
        for entry in try XCTUnwrap(report["stochasticRounding"] as? [[String: Any]]) {
            byRole[try XCTUnwrap(entry["role"] as? String), default: 0] += try XCTUnwrap(entry["narrowings"] as? Int)
        }
        return byRole
    }

    func testTheModelCountsTheNarrowingsTheEngineMakes() throws {
        let directory = try TempDirectory()
        let config = directory.path + "/every-role-stochastic.json"
        try Self.everyRoleStochastic.write(toFile: config, atomically: true, encoding: .utf8)
        // model, weights (narrowed once more when the run starts), F / feedback narrowed once per run.
        let models = [("fc:64-16-12-10", 64 * 16 + 16 * 12 + 12 * 10), ("Net1conv1fcXL", 32 * 25 + 128 * 10)]
        for (model, weights) in models {
            for rule in ["pepita", "bp"] {
                let run = directory.path + "/\(rule)-\(model)"
                let trained = try PepitaEdgeCommand.run(["train", "--model", model, "--rule", rule, "--precision", config,
                                                         "--epochs", "1", "--batch", "64", "--run-dir", run])
                XCTAssertEqual(trained.status, 0, trained.standardError)
                let metrics = try object(try String(contentsOfFile: run + "/metrics.json", encoding: .utf8))
                let epoch = try XCTUnwrap((metrics["epochs"] as? [[String: Any]])?.first)
                let engine = try XCTUnwrap(epoch["quantization"] as? [String: [String: Any]]).mapValues { $0["elements"] as? Int ?? -1 }

                let full = try costNarrowings(model: model, rule: rule, batch: 64, config: config)
                let last = try costNarrowings(model: model, rule: rule, batch: 29, config: config)
                var expected: [String: Int] = [:]
                for role in Set(full.keys).union(last.keys) { expected[role] = 22 * (full[role] ?? 0) + (last[role] ?? 0) }
                expected["weights", default: 0] += weights
                if rule == "pepita" { expected["projection"] = 10 * 64 }
                let engineCounted = engine.filter { $0.value > 0 }
                XCTAssertEqual(engineCounted, expected, "\(model) \(rule)")
            }
        }
    }
}
