import HWModel
import XCTest

/// `StorageModel.peak`: PEPITA vs BP on the tiny networks, buffer by buffer, float32, B = 2.
final class StorageModelTests: XCTestCase {
    private func peak(_ network: NetworkShape, _ rule: TrainingRule) throws -> StorageProfile {
        try StorageModel.peak(network: network, rule: rule, batch: 2, sizes: .float32)
    }

    private func categories(_ profile: StorageProfile) -> [StorageCategory: Int] {
        Dictionary(uniqueKeysWithValues: profile.peakByCategory.filter { $0.bytes > 0 }.map { ($0.category, $0.bytes) })
    }

    /// Always live: W0 48 + W1 24, v0 48 + v1 24, F 4*2*4 = 32.
    /// Per stage: x 32, h1 24 and its mask (6 bits: 1 byte) from pass 1, e 16 until x_mod exists,
    /// h1_mod 24 from the modulated pass on. At modulatedForward[0]: x_mod + h1 + mask + h1_mod = 81.
    func testPepitaPeaksWhenH1AndH1ModAreBothLive() throws {
        let profile = try peak(TestNetworks.tinyFC, .pepita)
        XCTAssertEqual(profile.stages.map(\.name), ["forward[0]", "forward[1]", "errorProjection",
                                                    "modulatedForward[0]", "update[0]", "modulatedForward[1]", "update[1]"])
        XCTAssertEqual(profile.stages.map(\.liveBytes), [176 + 57, 176 + 73, 176 + 73, 176 + 81, 176 + 80, 176 + 40, 176 + 40])
        XCTAssertEqual(profile.peakStage, "modulatedForward[0]")
        XCTAssertEqual(profile.peakBytes, 257)
        XCTAssertEqual(categories(profile), [.weights: 72, .optimiserState: 72, .projection: 32, .inputs: 32,
                                             .keptActivations: 24, .workingActivations: 24, .masks: 1])
        XCTAssertEqual(profile.peakByLayer.map(\.bytes), [48 + 48 + 24 + 24 + 1, 24 + 24])
    }

    /// Always live: W 72, v 72. x 32 and h1 24 until the backward pass used them, e 16,
    /// delta0 24 while layer 1 sends it down: at backward[1] x + h1 + e + delta0 = 96.
    func testBackpropPeaksWhenTheFirstDeltaIsSent() throws {
        let profile = try peak(TestNetworks.tinyFC, .bp)
        XCTAssertEqual(profile.stages.map(\.name), ["forward[0]", "forward[1]", "backward[1]", "backward[0]"])
        XCTAssertEqual(profile.stages.map(\.liveBytes), [144 + 56, 144 + 72, 144 + 96, 144 + 56])
        XCTAssertEqual(profile.peakStage, "backward[1]")
        XCTAssertEqual(profile.peakBytes, 240)
        XCTAssertEqual(categories(profile), [.weights: 72, .optimiserState: 72, .inputs: 32, .keptActivations: 24,
                                             .outputErrors: 16, .backwardBuffers: 24])
        // FA adds B1 (6 weights, 24 bytes); DFA adds D0 (classes x 3 = 6, 24 bytes) and keeps e to the end.
        XCTAssertEqual(try peak(TestNetworks.tinyFC, .fa)[.projection], 24)
        XCTAssertEqual(try peak(TestNetworks.tinyFC, .dfa)[.projection], 24)
    }

    /// PEPITA: always live W0 72 + W1 96, v 168, F 36*3*4 = 432 = 768. x 288; h1 before pooling
    /// 2*32*4 = 256 kept to its update; pooled h1 64 while layer 1 runs; e 24 kept to the last update
    /// (the conv reference's first-pass error). At modulatedForward[0]: x_mod + h1 + h1_mod (256) + e = 824;
    /// h1_mod is pooled (64) after the update, at modulatedForward[1], with e and e_mod: 256 + 64 + 24 + 24 = 368.
    func testPepitaOnConvKeepsActivationsBeforePoolingTwice() throws {
        let profile = try peak(TestNetworks.tinyConv, .pepita)
        XCTAssertEqual(profile.stages.map(\.liveBytes), [768 + 608, 768 + 632, 768 + 568, 768 + 824, 768 + 824, 768 + 368, 768 + 88])
        XCTAssertEqual(profile.peakStage, "modulatedForward[0]")
        XCTAssertEqual(profile.peakBytes, 1592)
        XCTAssertEqual(categories(profile), [.weights: 168, .optimiserState: 168, .projection: 432, .inputs: 288,
                                             .keptActivations: 256, .workingActivations: 256, .outputErrors: 24])
        XCTAssertEqual(profile.peakByLayer.map(\.bytes), [72 + 72 + 256 + 256, 96 + 96])
    }

