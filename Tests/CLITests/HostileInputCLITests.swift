import Foundation
import TestSupport
import XCTest

/// End-to-end: damaged input files given to the command line. Each must end the
/// command with exit status 1 (not a signal) and exactly one line on stderr that
/// names the file and the problem.
final class HostileInputCLITests: XCTestCase {
    private let tiny = ["--model", "fc:4-4-10", "--epochs", "1"]

    private func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

    /// Writes a complete, valid MNIST-style folder of 2x2 images into `directory`.
    private func writeMNIST(_ directory: TempDirectory) throws {
        for split in ["train", "t10k"] {
            try directory.write(bigEndian(0x803) + bigEndian(3) + bigEndian(2) + bigEndian(2) + [UInt8](repeating: 9, count: 12),
                                to: "\(split)-images-idx3-ubyte")
            try directory.write(bigEndian(0x801) + bigEndian(3) + [0, 1, 2], to: "\(split)-labels-idx1-ubyte")
        }
    }

    private func assertOneLineError(_ arguments: [String], naming file: String, problem: String, status: Int32 = 1,
                                    line: UInt = #line) throws {
        let result = try PepitaEdgeCommand.run(arguments)
        XCTAssertFalse(result.terminatedBySignal, "killed by signal \(result.status)", line: line)
        XCTAssertEqual(result.status, status, result.standardError, line: line)
        let lines = result.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.standardError, line: line)
        XCTAssertTrue(result.standardError.hasPrefix("pepita-edge: "), result.standardError, line: line)
        XCTAssertTrue(result.standardError.contains(file), "\(file) not named: \(result.standardError)", line: line)
        XCTAssertTrue(result.standardError.contains(problem), "'\(problem)' not in: \(result.standardError)", line: line)
    }

    func testAValidMNISTFolderTrains() throws {
        let directory = try TempDirectory()
        try writeMNIST(directory)
        let result = try PepitaEdgeCommand.run(["train", "--dataset", "mnist", "--data-dir", directory.path] + tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
    }

    func testDamagedIDXFilesStopTheRunWithOneLine() throws {
        let directory = try TempDirectory()
        try writeMNIST(directory)
        let images = directory.path("train-images-idx3-ubyte")
        try directory.write(bigEndian(0x803) + bigEndian(3000) + bigEndian(2) + bigEndian(2) + [1, 2, 3], to: "train-images-idx3-ubyte")
        try assertOneLineError(["train", "--dataset", "mnist", "--data-dir", directory.path] + tiny,
                               naming: images, problem: "truncated: expected 12016 bytes, found 19")
        try writeMNIST(directory)
        try directory.write(bigEndian(0x801) + bigEndian(3) + [0, 1, 200], to: "t10k-labels-idx1-ubyte")
        try assertOneLineError(["train", "--dataset", "mnist", "--data-dir", directory.path] + tiny,
                               naming: directory.path("t10k-labels-idx1-ubyte"), problem: "label 200 of sample 2 is outside 0..<10")
    }

    func testATruncatedGzipStopsTheRunWithOneLine() throws {
        let directory = try TempDirectory()
        try writeMNIST(directory)
        let labels = try directory.read("train-labels-idx1-ubyte") + [UInt8](repeating: 0, count: 0)
        try FileManager.default.removeItem(atPath: directory.path("train-labels-idx1-ubyte"))
        let gzipped = try directory.writeGzipped(labels, to: "train-labels-idx1-ubyte.gz")
        let bytes = try directory.read("train-labels-idx1-ubyte.gz")
        try directory.write(Array(bytes.prefix(bytes.count - 10)), to: "train-labels-idx1-ubyte.gz")
        try assertOneLineError(["train", "--dataset", "mnist", "--data-dir", directory.path] + tiny,
                               naming: gzipped, problem: "corrupt gzip data")
    }

    func testAPartialCIFARRecordStopsTheRunWithOneLine() throws {
        let directory = try TempDirectory()
        let record = [UInt8](repeating: 3, count: 3073)
        for name in (1 ... 5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] { try directory.write(record, to: name) }
        try directory.write(record + [1, 2], to: "data_batch_3.bin")
        try assertOneLineError(["train", "--dataset", "cifar10", "--data-dir", directory.path, "--model", "fc:3072-4-10", "--epochs", "1"],
                               naming: directory.path("data_batch_3.bin"), problem: "2 bytes left over")
    }

    func testNonFiniteInitialWeightsAreRefused() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--model", "fc:64-4-10", "--epochs", "1", "--run-dir", run]).status, 0)
        var weights = try directory.read("run/weights/W1.npy")
        weights.replaceSubrange(weights.count - 4 ..< weights.count, with: [0, 0, 0xc0, 0x7f])  // a NaN
        try directory.write(weights, to: "run/weights/W1.npy")
        try assertOneLineError(["train", "--model", "fc:64-4-10", "--epochs", "1", "--init", run + "/weights"],
                               naming: run + "/weights/W1.npy", problem: "value 39 is not finite (nan)")
    }

    func testBadPrecisionConfigsAndProfilesAreNamedByKey() throws {
        let directory = try TempDirectory()
        let config = try directory.write(Array(#"{"base": "int8", "accumulatorBitz": 24}"#.utf8), to: "bad.json")
        try assertOneLineError(["train", "--precision", config] + tiny, naming: config, problem: "accumulatorBitz: unknown key", status: 1)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let profile = try String(contentsOfFile: root + "/profiles/cortex-m4.json", encoding: .utf8)
        let broken = try directory.write(Array(profile.replacingOccurrences(of: "\"schemaVersion\": 1", with: "\"schemaVersion\": 7").utf8),
                                         to: "broken-profile.json")
        try assertOneLineError(["cost", "--model", "fc:64-16-10", "--dataset", "digits", "--profile", broken],
                               naming: "broken-profile.json", problem: "schemaVersion: must be 1, got 7")
    }

    func testADamagedCheckpointOrConfigStopsResumeAndEvalWithOneLine() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--model", "fc:64-4-10", "--epochs", "1", "--run-dir", run]).status, 0)
        let state = run + "/checkpoint/state.json"
        let text = try String(contentsOfFile: state, encoding: .utf8)
        try text.replacingOccurrences(of: "\"epochsCompleted\" : 1", with: "\"epochsCompleted\" : 7")
            .write(toFile: state, atomically: false, encoding: .utf8)
        try assertOneLineError(["train", "--resume", run], naming: state, problem: "field epochsCompleted: must be 0...1, got 7")
        let config = run + "/config.json"
        let configText = try String(contentsOfFile: config, encoding: .utf8)
        try configText.replacingOccurrences(of: "\"seed\"", with: "\"sede\"").write(toFile: config, atomically: false, encoding: .utf8)
        try assertOneLineError(["eval", "--run-dir", run], naming: config, problem: "field seed: missing")
    }

    func testAModelTooLargeToAllocateIsRefusedBeforeAllocating() throws {
        for model in ["fc:64-4000000000-10", "fc:64-4000000000000-4000000000000-10"] {
            try assertOneLineError(["train", "--model", model, "--epochs", "1"], naming: model,
                                   problem: "has more than 268435456 weights; refusing to allocate it")
        }
    }
}
