import Foundation
import HWModel
import Quantized
import XCTest

/// `NetworkCostModel` counted by hand on two tiny networks, checked against
/// the engine-exact `CostModel` on the engine's networks, and its storage
/// schedules compared where the answer is known.
final class NetworkCostModelTests: XCTestCase {
    /// 2x4x4 -> depthwise 3x3 same (groups 2) -> ReLU -> pointwise 1x1 to 4 -> ReLU
    /// -> global average pool -> flatten -> dense 3.
    static let depthwiseSeparable = NetworkDescription(
        name: "tiny-ds", input: InputShape(channels: 2, height: 4, width: 4), output: .classes(3),
        layers: [NetworkLayer(.conv2d(Convolution(filters: 2, kernel: .square(3), padding: .same, groups: 2)), name: "dw"),
                 NetworkLayer(.relu), NetworkLayer(.conv2d(Convolution(filters: 4, kernel: .square(1))), name: "pw"),
                 NetworkLayer(.relu), NetworkLayer(.pool(Pooling(kind: .average, size: nil))), NetworkLayer(.flatten),
                 NetworkLayer(.dense(units: 3, bias: false), name: "fc")])

    static var residual: NetworkDescription {
        try! NetworkDescription(json: Data(NetworkDescriptionTests.residualJSON.utf8))
    }

    func phases(_ description: NetworkDescription, _ rule: TrainingRule) throws -> [TrainingPhase: OperationCounts] {
        let operations = try NetworkCostModel.operations(network: try description.resolve(), rule: rule, batch: 1)
        return Dictionary(uniqueKeysWithValues: operations.phases.map { ($0.phase, $0.total) })
    }

    func testDepthwiseSeparableNetCountedByHand() throws {
        // Forward MACs per sample: depthwise 16 positions x 9 taps x 2 channels = 288;
        // pointwise 16 x 2 x 4 = 128; dense 4 x 3 = 12.
        let forward = 288 + 128 + 12
        let bp = try phases(Self.depthwiseSeparable, .bp)
        XCTAssertEqual(bp[.forward]?.macs, forward)
        // ReLU 32 + 64 compares, softmax over 3: 2 compares; pool: 4 x 15 adds, 4 multiplies;
        // softmax 3 subtractions + 2 adds, and y - onehot one subtraction (at the label).
        XCTAssertEqual(bp[.forward]?.compares, 32 + 64 + 2)
        XCTAssertEqual(bp[.forward]?.adds, 4 * 15 + (3 + 2) + 1)
        // Deltas: dense 12 MACs, pool 4 multiplies, ReLU derivative 64 compares, pointwise 128 MACs,
        // ReLU derivative 32 compares; none into x.
        XCTAssertEqual(bp[.backwardDelta], OperationCounts(macs: 12 + 128, multiplies: 4, compares: 64 + 32))
        XCTAssertEqual(bp[.weightGradient]?.macs, forward)
        XCTAssertEqual(bp[.optimiser], OperationCounts(adds: 2 * (18 + 8 + 12), multiplies: 2 * (18 + 8 + 12)))

        let pepita = try phases(Self.depthwiseSeparable, .pepita)
        XCTAssertEqual(pepita[.errorProjection], OperationCounts(macs: 3 * 32, adds: 32))
        XCTAssertEqual(pepita[.modulatedForward], pepita[.forward])
        // Update: the forward MACs again; h - h_mod after each ReLU (32 + 64); the dense layer uses e_mod.
        XCTAssertEqual(pepita[.update], OperationCounts(macs: forward, adds: 32 + 64))
        // Memory-saving PEPITA recomputes through the pointwise block (its ReLU): 288 + 128 MACs, 96 compares.
        let saving = try phases(Self.depthwiseSeparable, .pepitaMemorySaving)
        XCTAssertEqual(saving[.recompute], OperationCounts(macs: 288 + 128, compares: 32 + 64))
        // DFA: e · D onto the depthwise stage's end (its ReLU, 32) and the pointwise stage's (the flatten, 4).
        XCTAssertEqual(try phases(Self.depthwiseSeparable, .dfa)[.backwardDelta]?.macs, 3 * 32 + 3 * 4)
        // Forward-Forward: the positive and negative passes are forward passes without softmax;
        // gradients of both passes: 2 x forward MACs.
        let ff = try phases(Self.depthwiseSeparable, .forwardForward)
        XCTAssertEqual(ff[.forward]?.macs, forward)
        XCTAssertEqual(ff[.negativeForward], ff[.forward])
        XCTAssertEqual(ff[.weightGradient]?.macs, 2 * forward)
        XCTAssertEqual(ff[.forward]?.exps, 3, "one sigmoid per stage per sample")
    }

