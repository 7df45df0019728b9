import Foundation
@testable import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// Every reader of PepitaEngine fed damaged and malicious files, one kind per
/// case: each must throw (never trap, never allocate what the header claims)
/// with one line naming the file and the problem. The table in BENCHMARKS.md
/// ("Reliability (issue 6)") lists these cases.
final class HostileInputTests: XCTestCase {
    private var directory: TempDirectory!

    override func setUpWithError() throws {
        directory = try TempDirectory()
    }

    /// `body` throws an error whose description is one line holding `file`'s
    /// name and `problem`.
    private func assertRejected(_ kind: String, file: String, problem: String, _ body: () throws -> Void,
                                line: UInt = #line) {
        do {
            try body()
            XCTFail("\(kind): accepted", line: line)
        } catch {
            let message = String(describing: error)
            XCTAssertFalse(message.contains("\n"), "\(kind): more than one line: \(message)", line: line)
            XCTAssertTrue(message.contains((file as NSString).lastPathComponent), "\(kind): file not named: \(message)", line: line)
            XCTAssertTrue(message.contains(problem), "\(kind): expected '\(problem)' in: \(message)", line: line)
        }
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] { IDXFixture.bigEndian(value) }

    /// A `.npy` file: preamble (version `major`.0), the header text, then `data`.
    private static func npy(_ header: String, data: [UInt8] = [], major: UInt8 = 1) -> [UInt8] {
        let text = Array(header.utf8)
        let length = major == 1 ? [UInt8(text.count & 0xff), UInt8(text.count >> 8)]
            : [UInt8(text.count & 0xff), UInt8((text.count >> 8) & 0xff), UInt8((text.count >> 16) & 0xff), UInt8(text.count >> 24)]
        return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + text + data
    }

    private static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    // MARK: IDX

    func testIDXHeadersThatLieAboutTheirPayloadAreRejected() throws {
        let pixels = [UInt8](repeating: 7, count: 8)
        let cases: [(kind: String, bytes: [UInt8], problem: String)] = [
            ("wrong magic (labels magic on images)", IDXFixture.images(count: 2, rows: 2, columns: 2, pixels: pixels, magic: IDXReader.labelsMagic), "wrong magic number 0x00000801"),
            ("header cut short", Array(IDXFixture.images(count: 2, rows: 2, columns: 2, pixels: []).prefix(10)), "truncated: expected 16 bytes, found 10"),
            ("header claims more images than present", IDXFixture.images(count: 1000, rows: 2, columns: 2, pixels: pixels), "truncated: expected 4016 bytes, found 24"),
            ("bytes after the payload", IDXFixture.images(count: 2, rows: 2, columns: 2, pixels: pixels + [1]), "1 unexpected bytes"),
            ("zero images", IDXFixture.images(count: 0, rows: 2, columns: 2, pixels: []), "holds no images"),
            ("zero dimension", IDXFixture.images(count: 2, rows: 0, columns: 2, pixels: []), "has a zero dimension"),
            ("dimension product overflows", Self.bigEndian(IDXReader.imagesMagic) + Self.bigEndian(.max) + Self.bigEndian(.max) + Self.bigEndian(.max), "overflow the addressable size"),
            ("image beyond the sane size limit", IDXFixture.images(count: 1, rows: 65536, columns: 65536, pixels: pixels), "exceeds the 16777216-pixel limit"),
            ("empty file", [], "truncated: expected 16 bytes, found 0"),
        ]
        for (kind, bytes, problem) in cases {
            let file = try directory.write(bytes, to: "train-images-idx3-ubyte")
            assertRejected(kind, file: file, problem: problem) {
                _ = try IDXReader.samples(imagesFile: file, labelsFile: try directory.write(IDXFixture.labels([1, 2]), to: "labels"))
            }
        }
    }

    func testIDXLabelsOutOfRangeOrDisagreeingWithTheImagesAreRejected() throws {
        let images = try directory.write(IDXFixture.images(count: 2, rows: 2, columns: 2, pixels: [UInt8](repeating: 0, count: 8)), to: "images")
        let outOfRange = try directory.write(IDXFixture.labels([3, 10]), to: "labels-out-of-range")
        assertRejected("label out of range", file: outOfRange, problem: "label 10 of sample 1 is outside 0..<10") {
            _ = try IDXReader.samples(imagesFile: images, labelsFile: outOfRange)
        }
        let three = try directory.write(IDXFixture.labels([1, 2, 3]), to: "labels-three")
        assertRejected("image and label counts differ", file: three, problem: "holds 2 images but") {
            _ = try IDXReader.samples(imagesFile: images, labelsFile: three)
        }
    }