    /// BP: always live W 168, v 168 = 336. x 288; pooled h1 64 and its 2-bit winners (16 * 2 bits = 4 bytes)
    /// until backward[1]; e 24; delta0 before pooling 2*32*4 = 256. At backward[1]: 288 + 64 + 4 + 24 + 256 = 636.
    func testBackpropOnConvStoresPooledActivationsAndWinners() throws {
        let profile = try peak(TestNetworks.tinyConv, .bp)
        XCTAssertEqual(profile.stages.map(\.liveBytes), [336 + 356, 336 + 380, 336 + 636, 336 + 544])
        XCTAssertEqual(profile.peakBytes, 972)
        XCTAssertEqual(categories(profile), [.weights: 168, .optimiserState: 168, .inputs: 288, .keptActivations: 64,
                                             .masks: 4, .outputErrors: 24, .backwardBuffers: 256])
    }

    /// Where PEPITA saves and where it does not, on the tiny networks: it never stores a delta or a
    /// pool winner, but it stores F, keeps h and h_mod together, and keeps conv activations before pooling.
    func testWherePepitaSavesAndWhereItDoesNot() throws {
        for network in [TestNetworks.tinyFC, TestNetworks.tinyConv] {
            let pepita = try peak(network, .pepita), bp = try peak(network, .bp)
            XCTAssertEqual(pepita[.backwardBuffers], 0)
            XCTAssertGreaterThan(bp[.backwardBuffers], 0)
            XCTAssertEqual(pepita[.projection], network.inputCount * network.classes * 4)
            XCTAssertEqual(bp[.projection], 0)
            XCTAssertGreaterThan(pepita.peakBytes, bp.peakBytes, network.name)
        }
    }

    /// Layer by layer on the tiny conv net (float32, B = 2), beyond weights and velocities:
    /// PEPITA's conv layer keeps h1 before pooling (256) and holds h1_mod (256) with it (pooled only
    /// after the update): 512 live at modulatedForward[0]; BP keeps pooled h1 (64) and winners (4),
    /// then delta0 before pooling (256): 324 at backward[1]. So PEPITA stores more at the conv layer.
    /// Buffers of no layer: PEPITA x_mod 288 + F 432 + e 24 = 744; BP x 288 + e 24 = 312.
    func testLayerStorageShowsWherePepitaSpendsMoreOrLessPerLayer() throws {
        let pepita = try peak(TestNetworks.tinyConv, .pepita).layerStorage
        let bp = try peak(TestNetworks.tinyConv, .bp).layerStorage
        XCTAssertEqual(pepita.map(\.layer), [0, nil])
        XCTAssertEqual(bp.map(\.layer), [0, nil])
        XCTAssertEqual(pepita[0].bufferNames, ["h1 (pass 1, before pooling)", "h1 pooled (pass 1)", "h1_mod (before pooling)", "h1_mod pooled"])
        XCTAssertEqual(pepita[0].largestLiveBytes, 512)
        XCTAssertEqual(pepita[0].largestLiveStage, "modulatedForward[0]")
        XCTAssertEqual(pepita[0].bytesAtPeak, 512)
        XCTAssertEqual(bp[0].bufferNames, ["h1 (pooled)", "pool winners 0", "delta0"])
        XCTAssertEqual(bp[0].bytesByCategory, [CategoryBytes(category: .keptActivations, bytes: 64),
                                               CategoryBytes(category: .masks, bytes: 4),
                                               CategoryBytes(category: .backwardBuffers, bytes: 256)])
        XCTAssertEqual(bp[0].largestLiveBytes, 324)
        XCTAssertEqual(bp[0].largestLiveStage, "backward[1]")
        XCTAssertEqual(pepita[1].largestLiveBytes, 744)
        XCTAssertEqual(bp[1].largestLiveBytes, 312)

        // fc 4-3-2: PEPITA holds h1, h1_mod and the mask (24 + 24 + 1 = 49) against BP's h1 and delta0 (48).
        let fcPepita = try peak(TestNetworks.tinyFC, .pepita).layerStorage
        let fcBP = try peak(TestNetworks.tinyFC, .bp).layerStorage
        XCTAssertEqual(fcPepita[0].largestLiveBytes, 49)
        XCTAssertEqual(fcBP[0].largestLiveBytes, 48)
    }
}
