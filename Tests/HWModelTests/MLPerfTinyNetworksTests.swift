import Foundation
import HWModel
import XCTest

/// The four MLPerf Tiny reference networks in `networks/`: each loads, and its
/// forward MACs and parameter counts equal the figures published for the
/// reference models (sources read 2026-11-25):
///
/// - **Per-layer tensors and MACs, total MACs.** Silicon Labs' MLTK ships the
///   four MLPerf Tiny reference models ("adapted from" / "taken from"
///   github.com/mlcommons/tiny/tree/master/benchmark/training/...) and prints,
///   for each, `mltk summarize <model> --tflite` ("Total MACs", 3 decimals of M
///   or k) and `mltk profile` (per layer: the weight and bias tensor shapes and
///   "# MACs", 1 decimal of k or M):
///   https://siliconlabs.github.io/mltk/docs/python_api/models/tinyml/keyword_spotting.html
///   https://siliconlabs.github.io/mltk/docs/python_api/models/tinyml/visual_wake_words.html
///   https://siliconlabs.github.io/mltk/docs/python_api/models/tinyml/image_classification.html
///   https://siliconlabs.github.io/mltk/docs/python_api/models/tinyml/anomaly_detection.html
///   (generated from the docstrings of
///   https://github.com/SiliconLabs/mltk/blob/master/mltk/models/tinyml/{keyword_spotting,visual_wake_words,image_classification,anomaly_detection}.py,
///   read at commit 01a8b7bebad903be22c84e2207f9675140072b92). The TFLite models
///   have batch norm folded into the convs, so their weight + bias tensors are our
///   weights + biases without the batch-norm parameters. MLTK's DS-CNN takes a
///   50x10 input where the benchmark's is 49x10: both give 25x5 after the
///   stride-2 "same" first conv, so every MAC and tensor is the same.
/// - **Keras parameter totals** (`model.summary()`: biases included, batch norm 4
///   per channel, of which the running mean and variance are "non-trainable"):
///   ResNet-8 78,666 total / 78,186 trainable, in the reference training log
///   https://github.com/mlcommons/tiny/blob/master/benchmark/training/image_classification/Logs/training_log.txt ;
///   DS-CNN 24,908 / 23,756, the summary of the reference `kws_ref_model`
///   (49x10x1 input) quoted in https://github.com/dmorn/mlperf-jetson/blob/master/README.md .
///   No published Keras summary was found for MobileNetV1 0.25 and the
///   autoencoder: their totals below are counted by hand from the reference Keras
///   code (mlcommons/tiny v0.1/benchmarks/visual_wake_words/vww_model.py,
///   v0.1/benchmarks/anomaly_detection/keras_model.py), and their weights and
///   biases are checked layer by layer against MLTK's tensors.
/// - **Model file sizes.** MLTK's int8 `.tflite` files: 53.7 kB, 334.2 kB,
///   99.3 kB, 280.3 kB (the benchmark's own, as reported by the Linley
///   Newsletter, "MLPerf Gets Tiny", 3 Aug 2021,
///   https://linleygroup.com/newsletters/newsletter_detail.php?num=6344&year=2021&tag=3 :
///   53 KB, 325 KB, 96 KB, 270 KB). The int8 weights plus int32 biases must fit
///   in the file; for the dense autoencoder they are nearly all of it.
final class MLPerfTinyNetworksTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("networks")

    func load(_ name: String) throws -> ResolvedNetwork {
        try NetworkDescription(contentsOf: Self.directory.appendingPathComponent(name)).resolve()
    }

    /// `(parameters, MACs)` of a conv with bias on an `H x W` output.
    func conv(_ inChannels: Int, _ filters: Int, kernel: Int, kernelWidth: Int? = nil, output: Int, outputWidth: Int? = nil,
              groups: Int = 1) -> (Int, Int) {
        let taps = inChannels / groups * kernel * (kernelWidth ?? kernel)
        return (taps * filters + filters, output * (outputWidth ?? output) * taps * filters)
    }

    func sum(_ parts: [(Int, Int)]) -> (parameters: Int, macs: Int) {
        (parts.reduce(0) { $0 + $1.0 }, parts.reduce(0) { $0 + $1.1 })
    }

    /// MLTK's "Total MACs": 3 decimals of M, or of k below a million.
    func mltkTotal(_ macs: Int) -> String {
        macs >= 1_000_000 ? String(format: "%.3f M", Double(macs) / 1e6) : String(format: "%.3f k", Double(macs) / 1e3)
    }

    /// MLTK's per-layer "# MACs": 1 decimal, of M, k or units.
    func mltkCount(_ macs: Int) -> String {
        if macs >= 1_000_000 { return String(format: "%.1fM", Double(macs) / 1e6) }
        if macs >= 1000 { return String(format: "%.1fk", Double(macs) / 1e3) }
        return String(format: "%.1f", Double(macs))
    }

    /// Elements of the tensors in a profiling row's shape list, e.g. `"64x10x4x1,64"` is 2,624.
    func elements(_ shapes: Substring) -> Int {
        shapes.split(separator: ",").reduce(0) { $0 + $1.split(separator: "x").reduce(1) { $0 * Int($1)! } }
    }

    /// Checks `network` against the published figures: each layer with weights,
    /// in order, has the weight and bias tensors and the MACs of one MLTK
    /// profiling row (`"<weight shape>,<bias count> <MACs>"`, as printed);
    /// the total MACs print as MLTK's `totalMACs`; int8 weights plus int32
    /// biases fit in the `.tflite` file of `fileKilobytes`. Returns those bytes.
    @discardableResult
    func checkPublished(_ network: ResolvedNetwork, rows: [String], totalMACs: String, fileKilobytes: Double,
                        file: StaticString = #filePath, line: UInt = #line) -> Int {
        let weighted = network.layers.filter { $0.weightCount > 0 }
        XCTAssertEqual(weighted.count, rows.count, "layers with weights", file: file, line: line)
        for (layer, row) in zip(weighted, rows) {
            let fields = row.split(separator: " ")
            XCTAssertEqual(layer.weightCount + layer.biasCount, elements(fields[0]), "\(layer.name) tensors", file: file, line: line)
            XCTAssertEqual(mltkCount(layer.forwardMACsPerSample), String(fields[1]), "\(layer.name) MACs", file: file, line: line)
        }
        XCTAssertEqual(mltkTotal(network.forwardMACsPerSample), totalMACs, file: file, line: line)
        let bytes = weighted.reduce(0) { $0 + $1.weightCount + 4 * $1.biasCount }
        XCTAssertLessThan(Double(bytes), fileKilobytes * 1000, "int8 weights and int32 biases exceed the .tflite file", file: file, line: line)
        return bytes
    }

    func testKeywordSpottingDSCNN() throws {
        let network = try load("ds-cnn-kws.json")
        XCTAssertEqual(network.network.input.description, "1x49x10")
        XCTAssertEqual(network.outputCount, 12)
        // conv 64 10x4 stride 2 same -> 25x5; 4 x (depthwise 3x3, pointwise 64); 9 batch norms; dense 64 -> 12.
        let block = sum([conv(64, 64, kernel: 3, output: 25, outputWidth: 5, groups: 64), conv(64, 64, kernel: 1, output: 25, outputWidth: 5)])
        let total = sum([conv(1, 64, kernel: 10, kernelWidth: 4, output: 25, outputWidth: 5),
                         (4 * block.parameters, 4 * block.macs), (9 * 4 * 64, 0), (64 * 12 + 12, 64 * 12)])
        XCTAssertEqual(network.parameterCount, total.parameters)
        XCTAssertEqual(network.forwardMACsPerSample, total.macs)
        // Keras summary of the reference kws_ref_model.
        XCTAssertEqual(network.parameterCount, 24_908)
        XCTAssertEqual(network.trainableCount, 23_756)
        let separable = ["1x3x3x64,64 72.0k", "64x1x1x64,64 512.0k"]
        checkPublished(network, rows: ["64x10x4x1,64 320.0k"] + Array([[String]](repeating: separable, count: 4).joined()) + ["12x64,12 768.0"],
                       totalMACs: "2.657 M", fileKilobytes: 53.7)
        XCTAssertEqual(network.forwardMACsPerSample, 2_656_768)
    }

    func testVisualWakeWordsMobileNetV1() throws {
        let network = try load("mobilenet-v1-0.25-vww.json")
        XCTAssertEqual(network.network.input.description, "3x96x96")
        XCTAssertEqual(network.outputCount, 2)
        // conv 8 3x3 stride 2 -> 48x48, then 13 blocks (output channels, stride).
        let plan = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]
        var parts = [conv(3, 8, kernel: 3, output: 48), (4 * 8, 0)]
        var channels = 8, size = 48
        for (filters, stride) in plan {
            size = (size + stride - 1) / stride
            parts += [conv(channels, channels, kernel: 3, output: size, groups: channels), (4 * channels, 0),
                      conv(channels, filters, kernel: 1, output: size), (4 * filters, 0)]
            channels = filters
        }
        XCTAssertEqual(size, 3)
        parts.append((256 * 2 + 2, 256 * 2))
        let total = sum(parts)
        // Counted from the reference Keras code; no published summary found.
        XCTAssertEqual(network.parameterCount, total.parameters)
        XCTAssertEqual(network.parameterCount, 221_794)
        XCTAssertEqual(network.forwardMACsPerSample, total.macs)
        let six = Array([[String]](repeating: ["1x3x3x128,128 41.5k", "128x1x1x128,128 589.8k"], count: 5).joined())
        checkPublished(network, rows: ["8x3x3x3,8 497.7k",
                                       "1x3x3x8,8 165.9k", "16x1x1x8,16 294.9k",
                                       "1x3x3x16,16 82.9k", "32x1x1x16,32 294.9k",
                                       "1x3x3x32,32 165.9k", "32x1x1x32,32 589.8k",
                                       "1x3x3x32,32 41.5k", "64x1x1x32,64 294.9k",
                                       "1x3x3x64,64 82.9k", "64x1x1x64,64 589.8k",
                                       "1x3x3x64,64 20.7k", "128x1x1x64,128 294.9k"] + six
                                    + ["1x3x3x128,128 10.4k", "256x1x1x128,256 294.9k",
                                       "1x3x3x256,256 20.7k", "256x1x1x256,256 589.8k",
                                       "2x256,2 512.0"],
                       totalMACs: "7.490 M", fileKilobytes: 334.2)
        XCTAssertEqual(network.forwardMACsPerSample, 7_489_664)
    }

    func testImageClassificationResNet8() throws {
        let network = try load("resnet8-cifar10.json")
        XCTAssertEqual(network.network.input.description, "3x32x32")
        XCTAssertEqual(network.outputCount, 10)
        XCTAssertEqual(network.layers.filter { if case .add = $0.kind { return true }; return false }.count, 3)
        let total = sum([conv(3, 16, kernel: 3, output: 32),
                         conv(16, 16, kernel: 3, output: 32), conv(16, 16, kernel: 3, output: 32),
                         conv(16, 32, kernel: 3, output: 16), conv(32, 32, kernel: 3, output: 16), conv(16, 32, kernel: 1, output: 16),
                         conv(32, 64, kernel: 3, output: 8), conv(64, 64, kernel: 3, output: 8), conv(32, 64, kernel: 1, output: 8),
                         (4 * (3 * 16 + 2 * 32 + 2 * 64), 0), (64 * 10 + 10, 64 * 10)])
        XCTAssertEqual(network.parameterCount, total.parameters)
        XCTAssertEqual(network.forwardMACsPerSample, total.macs)
        // Keras summary in the reference training log.
        XCTAssertEqual(network.parameterCount, 78_666)
        XCTAssertEqual(network.trainableCount, 78_186)
        checkPublished(network, rows: ["16x3x3x3,16 442.4k", "16x3x3x16,16 2.4M", "16x3x3x16,16 2.4M",
                                       "32x3x3x16,32 1.2M", "32x3x3x32,32 2.4M", "32x1x1x16,32 131.1k",
                                       "64x3x3x32,64 1.2M", "64x3x3x64,64 2.4M", "64x1x1x32,64 131.1k",
                                       "10x64,10 640.0"],
                       totalMACs: "12.502 M", fileKilobytes: 99.3)
        XCTAssertEqual(network.forwardMACsPerSample, 12_501_632)
    }

    func testAnomalyDetectionAutoencoder() throws {
        let network = try load("fc-autoencoder-ad.json")
        XCTAssertEqual(network.network.output, .reconstruction)
        XCTAssertEqual(network.outputCount, 640)
        let widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
        let dense = zip(widths, widths.dropFirst()).map { ($0 * $1 + $1, $0 * $1) }
        let batchNorms = widths.dropFirst().dropLast().reduce(0) { $0 + 4 * $1 }
        let total = sum(dense + [(batchNorms, 0)])
        // Counted from the reference Keras code; no published summary found.
        XCTAssertEqual(network.parameterCount, total.parameters)
        XCTAssertEqual(network.parameterCount, 269_992)
        XCTAssertEqual(network.forwardMACsPerSample, total.macs)
        let hidden = [String](repeating: "128x128,128 16.4k", count: 3)
        let bytes = checkPublished(network, rows: ["128x640,128 81.9k"] + hidden + ["8x128,8 1.0k", "128x8,128 1.0k"] + hidden
                                                + ["640x128,640 81.9k"],
                                   totalMACs: "264.192 k", fileKilobytes: 280.3)
        // MLTK prints this total to the unit: exact.
        XCTAssertEqual(network.forwardMACsPerSample, 264_192)
        XCTAssertGreaterThan(Double(bytes), 0.95 * 280_300, "the dense autoencoder's file is almost all weights")
    }

    /// PEPITA's F on the autoencoder is input size x output size.
    func testAutoencoderProjectionIsInputByOutput() throws {
        let network = try load("fc-autoencoder-ad.json")
        let operations = try NetworkCostModel.operations(network: network, rule: .pepita, batch: 1)
        XCTAssertEqual(operations[.errorProjection]?.total.macs, 640 * 640)
    }
}
