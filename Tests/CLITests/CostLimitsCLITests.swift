import Foundation
import TestSupport
import XCTest

/// `cost`, `profiles validate` and `network show` on inputs too large to count
/// or that `--check` cannot run: a non-zero exit, no signal, one stderr line
/// naming the problem (before the limits, each of these trapped or tried to
/// allocate tens of gigabytes).
final class CostLimitsCLITests: XCTestCase {
    private func assertRefused(_ arguments: [String], naming problem: String, status: Int32 = 2, line: UInt = #line) throws {
        let result = try PepitaEdgeCommand.run(arguments)
        XCTAssertFalse(result.terminatedBySignal, "killed by signal \(result.status): \(arguments)", line: line)
        XCTAssertEqual(result.status, status, result.standardError, line: line)
        XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError, line: line)
        XCTAssertTrue(result.standardError.contains(problem), "'\(problem)' not in: \(result.standardError)", line: line)
    }

    func testAProfileWithAHugeMemoryIsRefusedByValidateAndByCost() throws {
        let directory = try TempDirectory()
        let shipped = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../profiles/cortex-m4.json"))
        var tree = try XCTUnwrap(try JSONSerialization.jsonObject(with: shipped) as? [String: Any])
        var memories = try XCTUnwrap(tree["memories"] as? [[String: Any]])
        memories[0]["sizeBytes"] = ["value": 1e19, "source": "typo"]
        tree["memories"] = memories
        let path = directory.path("huge.json")
        try JSONSerialization.data(withJSONObject: tree).write(to: URL(fileURLWithPath: path))

        let validate = try PepitaEdgeCommand.run(["profiles", "validate", path])
        XCTAssertFalse(validate.terminatedBySignal)
        XCTAssertEqual(validate.status, 1, validate.standardOutput + validate.standardError)
        XCTAssertTrue(validate.standardOutput.contains("huge.json: memories[0].sizeBytes: must be at most"), validate.standardOutput)
        try assertRefused(["cost", "--profile", path], naming: "huge.json: memories[0].sizeBytes: must be at most", status: 1)
    }

    func testEngineModelSizesBeyondCountingAreRefused() throws {
        try assertRefused(["cost", "--batch", "100000000"], naming: "--batch must be at most 65536, got 100000000")
        try assertRefused(["cost", "--samples", "9000000000000000000"], naming: "--samples must be at most 2^40")
        try assertRefused(["cost", "--input", "1x3037000500x3037000500", "--classes", "10"],
                          naming: "--input '1x3037000500x3037000500' is too large: more than 2^40 values per sample")
        // Within the per-flag limits, but the fc model's MACs per sample exceed 2^40.
        try assertRefused(["cost", "--input", "1x1048576x1048576", "--classes", "10"],
                          naming: "layers: the network is too large to price", status: 1)
        // Within every per-step limit, but the epoch's operations exceed 2^63.
        try assertRefused(["cost", "--model", "fc:1048576-524288-10", "--input", "1048576", "--classes", "10",
                           "--samples", "1000000000000"], naming: "samplesPerEpoch: 1000000000000 samples give an epoch too large to count", status: 1)
    }

    func testCheckRefusesRulesItCannotRunFlagsItIgnoresAndHugeSteps() throws {
        for rule in ["pepita-ms", "ff"] {
            try assertRefused(["cost", "--check", "--model", "fc:64-32-10", "--rule", rule],
                              naming: "--check runs the engine's rules (pepita, pepita-sign, bp, fa, dfa), not \(rule)")
        }
        for flag in [["--per-layer"], ["--profile", "cortex-m4"], ["--samples", "100"]] {
            try assertRefused(["cost", "--check", "--model", "fc:64-32-10"] + flag,
                              naming: "--check runs one engine step and prices nothing; \(flag[0]) does not apply to it")
        }
        try assertRefused(["cost", "--check", "--model", "fc:64-32-10", "--batch", "100000000"],
                          naming: "--check runs a real training step in memory: --batch must be at most 4096, got 100000000")
        try assertRefused(["cost", "--check", "--input", "1x1024x1024", "--classes", "10"],
                          naming: "more than the 2^28 (1 GiB) limit")
    }

    func testNetworkShowRefusesASamePaddingKernelTooLargeToCount() throws {
        let directory = try TempDirectory()
        let path = directory.path("kernel.json")
        try Data("""
            { "name": "k", "input": { "channels": 1, "height": 4, "width": 4 }, "classes": 2,
              "layers": [ { "type": "conv2d", "filters": 2, "kernel": [100000000000, 100000000000], "padding": "same" },
                          { "type": "flatten" }, { "type": "dense", "units": 2 } ] }
            """.utf8).write(to: URL(fileURLWithPath: path))
        try assertRefused(["network", "show", path], naming: "layers[0].kernel: 100000000000 is too large to price", status: 1)
    }
}
