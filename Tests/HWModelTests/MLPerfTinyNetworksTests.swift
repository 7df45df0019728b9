import Foundation
import HWModel
import XCTest

/// The four MLPerf Tiny reference networks in `networks/`: each loads, and its
/// parameter count and forward MACs equal the figures worked out by hand from
/// the reference Keras code (mlcommons/tiny), which agree with the published ones:
///
/// - MLPerf Tiny paper (Banbury et al., "MLPerf Tiny Benchmark", NeurIPS 2021
///   Datasets and Benchmarks, the table of benchmarks) gives each reference
///   model's int8 TFLite size: DS-CNN 52.5 kB, MobileNetV1 0.25 325 kB,
///   ResNet-8 96 kB, FC-AutoEncoder 270 kB (also in Linley Newsletter, 3 Aug 2021,
///   "MLPerf Gets Tiny": 53 KB, 325 KB, 96 KB, 270 KB). A file holds the int8
///   weights plus int32 biases, per-channel quantisation parameters and the graph,
///   so the parameter count (one byte each) must stay below the size; for the
///   dense autoencoder, whose file is almost all weights, it comes within 1 %.
/// - Forward MACs commonly quoted for these models: 2.7 M (DS-CNN, the "DS-CNN S"
///   of Zhang et al., "Hello Edge", 2017: 5.4 M operations = 2 x MACs), 7.5 M
///   (MobileNetV1 0.25 at 96x96), 12.5 M (ResNet-8), 0.26 M (FC-AE); the counts
///   here round to them.
///
/// Parameter counts are Keras's: biases included, batch norm 4 per channel
/// (scale, shift, running mean and variance); TFLite folds batch norm into
/// the convs, so the deployed model has fewer.
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

    /// `publishedMACs` is quoted to `significantDigits` digits.
    func check(_ network: ResolvedNetwork, parameters: Int, macs: Int, publishedKilobytes: Double, publishedMACs: Double,
               significantDigits: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(network.parameterCount, parameters, file: file, line: line)
        XCTAssertEqual(network.forwardMACsPerSample, macs, file: file, line: line)
        XCTAssertLessThan(Double(parameters), publishedKilobytes * 1000, "int8 weights exceed the published model size", file: file, line: line)
        let digits = pow(10, floor(log10(publishedMACs)) - Double(significantDigits - 1))
        XCTAssertEqual((Double(macs) / digits).rounded() * digits, publishedMACs, "MACs do not round to the quoted figure", file: file, line: line)
    }

    func testKeywordSpottingDSCNN() throws {
        let network = try load("ds-cnn-kws.json")
        XCTAssertEqual(network.network.input.description, "1x49x10")
        XCTAssertEqual(network.outputCount, 12)
        // conv 64 10x4 stride 2 same -> 25x5; 4 x (depthwise 3x3, pointwise 64); 9 batch norms; dense 64 -> 12.
        let block = sum([conv(64, 64, kernel: 3, output: 25, outputWidth: 5, groups: 64), conv(64, 64, kernel: 1, output: 25, outputWidth: 5)])
        let total = sum([conv(1, 64, kernel: 10, kernelWidth: 4, output: 25, outputWidth: 5),
                         (4 * block.parameters, 4 * block.macs), (9 * 4 * 64, 0), (64 * 12 + 12, 64 * 12)])
        XCTAssertEqual(total.parameters, 24_908)
        XCTAssertEqual(total.macs, 2_656_768)
        check(network, parameters: total.parameters, macs: total.macs, publishedKilobytes: 52.5, publishedMACs: 2.7e6)
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
        XCTAssertEqual(total.parameters, 221_794)
        XCTAssertEqual(total.macs, 7_489_664)
        check(network, parameters: total.parameters, macs: total.macs, publishedKilobytes: 325, publishedMACs: 7.5e6)
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
        XCTAssertEqual(total.parameters, 78_666)
        XCTAssertEqual(total.macs, 12_501_632)
        check(network, parameters: total.parameters, macs: total.macs, publishedKilobytes: 96, publishedMACs: 12.5e6,
              significantDigits: 3)
    }

    func testAnomalyDetectionAutoencoder() throws {
        let network = try load("fc-autoencoder-ad.json")
        XCTAssertEqual(network.network.output, .reconstruction)
        XCTAssertEqual(network.outputCount, 640)
        let widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
        let dense = zip(widths, widths.dropFirst()).map { ($0 * $1 + $1, $0 * $1) }
        let batchNorms = widths.dropFirst().dropLast().reduce(0) { $0 + 4 * $1 }
        let total = sum(dense + [(batchNorms, 0)])
        XCTAssertEqual(total.parameters, 269_992)
        XCTAssertEqual(total.macs, 264_192)
        check(network, parameters: total.parameters, macs: total.macs, publishedKilobytes: 270, publishedMACs: 0.26e6)
        XCTAssertGreaterThan(Double(total.parameters - batchNorms), 0.98 * 270_000, "the dense autoencoder's file is almost all weights")
    }

    /// PEPITA's F on the autoencoder is input size x output size.
    func testAutoencoderProjectionIsInputByOutput() throws {
        let network = try load("fc-autoencoder-ad.json")
        let operations = try NetworkCostModel.operations(network: network, rule: .pepita, batch: 1)
        XCTAssertEqual(operations[.errorProjection]?.total.macs, 640 * 640)
    }
}
