import Foundation
import HWModel

/// The small networks the tests count by hand, and the repository's profiles.
enum TestNetworks {
    /// fc 4-3-2: dense 4->3 (ReLU, dropout), dense 3->2 (softmax).
    static let tinyFC = NetworkShape.fullyConnected([4, 3, 2])

    /// fc 5-4-3-2: three layers, so BP, FA and DFA send different deltas.
    static let threeLayerFC = NetworkShape.fullyConnected([5, 4, 3, 2])

    /// 1x6x6 -> conv 2 ch 3x3 (4x4 out, P = 16, patch 9) -> ReLU -> pool 2x2 (2x2x2 = 8) -> dense 8->3.
    static let tinyConv = NetworkShape(
        name: "tiny-conv", input: InputShape(channels: 1, height: 6, width: 6), classes: 3,
        layers: [.conv(inputChannels: 1, inputHeight: 6, inputWidth: 6, outChannels: 2, kernel: 3, maxPool2x2: true),
                 .dense(inputs: 8, outputs: 3)])

    /// The engine's `Net1conv1fcXL`: 1x28x28 -> conv 32 ch 5x5 -> ReLU -> pool -> dense 4608->10.
    static let net1conv1fcXL = NetworkShape(
        name: "Net1conv1fcXL", input: InputShape(channels: 1, height: 28, width: 28), classes: 10,
        layers: [.conv(inputChannels: 1, inputHeight: 28, inputWidth: 28, outChannels: 32, kernel: 5, maxPool2x2: true),
                 .dense(inputs: 4608, outputs: 10)])

    /// The engine's `Net1conv1fcXL_cif`: 3x32x32 -> conv 32 ch 5x5 -> ReLU -> pool -> dense 6272->10.
    static let net1conv1fcXLCifar = NetworkShape(
        name: "Net1conv1fcXL_cif", input: InputShape(channels: 3, height: 32, width: 32), classes: 10,
        layers: [.conv(inputChannels: 3, inputHeight: 32, inputWidth: 32, outChannels: 32, kernel: 5, maxPool2x2: true),
                 .dense(inputs: 6272, outputs: 10)])

    /// The repository's `profiles/` folder, found from this file's path.
    static let profilesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("profiles")

    static func shippedProfile(_ name: String) throws -> HardwareProfile {
        try HardwareProfile(contentsOf: profilesDirectory.appendingPathComponent("\(name).json"))
    }
}
