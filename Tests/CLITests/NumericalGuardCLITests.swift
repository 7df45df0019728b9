import Foundation
import TestSupport
import XCTest

/// End-to-end: numbers that go wrong are said, never silent. Float training that
/// diverges stops (exit 3) naming epoch, step and layer; integer sums that leave
/// the accumulator's range are announced on stderr and counted in metrics.json.
final class NumericalGuardCLITests: XCTestCase {
    private let tiny = ["--model", "fc:64-16-10", "--batch", "32", "--epochs", "3", "--seed", "3", "--threads", "2"]

    func testDivergenceStopsWithExit3NamingEpochStepAndLayerAndKeepsTheLastGoodCheckpoint() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        let result = try PepitaEdgeCommand.run(["train", "--run-dir", run, "--lr", "1e30", "--rule", "bp", "--checkpoint-every-steps", "1"] + tiny)
        XCTAssertEqual(result.status, 3, result.standardError)
        let last = String(try XCTUnwrap(result.standardError.split(separator: "\n").last))
        XCTAssertTrue(last.hasPrefix("pepita-edge: training diverged: weights of layer "), last)
        XCTAssertTrue(last.contains("at epoch 1, step "), last)
        for name in ["W0.npy", "W1.npy"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint/" + name))
            let dataStart = 10 + Int(data[8]) + Int(data[9]) << 8
            let values = stride(from: dataStart, to: data.count, by: 4).map { offset in
                Float(bitPattern: data[offset ..< offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            XCTAssertFalse(values.isEmpty)
            XCTAssertTrue(values.allSatisfy(\.isFinite), "checkpoint \(name) holds the step before divergence")
        }
    }

    func testAccumulatorOverflowIsAnnouncedOnStderrAndCountedInMetrics() throws {
        let directory = try TempDirectory()
        for policy in ["wrap", "saturate"] {
            let config = try directory.write(Array(#"{"base": "int16", "accumulatorBits": 16, "accumulatorOverflow": "\#(policy)"}"#.utf8),
                                             to: "acc16-\(policy).json")
            let run = directory.path("run-\(policy)")
            let result = try PepitaEdgeCommand.run(["train", "--model", "fc:64-16-10", "--epochs", "1", "--precision", config,
                                                    "--run-dir", run])
            XCTAssertEqual(result.status, 0, result.standardError)
            let warning = try XCTUnwrap(result.standardError.split(separator: "\n").first { $0.hasPrefix("warning: epoch 1: ") },
                                        result.standardError)
            XCTAssertTrue(warning.contains("sums overflowed the 16-bit accumulator and were \(policy == "wrap" ? "wrapped" : "saturated")"),
                          String(warning))
            let metrics = try String(contentsOfFile: run + "/metrics.json", encoding: .utf8)
            XCTAssertNotNil(metrics.range(of: #""accumulatorOverflows" : [1-9]"#, options: .regularExpression), "overflows counted in metrics.json")
        }
    }
}