    func testResidualNetCountedByHand() throws {
        // Forward MACs: stem 16 x 9 x 2 = 288, conv 16 x 18 x 2 = 576, dense 2 x 2 = 4.
        let forward = 288 + 576 + 4
        let bp = try phases(Self.residual, .bp)
        XCTAssertEqual(bp[.forward]?.macs, forward)
        // Deltas: dense 4 and the second conv 576 MACs; the ReLU derivative after the add 32 compares,
        // the pool 2 multiplies, batch norm 2 x 32 + 3 x 2 multiplies and 2 x 32 adds, the stem's
        // ReLU derivative 32 compares; stem_out feeds the conv and the add, so its two deltas are
        // summed (32 adds).
        XCTAssertEqual(bp[.backwardDelta], OperationCounts(macs: 4 + 576, adds: 64 + 32, multiplies: 2 + 70, compares: 32 + 32))
        // Gradients: the forward MACs, batch norm 2 x 32 adds and 32 multiplies.
        XCTAssertEqual(bp[.weightGradient], OperationCounts(macs: forward, adds: 64, multiplies: 32))
        let pepita = try phases(Self.residual, .pepita)
        // Blocks end at the stem's ReLU and at the batch norm (the add ends the second block):
        // 32 + 32 subtractions; batch norm's own update 64 adds, 32 multiplies.
        XCTAssertEqual(pepita[.update], OperationCounts(macs: forward, adds: 32 + 32 + 64, multiplies: 32))
        XCTAssertEqual(pepita[.errorProjection]?.macs, 2 * 16)
        // DFA stages: [stem, ReLU] ends at 32 values; [conv, BN, add, ReLU, pool, flatten] at 2.
        XCTAssertEqual(try phases(Self.residual, .dfa)[.backwardDelta]?.macs, 2 * 32 + 2 * 2)
    }

    /// The general model agrees with the engine-exact one on every engine network and rule (dropout off).
    /// The engine's `CostModel` counts per engine layer (a weighted layer with
    /// its ReLU, dropout and pool); the description splits that into stages of
    /// layers. Summed per stage the counts must be equal, phase by phase and
    /// layer by layer, with dropout off and on — except that the engine counts
    /// BP/FA's `delta_l · W_l` under the receiving layer `l - 1`, where the
    /// description counts it under the weighted layer `l` itself.
    func testAgreesWithTheEngineCostModelOnEngineNetworks() throws {
        for shape in [TestNetworks.tinyFC, TestNetworks.threeLayerFC, TestNetworks.tinyConv, TestNetworks.net1conv1fcXL] {
            let network = try NetworkDescription(shape).resolve()
            let stages = network.stages
            XCTAssertEqual(stages.count, shape.layers.count, shape.name)
            XCTAssertEqual(stages.flatMap(\.layers), Array(network.layers.indices), "stages partition \(shape.name)")
            for keep in [1, 0.9] {
                for rule in TrainingRule.engineRules {
                    let engine = try CostModel.operations(network: shape, rule: rule, batch: 3, options: StepOptions(dropoutKeep: keep))
                    let general = try NetworkCostModel.operations(network: network, rule: rule, batch: 3, dropoutKeep: keep)
                    let context = "\(shape.name) \(rule.rawValue) keep \(keep)"
                    XCTAssertEqual(general.phases.map(\.phase), engine.phases.map(\.phase), context)
                    for (a, b) in zip(general.phases, engine.phases) {
                        XCTAssertEqual(a.total, b.total, "\(context) \(a.phase)")
                        XCTAssertEqual(a.outsideLayers, b.outsideLayers, "\(context) \(a.phase)")
                        XCTAssertEqual(a.products.reduce(0) { $0 + $1.macs }, b.products.reduce(0) { $0 + $1.macs })
                        let shiftsDown = a.phase == .backwardDelta && (rule == .bp || rule == .fa)
                        var perEngineLayer = Array(repeating: OperationCounts.zero, count: stages.count)
                        for (position, stage) in stages.enumerated() {
                            for j in stage.layers {
                                let target = shiftsDown && j == stage.weightedLayer ? position - 1 : position
                                if target >= 0 { perEngineLayer[target] += a.layers[j] }
                                else { XCTAssertEqual(a.layers[j], .zero, "no delta below layer 0: \(context)") }
                            }
                        }
                        XCTAssertEqual(perEngineLayer, b.layers, "\(context) \(a.phase) per layer")
                    }
                }
            }
        }
    }

