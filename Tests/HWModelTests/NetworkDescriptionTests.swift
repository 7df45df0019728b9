import Foundation
import HWModel
import XCTest

/// Reading, checking and resolving network descriptions; errors name the field and the layer.
final class NetworkDescriptionTests: XCTestCase {
    static let residualJSON = """
        { "name": "tiny-residual", "input": { "channels": 1, "height": 4, "width": 4 }, "classes": 2,
          "layers": [
            { "type": "conv2d", "name": "stem", "filters": 2, "kernel": 3, "padding": "same" },
            { "type": "relu", "name": "stem_out" },
            { "type": "conv2d", "filters": 2, "kernel": 3, "padding": "same" },
            { "type": "batchNorm" },
            { "type": "add", "from": "stem_out" },
            { "type": "relu" },
            { "type": "globalAveragePool" },
            { "type": "flatten" },
            { "type": "dense", "name": "classifier", "units": 2 } ] }
        """

    /// Replaces `layers[index]` of the residual example with `layer` (JSON text).
    func residual(replacing index: Int, with layer: String) -> Data {
        var lines = Self.residualJSON.components(separatedBy: "\n")
        lines[2 + index] = "    " + layer + (index == 8 ? " ] }" : ",")
        return Data(lines.joined(separator: "\n").utf8)
    }