    func testMissingFilesAndDirectoriesAreNamed() throws {
        assertRejected("missing file", file: directory.path("absent"), problem: "no such file") {
            _ = try Gzip.contentsOfFile(atPath: directory.path("absent"))
        }
        assertRejected("a directory instead of a file", file: directory.path, problem: "is a directory") {
            _ = try Gzip.contentsOfFile(atPath: directory.path)
        }
    }

    // MARK: gzip

    func testDamagedGzipStreamsAreRejected() throws {
        let content = IDXFixture.labels([UInt8](repeating: 4, count: 5000))
        try directory.writeGzipped(content, to: "good.gz")
        let good = try directory.read("good.gz")
        var badCRC = good
        badCRC[badCRC.count - 6] ^= 0xff
        let cases: [(kind: String, bytes: [UInt8], problem: String)] = [
            ("truncated gzip", Array(good.prefix(good.count / 2)), "ends early"),
            ("gzip with a wrong CRC", badCRC, "corrupt gzip data"),
            ("garbage after the gzip member", good + [1, 2, 3], "3 bytes of non-gzip data"),
            ("gzip header only", Array(good.prefix(10)), "ends early"),
        ]
        for (kind, bytes, problem) in cases {
            let file = try directory.write(bytes, to: "labels.gz")
            assertRejected(kind, file: file, problem: problem) { _ = try Gzip.contentsOfFile(atPath: file) }
        }
    }

    func testGzipBombStopsAtTheCapInsteadOfExhaustingMemory() throws {
        let file = try directory.writeGzipped([UInt8](repeating: 0, count: 8 << 20), to: "bomb.gz")
        XCTAssertLessThan(try directory.read("bomb.gz").count, 64 << 10, "8 MiB of zeros compresses to a few KiB")
        assertRejected("gzip bomb", file: file, problem: "larger than the 1048576-byte limit") {
            _ = try Gzip.contentsOfFile(atPath: file, maxBytes: 1 << 20)
        }
    }

    // MARK: CIFAR

    func testDamagedCIFARBatchesAreRejected() throws {
        let record10 = [UInt8](repeating: 1, count: 3073)
        var label10 = record10
        label10[0] = 10
        var label100 = [UInt8](repeating: 1, count: 3074)
        label100[1] = 100
        let cases: [(kind: String, bytes: [UInt8], variant: CIFARReader.Variant, problem: String)] = [
            ("CIFAR partial record", record10 + [1, 2, 3], .cifar10, "3 bytes left over"),
            ("CIFAR empty file", [], .cifar10, "truncated"),
            ("CIFAR-10 label out of range", record10 + label10, .cifar10, "label 10 of sample 1 is outside 0..<10"),
            ("CIFAR-100 fine label out of range", label100, .cifar100, "label 100 of sample 0 is outside 0..<100"),
        ]
        for (kind, bytes, variant, problem) in cases {
            let file = try directory.write(bytes, to: "data_batch_1.bin")
            assertRejected(kind, file: file, problem: problem) { _ = try CIFARReader.samples(files: [file], variant: variant) }
        }
    }

    // MARK: .npy

