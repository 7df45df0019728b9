import Foundation
import HWModel
import XCTest

/// `NetworkShape`: derived sizes, validation errors that name the layer and field, JSON.
final class NetworkShapeTests: XCTestCase {
    func testConvolutionSizesFollowStrideOneNoPaddingAndPooling() throws {
        let conv = TestNetworks.tinyConv.layers[0]
        XCTAssertEqual(conv.positions, 16)          // (6 - 3 + 1)^2
        XCTAssertEqual(conv.fanIn, 9)               // 1 * 3 * 3
        XCTAssertEqual(conv.weightCount, 18)        // 2 x 9
        XCTAssertEqual(conv.activatedCount, 32)     // 2 channels x 16 positions
        XCTAssertEqual(conv.outputCount, 8)         // 2 x 2 x 2 after pooling
        XCTAssertEqual(conv.macsPerSample, 288)     // 16 * 9 * 2
        try TestNetworks.tinyConv.validate()
    }

    func testTheEnginesConvModelsChainToTheirDenseLayers() throws {
        try TestNetworks.net1conv1fcXL.validate()
        try TestNetworks.net1conv1fcXLCifar.validate()
        XCTAssertEqual(TestNetworks.net1conv1fcXL.layers[0].outputCount, 4608)      // 32 x 12 x 12
        XCTAssertEqual(TestNetworks.net1conv1fcXLCifar.layers[0].outputCount, 6272) // 32 x 14 x 14
        XCTAssertEqual(NetworkShape.fullyConnected([784, 1024, 10]).parameterCount, 784 * 1024 + 1024 * 10)
    }

    func testValidationNamesTheLayerAndField() {
        func problem(_ network: NetworkShape) -> String? {
            do { try network.validate(); return nil } catch { return "\(error)" }
        }
        var network = NetworkShape.fullyConnected([4, 3, 2])
        network.layers[1] = .dense(inputs: 5, outputs: 2)
        XCTAssertEqual(problem(network), "layers[1].inputs: must equal layers[0]'s 3 outputs, got 5")

        network = NetworkShape.fullyConnected([4, 3, 2])
        network.layers[0] = .dense(inputs: 4, outputs: 0)
        XCTAssertEqual(problem(network), "layers[0].outputs: must be > 0, got 0")

        network = NetworkShape.fullyConnected([4, 3, 2])
        network.classes = 3
        XCTAssertEqual(problem(network), "layers[1].outputs: must equal classes (3), got 2")

        network = TestNetworks.tinyConv
        network.layers[0] = .conv(inputChannels: 2, inputHeight: 6, inputWidth: 6, outChannels: 2, kernel: 3, maxPool2x2: true)
        XCTAssertEqual(problem(network), "layers[0].inputChannels: must equal the input's 1 (shape 1x6x6), got 2")

        network = TestNetworks.tinyConv
        network.layers[0] = .conv(inputChannels: 1, inputHeight: 6, inputWidth: 6, outChannels: 2, kernel: 7, maxPool2x2: true)
        XCTAssertEqual(problem(network), "layers[0].kernel: 7 does not fit the 6x6 input")

        network = TestNetworks.tinyConv
        network.layers[1] = .dense(inputs: 32, outputs: 3)
        XCTAssertEqual(problem(network), "layers[1].inputs: must equal layers[0]'s 8 outputs, got 32")

        network = TestNetworks.tinyConv
        network.layers = [.dense(inputs: 36, outputs: 8),
                          .conv(inputChannels: 2, inputHeight: 2, inputWidth: 2, outChannels: 3, kernel: 1, maxPool2x2: false)]
        XCTAssertEqual(problem(network), "layers[1]: a convolution needs a feature map but layers[0]'s output is a dense vector")

        network = TestNetworks.tinyConv
        network.layers = [.conv(inputChannels: 1, inputHeight: 6, inputWidth: 6, outChannels: 3, kernel: 6, maxPool2x2: true),
                          .dense(inputs: 0, outputs: 3)]
        XCTAssertEqual(problem(network), "layers[0].maxPool2x2: the 1x1 conv output is too small to pool 2x2")

        network = TestNetworks.tinyConv
        network.input.height = 0
        XCTAssertEqual(problem(network), "input.height: must be > 0, got 0")
    }

    func testJSONRoundTripsAndDecodingValidates() throws {
        let data = try JSONEncoder().encode(TestNetworks.tinyConv)
        XCTAssertEqual(try NetworkShape(json: data), TestNetworks.tinyConv)

        let text = """
            { "name": "bad", "input": { "channels": 1, "height": 1, "width": 4 }, "classes": 2,
              "layers": [ { "kind": "dense", "inputs": 4, "outputs": 3 }, { "kind": "dense", "inputs": 4, "outputs": 2 } ] }
            """
        XCTAssertThrowsError(try NetworkShape(json: Data(text.utf8))) { error in
            XCTAssertEqual("\(error)", "layers[1].inputs: must equal layers[0]'s 3 outputs, got 4")
        }
    }
}