    func error(_ data: Data, file: String? = nil) -> String {
        do {
            _ = try NetworkDescription(json: data, file: file)
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    func testShapesAreInferredLayerToLayer() throws {
        let network = try NetworkDescription(json: Data(Self.residualJSON.utf8)).resolve()
        XCTAssertEqual(network.layers.map(\.outputShape.description),
                       ["2x4x4", "2x4x4", "2x4x4", "2x4x4", "2x4x4", "2x4x4", "2x1x1", "1x1x2", "1x1x2"])
        XCTAssertEqual(network.layers[4].inputs, [3, 1], "the add reads the previous layer and the named skip")
        XCTAssertEqual(network.consumers[1], [2, 4])
        // stem 1*9*2, conv 2*9*2, batch norm 2 scale + 2 shift + 2 mean + 2 variance, dense 2*2.
        XCTAssertEqual(network.layers.map(\.parameterCount), [18, 0, 36, 8, 0, 0, 0, 0, 4])
        XCTAssertEqual(network.trainableCount, 18 + 36 + 4 + 4)
    }

    func testStridePaddingAndGroupsFollowTensorFlow() throws {
        func output(_ conv: Convolution, _ input: InputShape) throws -> String {
            let description = NetworkDescription(name: "t", input: input, output: .classes(conv.filters * 100),
                                                 layers: [NetworkLayer(.conv2d(conv)), NetworkLayer(.flatten),
                                                          NetworkLayer(.dense(units: conv.filters * 100, bias: false))])
            return try description.resolve().layers[0].outputShape.description
        }
        let input = InputShape(channels: 4, height: 49, width: 10)
        // same: ceil(49 / 2) x ceil(10 / 2); valid: floor((49 - 10) / 2) + 1 x floor((10 - 4) / 2) + 1.
        XCTAssertEqual(try output(Convolution(filters: 8, kernel: Extent2D(10, 4), stride: .square(2), padding: .same), input), "8x25x5")
        XCTAssertEqual(try output(Convolution(filters: 8, kernel: Extent2D(10, 4), stride: .square(2), padding: .valid), input), "8x20x4")
        XCTAssertEqual(try output(Convolution(filters: 8, kernel: .square(3), padding: .explicit(top: 1, bottom: 0, left: 2, right: 2)), input), "8x48x12")
        let depthwise = try NetworkDescription(name: "dw", input: input, output: .classes(4), layers: [
            NetworkLayer(.conv2d(Convolution(filters: 4, kernel: .square(3), padding: .same, groups: 4))),
            NetworkLayer(.pool(Pooling(kind: .average, size: nil))), NetworkLayer(.flatten),
            NetworkLayer(.dense(units: 4, bias: false)),
        ]).resolve()
        XCTAssertEqual(depthwise.layers[0].fanIn, 9, "a depthwise filter sees one channel")
        XCTAssertEqual(depthwise.layers[0].forwardMACsPerSample, 49 * 10 * 9 * 4)
    }

    func testAShapeMismatchNamesTheLayerAndField() {
        let skipFromInput = residual(replacing: 4, with: #"{ "type": "add", "name": "join", "from": "classifier" }"#)
        XCTAssertEqual(error(skipFromInput, file: "bad.json"),
                       "bad.json: layers[4].from (join): 'classifier' is layers[8], which comes later: a layer reads only earlier outputs (no cycles)")
        let wrongShape = residual(replacing: 2, with: #"{ "type": "conv2d", "name": "wide", "filters": 3, "kernel": 3, "padding": "same" }"#)
        XCTAssertEqual(error(wrongShape), "layers[4].from: 'stem_out' gives 2x4x4 but this layer's input is 3x4x4: a residual add needs equal shapes")
        let denseOnAMap = residual(replacing: 7, with: #"{ "type": "relu" }"#)
        XCTAssertEqual(error(denseOnAMap), "layers[8] (classifier): dense needs a flat input (1x1xN) but gets 2x1x1: add a flatten layer before it")
    }

    func testZeroStrideIsRejected() {
        let data = residual(replacing: 2, with: #"{ "type": "conv2d", "name": "c2", "filters": 2, "kernel": 3, "stride": [1, 0] }"#)
        XCTAssertEqual(error(data), "layers[2].stride (c2): must be > 0, got 1x0")
    }

    func testUnknownLayerTypeAndKeyAreRejected() {
        let type = residual(replacing: 5, with: #"{ "type": "gelu", "name": "act" }"#)
        XCTAssertTrue(error(type).hasPrefix("layers[5].type (act): unknown layer type 'gelu' (known: add, averagePool, batchNorm,"), error(type))
        let key = residual(replacing: 2, with: #"{ "type": "conv2d", "filters": 2, "kernel": 3, "strides": 2 }"#)
        XCTAssertTrue(error(key).hasPrefix("layers[2].strides: unknown key (known: bias, filters,"), error(key))
    }

    func testCyclesAndForwardReferencesAreRejected() {
        let selfLoop = residual(replacing: 3, with: #"{ "type": "batchNorm", "name": "loop", "input": "loop" }"#)
        XCTAssertEqual(error(selfLoop), "layers[3].input (loop): 'loop' is layers[3], this layer itself: a layer reads only earlier outputs (no cycles)")
        let unknown = residual(replacing: 4, with: #"{ "type": "add", "from": "nowhere" }"#)
        XCTAssertEqual(error(unknown), "layers[4].from: no layer is named 'nowhere'")
    }

    func testTheLastLayerMustGiveTheClassesOrTheReconstruction() {
        let text = Self.residualJSON.replacingOccurrences(of: "\"classes\": 2", with: "\"output\": \"reconstruction\"")
        XCTAssertEqual(error(Data(text.utf8)), "layers[8] (classifier): a reconstruction must give the input's 16 values, got 2")
    }

    func testSizesTooLargeToCountAreRejectedNotTrapped() {
        let huge = residual(replacing: 2, with: #"{ "type": "conv2d", "name": "huge", "filters": 999999999, "kernel": 999, "padding": "same" }"#)
        XCTAssertEqual(error(huge), "layers[2] (huge): is too large to price: more than 2^40 values or MACs per sample")

        // With same padding the kernel need not fit the map, so it is bounded by itself (its area would overflow).
        let hugeKernel = residual(replacing: 2, with: #"{ "type": "conv2d", "name": "wide", "filters": 2, "kernel": [100000000000, 100000000000], "padding": "same" }"#)
        XCTAssertEqual(error(hugeKernel), "layers[2].kernel (wide): 100000000000 is too large to price: more than 2^40 weights per filter")
        // Explicit padding can grow the map beyond the input.
        let padded = residual(replacing: 2, with: #"{ "type": "conv2d", "name": "padded", "filters": 2, "kernel": 3, "padding": [100000000000, 100000000000, 100000000000, 100000000000] }"#)
        XCTAssertEqual(error(padded), "layers[2] (padded): is too large to price: more than 2^40 values or MACs per sample")

        // Pooling work n (window - 1): a 524288x524288 map under a 262144 window at stride 1.
        let pooled = """
            { "name": "pool", "input": { "channels": 1, "height": 524288, "width": 524288 }, "classes": 1,
              "layers": [ { "type": "maxPool", "name": "wide", "size": 262144, "stride": 1 },
                          { "type": "globalAveragePool" }, { "type": "flatten" }, { "type": "dense", "units": 1 } ] }
            """
        XCTAssertEqual(error(Data(pooled.utf8)), "layers[0] (wide): is too large to price: more than 2^40 pooling operations per sample")

        // 40 ReLUs on 2^39 values: each layer is within 2^40, their sum is not.
        let relus = Array(repeating: #"{ "type": "relu" }"#, count: 40).joined(separator: ", ")
        let deep = """
            { "name": "deep", "input": { "channels": 1, "height": 524288, "width": 1048576 }, "classes": 1,
              "layers": [ \(relus), { "type": "globalAveragePool" }, { "type": "flatten" }, { "type": "dense", "units": 1 } ] }
            """
        XCTAssertEqual(error(Data(deep.utf8)),
                       "layers: the network is too large to price: more than 2^40 values or pooling operations per sample, summed over the input and every layer")
    }

    func testJSONRoundTripsThroughExport() throws {
        let description = try NetworkDescription(json: Data(Self.residualJSON.utf8))
        XCTAssertEqual(try NetworkDescription(json: Data(try description.jsonText().utf8)), description)
    }

    func testEngineNetworksExportAndLowerBackUnchanged() throws {
        for shape in [TestNetworks.tinyFC, TestNetworks.threeLayerFC, TestNetworks.tinyConv, TestNetworks.net1conv1fcXL,
                      TestNetworks.net1conv1fcXLCifar] {
            let description = NetworkDescription(shape)
            XCTAssertEqual(NetworkShape(lowering: description), shape, shape.name)
            let reread = try NetworkDescription(json: Data(try description.jsonText().utf8))
            XCTAssertEqual(NetworkShape(lowering: reread), shape, shape.name)
        }
        // Anything outside the engine's subset does not lower.
        XCTAssertNil(NetworkShape(lowering: try NetworkDescription(json: Data(Self.residualJSON.utf8))))
        var biased = NetworkDescription(TestNetworks.tinyFC)
        biased.layers[biased.layers.count - 1] = NetworkLayer(.dense(units: 2, bias: true))
        XCTAssertNil(NetworkShape(lowering: biased))
    }
}
