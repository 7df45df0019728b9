import Foundation
import Quantized
import TestSupport
import XCTest

/// `pepita-edge --version` and `bench` from the outside: the kernel path is
/// printed, `PEPITA_KERNELS` forces it (every path this CPU has) or fails in one
/// line, and `bench --format json` reports peaks and kernels on the forced path.
/// Speed itself is never asserted here (BENCHMARKS.md holds the figures).
final class BenchCLITests: XCTestCase {
    func testVersionPrintsTheKernelPathAndTheEnvironmentForcesIt() throws {
        let plain = try PepitaEdgeCommand.run(["--version"])
        XCTAssertEqual(plain.status, 0)
        // The default is the best path, unless the suite itself runs with a path forced.
        let inherited = ProcessInfo.processInfo.environment[KernelPath.environmentVariable]
        let expected = inherited.flatMap(KernelPath.init(rawValue:)) ?? KernelPath.best
        XCTAssertTrue(plain.standardOutput.contains("(kernels: \(expected.rawValue))"), plain.standardOutput)
        for path in KernelPath.supported {
            let forced = try PepitaEdgeCommand.run(["--version"], environment: [KernelPath.environmentVariable: path.rawValue])
            XCTAssertEqual(forced.status, 0, forced.standardError)
            XCTAssertTrue(forced.standardOutput.contains("(kernels: \(path.rawValue))"), forced.standardOutput)
        }
    }

    func testAnUnknownOrUnsupportedPathIsOneLineAndExitTwo() throws {
        var refused = ["avx3", "AVX2", "sse"]
        refused += KernelPath.allCases.filter { !$0.isSupported }.map(\.rawValue)
        for value in refused {
            let result = try PepitaEdgeCommand.run(["--version"], environment: [KernelPath.environmentVariable: value])
            XCTAssertEqual(result.status, 2, value)
            XCTAssertEqual(result.standardOutput, "", value)
            let lines = result.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.standardError)
            XCTAssertTrue(result.standardError.contains("PEPITA_KERNELS"), result.standardError)
        }
    }

    func testBenchKernelsAsJSONOnTheForcedPath() throws {
        // One path (the best, forced explicitly): a bench run times 51 M
        // multiply-adds many times, too slow to repeat for every path in a test.
        for path in [KernelPath.best] {
            let result = try PepitaEdgeCommand.run(["bench", "--kernels-only", "--threads", "1", "--format", "json"],
                                                   environment: [KernelPath.environmentVariable: path.rawValue])
            XCTAssertEqual(result.status, 0, result.standardError)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            XCTAssertEqual(report["kernelPath"] as? String, path.rawValue)
            let peaks = try XCTUnwrap(report["peaks"] as? [[String: Any]])
            XCTAssertEqual(peaks.compactMap { $0["kind"] as? String }, ["float32", "int8", "int16"])
            let kernels = try XCTUnwrap(report["kernels"] as? [[String: Any]])
            XCTAssertEqual(kernels.count, 9, "3 precisions x 3 layouts x 1 thread count")
            for kernel in kernels {
                XCTAssertEqual((kernel["m"] as? Int).map { $0 * (kernel["n"] as! Int) * (kernel["k"] as! Int) }, 64 * 784 * 1024)
                XCTAssertGreaterThan(kernel["gigaMultiplyAddsPerSecond"] as? Double ?? 0, 0)
            }
            let methods = Set(kernels.compactMap { $0["method"] as? String })
            XCTAssertTrue(methods.contains(path == .scalar ? "int64" : path == .avx2 ? "vpmaddwd" : "vpdpbusd"), "\(methods)")
            XCTAssertEqual((report["epochs"] as? [Any])?.count, 0)
        }
    }

    func testBenchEpochsAsJSONOneEntryPerConfigurationWithEveryRepetition() throws {
        // Two configurations, two rounds of 128 samples (the epochs are timed
        // round-robin; what is reported is per configuration, in option order).
        let fashion = "/usr/share/datasets/fashion-mnist"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: fashion + "/train-images-idx3-ubyte.gz"),
                          "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        let result = try PepitaEdgeCommand.run(["bench", "--epochs-only", "--models", "fc", "--rules", "pepita",
                                                "--precisions", "float32,int8", "--threads", "1", "--repetitions", "2",
                                                "--train-samples", "128", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let epochs = try XCTUnwrap(report["epochs"] as? [[String: Any]])
        XCTAssertEqual(epochs.compactMap { $0["precision"] as? String }, ["float32", "int8"])
        for epoch in epochs {
            let seconds = try XCTUnwrap(epoch["seconds"] as? [Double])
            XCTAssertEqual(seconds.count, 2)
            XCTAssertTrue(seconds.allSatisfy { $0 > 0 }, "\(seconds)")
            XCTAssertEqual(epoch["medianSeconds"] as? Double ?? 0, (seconds[0] + seconds[1]) / 2, accuracy: 1e-12)
            XCTAssertEqual(epoch["trainSamples"] as? Int, 128)
            XCTAssertEqual(epoch["rule"] as? String, "pepita")
        }
    }

    func testBenchRefusesBadOptionsInOneLine() throws {
        for arguments in [["--threads", "0"], ["--models", "resnet"], ["--kernels-only", "--epochs-only"],
                          ["--repetitions", "0"], ["--precisions", "int4"]] {
            let result = try PepitaEdgeCommand.run(["bench"] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.standardError)")
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, "\(arguments): \(result.standardError)")
        }
    }
}