    /// The general model's "buffers reused" peak is the engine model's stated schedule, to the byte, on the
    /// engine's networks (dropout off, as the general model has none): BP keeps the pooled output and the
    /// winners, not the ReLU output before pooling, and unpools its delta in place; PEPITA pools h_mod after
    /// the update. The one stated difference: with the first-pass error for the last layer (the conv
    /// reference's choice), the engine model keeps `e` (batch x classes) until that update, where the
    /// general model always learns the output block from `e_mod`.
    func testStoragePeakAgreesWithTheEngineStorageModelOnEngineNetworks() throws {
        let networks = [TestNetworks.tinyFC, TestNetworks.threeLayerFC, NetworkShape.fullyConnected([784, 1024, 10]),
                        NetworkShape.fullyConnected([784, 1024, 1024, 1024, 10]), TestNetworks.tinyConv,
                        TestNetworks.net1conv1fcXL, TestNetworks.net1conv1fcXLCifar]
        for shape in networks {
            let network = try NetworkDescription(shape).resolve()
            for preset in ["int8", "float32"] {
                let sizes = try ElementSizes(precision: PrecisionConfig.preset(named: preset)!)
                for batch in [1, 64] {
                    for rule in [TrainingRule.bp, .fa, .dfa, .pepita] {
                        let label = "\(shape.name) \(preset) batch \(batch) \(rule.rawValue)"
                        let general = try NetworkCostModel.storage(network: network, rule: rule, batch: batch, sizes: sizes)
                        let modulated = try StorageModel.peak(network: shape, rule: rule, batch: batch, sizes: sizes,
                                                              options: StepOptions(dropoutKeep: 1, pepitaLastLayerError: .modulated))
                        XCTAssertEqual(general.reusedBytes, modulated.peakBytes, label)
                        guard rule == .pepita else { continue }
                        let firstPass = try StorageModel.peak(network: shape, rule: rule, batch: batch, sizes: sizes,
                                                              options: StepOptions(dropoutKeep: 1, pepitaLastLayerError: .firstPass))
                        XCTAssertEqual(firstPass.peakBytes - general.reusedBytes,
                                       sizes.bytes(.errors, count: batch * shape.classes), label + " first-pass e")
                    }
                }
            }
        }
        // Net1conv1fcXL, int8, batch 64: the figures BENCHMARKS quotes. BP: x 50,176 + pooled h 294,912 + winners
        // 73,728 + e 640 + the delta at the conv output 1,179,648 + weights and velocities 2 x 46,880.
        let sizes = try ElementSizes(precision: PrecisionConfig.preset(named: "int8")!)
        let net = try NetworkDescription(TestNetworks.net1conv1fcXL).resolve()
        XCTAssertEqual(try NetworkCostModel.storage(network: net, rule: .bp, batch: 64, sizes: sizes).reusedBytes,
                       50_176 + 294_912 + 73_728 + 640 + 1_179_648 + 2 * 46_880)
        // PEPITA: x_mod 50,176 + h and h_mod before pooling 2 x 1,179,648 + F 7,840 + weights and velocities.
        XCTAssertEqual(try NetworkCostModel.storage(network: net, rule: .pepita, batch: 64, sizes: sizes).reusedBytes,
                       50_176 + 2 * 1_179_648 + 7_840 + 2 * 46_880)
    }