    func testDamagedNPYFilesAreRejected() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        let nested = "{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 20_000) + "}"
        var wrongVersion = Self.npy(header)
        wrongVersion[6] = 9
        var hugeHeader = Self.npy(header, major: 2)
        hugeHeader[8 ..< 12] = [0, 0, 0x10, 0]  // claims a 1 MiB header
        let cases: [(kind: String, bytes: [UInt8], problem: String)] = [
            ("npy wrong magic", Array("PK\u{3}\u{4}not numpy".utf8), "missing the \\x93NUMPY magic"),
            ("npy unsupported version", wrongVersion, "version 9.0 is not supported"),
            ("npy header runs past the end", Array(Self.npy(header).prefix(30)), "runs past the end"),
            ("npy header longer than the limit", hugeHeader, "exceeds the 65536-byte limit"),
            ("npy header not a Python dict", Self.npy("{'descr': '<f4', 'shape': (2, 3) 'x'}"), "expected ',' or '}'"),
            ("npy header nested 20000 deep", Self.npy(nested), "nesting deeper than 8 levels"),
            ("npy missing shape", Self.npy("{'descr': '<f4', 'fortran_order': False}"), "no 'shape' tuple"),
            ("npy complex dtype", Self.npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8)), "dtype '<c8' is not supported"),
            ("npy big-endian dtype", Self.npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), "big-endian"),
            ("npy Fortran order", Self.npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data: Self.floats([1, 2, 3, 4, 5, 6])), "Fortran"),
            ("npy negative dimension", Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }"), "not a dimension"),
            ("npy shape product overflows", Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), "overflows"),
            ("npy dimension beyond Int", Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"), "out of range"),
            ("npy data shorter than the shape", Self.npy(header, data: Self.floats([1, 2])), "needs 24 data bytes but the file has 8"),
        ]
        for (kind, bytes, problem) in cases {
            let file = try directory.write(bytes, to: "W0.npy")
            assertRejected(kind, file: file, problem: problem) { _ = try NPYArray(contentsOfFile: file) }
        }
        let file = try directory.write(Self.npy(header, data: Self.floats([1, 2, 3, 4, 5, 6])), to: "big.npy")
        assertRejected("npy file over the size limit", file: file, problem: "larger than the 64-byte limit") {
            _ = try NPYArray(contentsOfFile: file, maxBytes: 64)
        }
    }

    // MARK: Weights in a run directory, --init folder or checkpoint

    func testWeightFilesWithNonFiniteValuesOrTheWrongShapeAreRejected() throws {
        for (kind, values, problem) in [("NaN in weights", [1, .nan, 3, 4] as [Float], "value 1 is not finite (nan)"),
                                        ("infinity in weights", [1, 2, -.infinity, 4], "value 2 is not finite (-inf)")] {
            let file = directory.path("W0.npy")
            try NPY.write(values, shape: [2, 2], to: file)
            assertRejected(kind, file: file, problem: problem) { _ = try RunDirectory.readArray(file, expectedShape: [2, 2]) }
        }
        let file = directory.path("W1.npy")
        try NPY.write([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3], to: file)
        assertRejected("weights of the wrong shape", file: file, problem: "shape [2, 3] does not match the model's [3, 2]") {
            _ = try RunDirectory.readArray(file, expectedShape: [3, 2])
        }
    }

    func testIntegerCodesNeedAValidSidecarThatHoldsEveryCode() throws {
        let file = directory.path("W0.npy")
        try NPY.write([1, -2, 300, 4] as [Int16], shape: [2, 2], to: file)
        let sidecar = directory.path("W0.json")
        let valid = #"{"role": "weights", "format": "Q1.14", "totalBits": 16, "fractionalBits": 14, "signed": true, "meaning": "value = code * 2^-fractionalBits"}"#
        let cases: [(kind: String, json: String, problem: String)] = [
            ("sidecar with an impossible format", valid.replacingOccurrences(of: "\"fractionalBits\": 14", with: "\"fractionalBits\": 99"), "invalid format"),
            ("sidecar with an unknown key", valid.replacingOccurrences(of: "\"signed\"", with: "\"scale\": 3, \"signed\""), "field scale: unknown key"),
            ("sidecar with a missing key", valid.replacingOccurrences(of: "\"fractionalBits\": 14, ", with: ""), "field fractionalBits: missing"),
            ("sidecar not JSON", "{role: weights", "not valid JSON"),
            ("codes outside the sidecar's format", valid.replacingOccurrences(of: "\"totalBits\": 16", with: "\"totalBits\": 8"), "value 2 (300.0) is not a code of"),
        ]
        for (kind, json, problem) in cases {
            try json.write(toFile: sidecar, atomically: false, encoding: .utf8)
            let named = problem.hasPrefix("value") ? file : sidecar
            assertRejected(kind, file: named, problem: problem) { _ = try RunDirectory.readArray(file, expectedShape: [2, 2]) }
        }
    }

    // MARK: config.json and checkpoint/state.json

    private func config(precision: String = "float32") -> TrainingConfig {
        TrainingConfig(model: "fc:8-6-3", rule: .pepita, dataset: "separable", epochs: 2, batchSize: 20, learningRate: 0.01,
                       decayEpochs: [], lastLayerError: .modulated, seed: 4, threads: 1,
                       precision: try! PrecisionConfig.load(precision))
    }

    func testDamagedRunConfigsAreNamedByField() throws {
        let run = RunDirectory(path: directory.path("run"))
        try run.create(overwrite: false)
        let good = try ReportJSON.text(config(precision: "int8"))
        let cases: [(kind: String, text: String, problem: String)] = [
            ("config.json not JSON", "{\"model\": ", "not valid JSON"),
            ("config.json with a misspelt key", good.replacingOccurrences(of: "\"learningRate\"", with: "\"learningrate\""), "field learningRate: missing"),
            ("config.json with an unknown key", good.replacingOccurrences(of: "\"model\"", with: "\"colour\" : \"red\", \"model\""), "field colour: unknown key"),
            ("config.json with a wrong type", good.replacingOccurrences(of: "\"epochs\" : 2", with: "\"epochs\" : \"two\""), "field epochs: expected Int"),
            ("config.json with an impossible batch", good.replacingOccurrences(of: "\"batchSize\" : 20", with: "\"batchSize\" : 0"), "--batch must be in 1...16777216, got 0"),
            ("config.json with a broken precision", good.replacingOccurrences(of: "\"bits\" : 8", with: "\"bits\" : 40"), "field precision.roles."),
        ]
        for (kind, text, problem) in cases {
            XCTAssertNotEqual(text, good, kind)
            try text.write(toFile: run.configPath, atomically: false, encoding: .utf8)
            assertRejected(kind, file: run.configPath, problem: problem) { _ = try run.readConfig() }
        }
        try AtomicFile.write(good, to: run.configPath)
        XCTAssertEqual(try run.readConfig(), config(precision: "int8"))
    }

    func testCheckpointsThatDoNotFitTheRunAreRejected() throws {
        let dataset = SyntheticData.separable(features: 8, trainCount: 100, testCount: 30)
        let run = RunDirectory(path: directory.path("run"))
        try run.create(overwrite: false)
        let trainer = try Trainer(config: config(precision: "int8"), dataset: dataset)
        _ = try trainer.step()
        try run.writeCheckpoint(trainer)
        let statePath = run.checkpointPath + "/state.json"
        let good = try String(contentsOfFile: statePath, encoding: .utf8)
        let cases: [(kind: String, text: String, problem: String)] = [
            ("state.json step past the epoch", good.replacingOccurrences(of: "\"stepsCompletedInEpoch\" : 1", with: "\"stepsCompletedInEpoch\" : 9"), "field stepsCompletedInEpoch: must be 0..<5"),
            ("state.json of another model", good.replacingOccurrences(of: "fc:8-6-3", with: "fc:8-7-3"), "field model"),
            ("state.json without the stochastic-rounding position", good.replacingOccurrences(of: "\"narrowings\"", with: "\"narrowingz\""), "field narrowingz: unknown key"),
            ("state.json missing the stochastic-rounding position", good.replacingOccurrences(of: #""narrowings" : \d+,"#, with: "", options: .regularExpression), "field narrowings: missing"),
            ("state.json of an older format", good.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 1"), "field version: must be 2"),
            ("state.json truncated", String(good.prefix(good.count / 2)), "not valid JSON"),
        ]
        for (kind, text, problem) in cases {
            XCTAssertNotEqual(text, good, kind)
            try text.write(toFile: statePath, atomically: false, encoding: .utf8)
            assertRejected(kind, file: statePath, problem: problem) {
                try run.resume(Trainer(config: config(precision: "int8"), dataset: dataset))
            }
        }
        try AtomicFile.write(good, to: statePath)
        try FileManager.default.removeItem(atPath: run.checkpointPath + "/V1.npy")
        assertRejected("checkpoint missing a velocity file", file: run.checkpointPath + "/V1.npy", problem: "missing") {
            try run.resume(Trainer(config: config(precision: "int8"), dataset: dataset))
        }
        let otherData = SyntheticData.separable(features: 8, trainCount: 100, testCount: 30, seed: 52)
        assertRejected("checkpoint resumed on other training data", file: statePath, problem: "field trainingDataFingerprint: ") {
            try run.resume(Trainer(config: config(precision: "int8"), dataset: otherData))
        }
        var otherSeed = config(precision: "int8")
        otherSeed.seed = 5
        assertRejected("checkpoint of a run with another F", file: run.checkpointPath + "/F.npy", problem: "differs from the run's F") {
            try run.resume(Trainer(config: otherSeed, dataset: dataset))
        }
    }
}