    /// Dropout in the description model: the hidden dense stage's end gets `B n`
    /// multiplies per forward pass and per backward step; PEPITA stores its mask.
    func testDropoutIsCountedAtHiddenDenseStagesOnly() throws {
        let network = try NetworkDescription(TestNetworks.threeLayerFC).resolve()
        XCTAssertEqual(network.dropoutSites.map { network.layers[$0].kind }, [.relu, .relu])
        let off = try NetworkCostModel.operations(network: network, rule: .pepita, batch: 2)
        let on = try NetworkCostModel.operations(network: network, rule: .pepita, batch: 2, dropoutKeep: 0.5)
        let hidden = network.dropoutSites.reduce(0) { $0 + network.layers[$1].outputCount }
        for (a, b) in zip(on.phases, off.phases) {
            let passes = a.phase == .forward || a.phase == .modulatedForward ? 1 : 0
            XCTAssertEqual(a.total.multiplies - b.total.multiplies, passes * 2 * hidden, "\(a.phase)")
        }
        let sizes = ElementSizes.float32
        let masks = try NetworkCostModel.storage(network: network, rule: .pepita, batch: 8, sizes: sizes, dropoutKeep: 0.5)
        let plain = try NetworkCostModel.storage(network: network, rule: .pepita, batch: 8, sizes: sizes)
        XCTAssertEqual(masks.allKeptBytes - plain.allKeptBytes,
                       network.dropoutSites.reduce(0) { $0 + sizes.maskBytes(count: 8 * network.layers[$1].outputCount, bits: 1) })
        XCTAssertThrowsError(try NetworkCostModel.operations(network: network, rule: .bp, batch: 1, dropoutKeep: 0))
    }

    func storage(_ description: NetworkDescription, _ rule: TrainingRule) throws -> NetworkStorage {
        try NetworkCostModel.storage(network: try description.resolve(), rule: rule, batch: 1,
                                     sizes: try ElementSizes(precision: PrecisionConfig.preset(named: "int8")!))
    }

    func testStorageUnderBothAssumptionsCountedByHand() throws {
        // int8, one sample. PEPITA, every buffer kept: pass-1 activations 32 + 32 + 64 + 64 + 4 + 3 (flatten is a view),
        // the same again in the modulated pass; x and x_mod 32 each; e and e_mod 3 each;
        // weights 18 + 8 + 12 and as many velocities (1 byte each); F 32 x 3.
        let pepita = try storage(Self.depthwiseSeparable, .pepita)
        XCTAssertEqual(pepita.allKeptActivationBytes, 2 * 199)
        XCTAssertEqual(pepita.allKeptBytes, 2 * 199 + 2 * 32 + 2 * 3 + 2 * 38 + 96)
        // Reused: the peak is the modulated pointwise layer with its update: x_mod is dead, kept h(pw ReLU) 64,
        // h_mod(dw ReLU) 32 (the update's input) and h_mod(pw, then ReLU in place) 64, plus 38 + 38 + 96.
        XCTAssertEqual(pepita.reusedBytes, 64 + 32 + 64 + 2 * 38 + 96)
        // With two hidden layers "two layers alive" is everything: memory-saving PEPITA saves nothing here ...
        let saving = try storage(Self.depthwiseSeparable, .pepitaMemorySaving)
        XCTAssertGreaterThanOrEqual(saving.reusedActivationBytes, pepita.reusedActivationBytes)
        // ... but on a deep chain it holds two layers of each stream instead of every first-pass activation.
        // PEPITA peaks at the first modulated layer: x_mod (64, in place of x), kept h1..h5 (5 x 32), h1_mod (32).
        // The lockstep schedule peaks there too: x and x_mod (64 each), h1 recomputed and h1_mod (32 each).
        let deep = NetworkDescription(NetworkShape.fullyConnected([64, 32, 32, 32, 32, 32, 10]))
        let deepPepita = try storage(deep, .pepita), deepSaving = try storage(deep, .pepitaMemorySaving)
        XCTAssertEqual(deepPepita.reusedActivationBytes, 5 * 32 + 32)
        XCTAssertEqual(deepSaving.reusedActivationBytes, 2 * 32)
        XCTAssertEqual(deepPepita.reusedBytes - deepSaving.reusedBytes, (64 + 6 * 32) - (2 * 64 + 2 * 32))
        // BP keeps x (32), the dw ReLU output 32 (its derivative and pw's input), the pw ReLU output 64 only until
        // the pool reads it (its derivative is a 1-bit sign, 8 B), the flattened pool 4.
        let bp = try storage(Self.depthwiseSeparable, .bp)
        XCTAssertEqual(bp.allKeptActivationBytes, 199)
        XCTAssertGreaterThan(bp.allKeptBytes, bp.reusedBytes)
    }
}
