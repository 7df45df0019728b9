import HWModel
import XCTest

/// `CostModel.operations`: every rule and phase of the tiny networks counted by
/// hand, longhand, then the engine-sized networks' per-sample MACs.
final class OperationCountsTests: XCTestCase {
    private func counts(_ network: NetworkShape, _ rule: TrainingRule, batch: Int = 2,
                        options: StepOptions = StepOptions()) throws -> StepOperations {
        try CostModel.operations(network: network, rule: rule, batch: batch, options: options)
    }

    // MARK: fc 4-3-2, B = 2, dropout keep 0.9

    /// Layer 0: 2*4*3 = 24 MACs, ReLU 2*3 = 6 compares, dropout 2*3 = 6 multiplies.
    /// Layer 1: 2*3*2 = 12 MACs; softmax per sample (2 classes): 1 compare, 2 + 1 adds,
    /// 2 exps, 1 divide, 2 multiplies, times 2 samples; the error y - onehot, one
    /// subtraction per sample (at its label), 2 adds.
    private let tinyFCForward = [
        OperationCounts(macs: 24, multiplies: 6, compares: 6),
        OperationCounts(macs: 12, adds: 2 * 3 + 2, multiplies: 2 * 2, compares: 2 * 1, exps: 2 * 2, divides: 2 * 1),
    ]

    /// Per weight 2 multiplies + 2 adds: W0 has 12 weights, W1 6.
    private let tinyFCOptimiser = [OperationCounts(adds: 24, multiplies: 24), OperationCounts(adds: 12, multiplies: 12)]

    func testPepitaOnTinyFCByHand() throws {
        let step = try counts(TestNetworks.tinyFC, .pepita)
        XCTAssertEqual(step.phases.map(\.phase), [.forward, .errorProjection, .modulatedForward, .update, .optimiser])
        XCTAssertEqual(step[.forward]?.layers, tinyFCForward)
        // e · F^T: 2*2*4 = 16 MACs; x + eF^T: 2*4 = 8 adds.
        XCTAssertEqual(step[.errorProjection]?.outsideLayers, OperationCounts(macs: 16, adds: 8))
        XCTAssertEqual(step[.errorProjection]?.layers, [.zero, .zero])
        XCTAssertEqual(step[.modulatedForward]?.layers, tinyFCForward)
        // Layer 0: (h1 - h1_mod)^T x_mod, 3 x 2 x 4 = 24 MACs, 2*3 = 6 subtractions.
        // Layer 1: e_mod^T h1_mod, 2 x 2 x 3 = 12 MACs.
        XCTAssertEqual(step[.update]?.layers, [OperationCounts(macs: 24, adds: 6), OperationCounts(macs: 12)])
        XCTAssertEqual(step[.optimiser]?.layers, tinyFCOptimiser)
        XCTAssertEqual(step.total.macs, 36 + 16 + 36 + 36)
        XCTAssertEqual(step[.update]?.products.map(\.name), ["(h1 - h1_mod)^T · x_mod", "e_mod^T · h1_mod"])
    }

    func testPepitaSignAddsOneCompareForEachOutputError() throws {
        let step = try counts(TestNetworks.tinyFC, .pepitaSign)
        // sign(e): 2*2 = 4 compares; the products are unchanged.
        XCTAssertEqual(step[.errorProjection]?.outsideLayers, OperationCounts(macs: 16, adds: 8, compares: 4))
        let plain = try counts(TestNetworks.tinyFC, .pepita)
        XCTAssertEqual(step.total.macs, plain.total.macs)
        XCTAssertEqual(step.total.compares, plain.total.compares + 4)
    }

    func testBackpropFamilyOnTinyFCByHand() throws {
        for rule in [TrainingRule.bp, .fa, .dfa] {
            let step = try counts(TestNetworks.tinyFC, rule)
            XCTAssertEqual(step.phases.map(\.phase), [.forward, .backwardDelta, .weightGradient, .optimiser])
            XCTAssertEqual(step[.forward]?.layers, tinyFCForward, "\(rule)")
            // One delta, counted under layer 0: 2*2*3 = 12 MACs (BP delta1 · W1, FA delta1 · B1,
            // DFA e · D0, all 2 x 2 x 3 here), ReLU derivative h > 0, 2*3 = 6 compares, and the
            // dropout mask's 1/keep, 2*3 = 6 multiplies. None below layer 0.
            XCTAssertEqual(step[.backwardDelta]?.layers, [OperationCounts(macs: 12, multiplies: 6, compares: 6), .zero], "\(rule)")
            // dW0 = delta0^T x: 3 x 2 x 4 = 24; dW1 = e^T h1: 2 x 2 x 3 = 12.
            XCTAssertEqual(step[.weightGradient]?.layers, [OperationCounts(macs: 24), OperationCounts(macs: 12)], "\(rule)")
            XCTAssertEqual(step[.optimiser]?.layers, tinyFCOptimiser, "\(rule)")
        }
    }

    func testDropoutKeepOneRemovesTheMaskMultiplies() throws {
        let step = try counts(TestNetworks.tinyFC, .pepita, options: StepOptions(dropoutKeep: 1))
        XCTAssertEqual(step[.forward]?.layers[0], OperationCounts(macs: 24, compares: 6))
        let backprop = try counts(TestNetworks.tinyFC, .bp, options: StepOptions(dropoutKeep: 1))
        XCTAssertEqual(backprop[.backwardDelta]?.layers[0], OperationCounts(macs: 12, compares: 6))
    }

    /// The integer softmax divides every probability (`IntegerSoftmax`): per sample of
    /// 2 classes 2 divides and no multiplies, where the float softmax has 1 reciprocal and 2 multiplies.
    func testIntegerSoftmaxDividesEveryProbability() throws {
        let step = try counts(TestNetworks.tinyFC, .pepita, options: StepOptions(softmax: .integer))
        XCTAssertEqual(step[.forward]?.layers[1],
                       OperationCounts(macs: 12, adds: 2 * 3 + 2, compares: 2 * 1, exps: 2 * 2, divides: 2 * 2))
        XCTAssertEqual(step[.modulatedForward]?.layers[1], step[.forward]?.layers[1])
    }

    // MARK: fc 5-4-3-2, B = 2: where BP, FA and DFA differ

    func testBackwardDeltasOfThreeLayersByRule() throws {
        // BP/FA: to layer 1, delta2 · W2 = 2 x 2 x 3 = 12 MACs; to layer 0, delta1 · W1 = 2 x 3 x 4 = 24.
        // DFA: to layer 1, e · D1 = 2 x 2 x 3 = 12; to layer 0, e · D0 = 2 x 2 x 4 = 16.
        // Each plus, per activated scalar of the receiving layer (2*4 = 8 and 2*3 = 6), one
        // compare (ReLU derivative) and one multiply (dropout's 1/keep).
        let expected: [TrainingRule: [OperationCounts]] = [
            .bp: [OperationCounts(macs: 24, multiplies: 8, compares: 8), OperationCounts(macs: 12, multiplies: 6, compares: 6), .zero],
            .fa: [OperationCounts(macs: 24, multiplies: 8, compares: 8), OperationCounts(macs: 12, multiplies: 6, compares: 6), .zero],
            .dfa: [OperationCounts(macs: 16, multiplies: 8, compares: 8), OperationCounts(macs: 12, multiplies: 6, compares: 6), .zero],
        ]
        for (rule, layers) in expected {
            let step = try counts(TestNetworks.threeLayerFC, rule)
            XCTAssertEqual(step[.backwardDelta]?.layers, layers, "\(rule)")
        }
        let names = { (rule: TrainingRule) in try self.counts(TestNetworks.threeLayerFC, rule)[.backwardDelta]!.products.map(\.name) }
        XCTAssertEqual(try names(.bp), ["delta2 · W2", "delta1 · W1"])
        XCTAssertEqual(try names(.fa), ["delta2 · B2", "delta1 · B1"])
        XCTAssertEqual(try names(.dfa), ["e · D1", "e · D0"])
    }

    // MARK: 1x6x6 -> conv 2 ch 3x3 -> pool -> dense 8->3, B = 2

    /// Layer 0: 2*16*9*2 = 576 MACs; ReLU 2*32 = 64 compares; pool 3*2*8 = 48 compares (no dropout on conv).
    /// Layer 1: 2*8*3 = 48 MACs; softmax per sample (3 classes): 2 compares, 3 + 2 adds, 3 exps,
    /// 1 divide, 3 multiplies, times 2; the error, one subtraction per sample, 2 adds.
    private let tinyConvForward = [
        OperationCounts(macs: 576, compares: 64 + 48),
        OperationCounts(macs: 48, adds: 2 * 5 + 2, multiplies: 2 * 3, compares: 2 * 2, exps: 2 * 3, divides: 2 * 1),
    ]

    /// W0 has 2 x 9 = 18 weights, W1 3 x 8 = 24.
    private let tinyConvOptimiser = [OperationCounts(adds: 36, multiplies: 36), OperationCounts(adds: 48, multiplies: 48)]

    func testPepitaOnTinyConvByHand() throws {
        for rule in [TrainingRule.pepita, .pepitaSign] {
            let step = try counts(TestNetworks.tinyConv, rule)
            XCTAssertEqual(step[.forward]?.layers, tinyConvForward)
            // e · F^T: 2*3*36 = 216 MACs, x + eF^T: 2*36 = 72 adds; sign(e): 2*3 = 6 compares.
            XCTAssertEqual(step[.errorProjection]?.outsideLayers,
                           OperationCounts(macs: 216, adds: 72, compares: rule == .pepitaSign ? 6 : 0))
            XCTAssertEqual(step[.modulatedForward]?.layers, tinyConvForward)
            // Conv: sum over 16 positions of outer(h - h_mod, patch): 2 x (2*16) x 9 = 576 MACs,
            // h - h_mod before pooling: 2*32 = 64 subtractions. Dense: e^T h1_mod, 3 x 2 x 8 = 48.
            XCTAssertEqual(step[.update]?.layers, [OperationCounts(macs: 576, adds: 64), OperationCounts(macs: 48)])
            XCTAssertEqual(step[.optimiser]?.layers, tinyConvOptimiser)
        }
        // The conv reference's default: the last layer learns from the first-pass error.
        XCTAssertEqual(try counts(TestNetworks.tinyConv, .pepita)[.update]?.products.map(\.name),
                       ["(h1 - h1_mod)^T · patches(x_mod)", "e^T · h1_mod"])
    }

    func testBackpropFamilyOnTinyConvByHand() throws {
        for rule in [TrainingRule.bp, .fa, .dfa] {
            let step = try counts(TestNetworks.tinyConv, rule)
            XCTAssertEqual(step[.forward]?.layers, tinyConvForward, "\(rule)")
            // To layer 0: 2 x 3 x 8 = 48 MACs (BP delta1 · W1, FA delta1 · B1, DFA e · D0);
            // routing through the pool, 2*8 = 16 adds; ReLU derivative, 2*32 = 64 compares (no dropout on a conv).
            XCTAssertEqual(step[.backwardDelta]?.layers, [OperationCounts(macs: 48, adds: 16, compares: 64), .zero], "\(rule)")
            // dW0: 2 x (2*16) x 9 = 576; dW1: 3 x 2 x 8 = 48.
            XCTAssertEqual(step[.weightGradient]?.layers, [OperationCounts(macs: 576), OperationCounts(macs: 48)], "\(rule)")
            XCTAssertEqual(step[.optimiser]?.layers, tinyConvOptimiser, "\(rule)")
        }
    }

    func testEveryProductsMacsAddUpToItsPhase() throws {
        for network in [TestNetworks.tinyFC, TestNetworks.threeLayerFC, TestNetworks.tinyConv, TestNetworks.net1conv1fcXL] {
            for rule in TrainingRule.engineRules {
                for phase in try counts(network, rule, batch: 3).phases {
                    XCTAssertEqual(phase.products.reduce(0) { $0 + $1.macs }, phase.total.macs, "\(network.name) \(rule) \(phase.phase)")
                }
            }
        }
    }

    func testBackpropRefusesAConvolutionAboveTheFirstLayer() {
        let network = NetworkShape(name: "two-conv", input: InputShape(channels: 1, height: 8, width: 8), classes: 2, layers: [
            .conv(inputChannels: 1, inputHeight: 8, inputWidth: 8, outChannels: 2, kernel: 3, maxPool2x2: false),
            .conv(inputChannels: 2, inputHeight: 6, inputWidth: 6, outChannels: 2, kernel: 3, maxPool2x2: true),
            .dense(inputs: 8, outputs: 2)])
        XCTAssertThrowsError(try counts(network, .bp)) { error in
            XCTAssertEqual("\(error)", "layers[1]: rule bp: a convolution above the first layer needs an input gradient, which the engine does not implement")
        }
        XCTAssertNoThrow(try counts(network, .dfa))
        XCTAssertNoThrow(try counts(network, .pepita))
    }

    // MARK: engine-sized networks

    /// The team measured 2,447,008 (PEPITA) and 1,636,352 (BP) MACs per sample on fc 784-1024-10:
    /// forward 784*1024 + 1024*10 = 813,056; PEPITA = 3 * 813,056 + 10*784; BP = 2 * 813,056 + 10*1024.
    func testFC784PerSampleMacsMatchTheMeasuredFigures() throws {
        let network = NetworkShape.fullyConnected([784, 1024, 10])
        XCTAssertEqual(try counts(network, .pepita, batch: 64).total.macs, 64 * 2_447_008)
        XCTAssertEqual(try counts(network, .pepitaSign, batch: 64).total.macs, 64 * 2_447_008)
        XCTAssertEqual(try counts(network, .bp, batch: 64).total.macs, 64 * 1_636_352)
        XCTAssertEqual(try counts(network, .fa, batch: 64).total.macs, 64 * 1_636_352)
        XCTAssertEqual(try counts(network, .dfa, batch: 64).total.macs, 64 * 1_636_352)
    }

    /// Net1conv1fcXL: conv 576 positions x 25 x 32 = 460,800, dense 4608*10 = 46,080 per sample.
    func testNet1conv1fcXLPerSampleMacs() throws {
        let network = TestNetworks.net1conv1fcXL
        XCTAssertEqual(try counts(network, .pepita, batch: 50).total.macs, 50 * (3 * 506_880 + 10 * 784))
        XCTAssertEqual(try counts(network, .bp, batch: 50).total.macs, 50 * (2 * 506_880 + 46_080))
    }

    func testAnEpochIsTheFullBatchesPlusTheLastPartialOne() throws {
        // 5 samples in batches of 2: two steps of 2 and one of 1; the optimiser runs 3 times.
        let epoch = try CostModel.epochOperations(network: TestNetworks.tinyFC, rule: .bp, batch: 2, samples: 5)
        XCTAssertEqual(epoch.fullBatches, 2)
        XCTAssertEqual(epoch.lastBatchSize, 1)
        let two = try counts(TestNetworks.tinyFC, .bp, batch: 2), one = try counts(TestNetworks.tinyFC, .bp, batch: 1)
        XCTAssertEqual(epoch.total, 2 * two.total + one.total)
        // Per sample: forward 4*3 + 3*2, delta 2*3, gradients 4*3 + 3*2.
        XCTAssertEqual(epoch.total.macs, 5 * ((4 * 3 + 3 * 2) + 2 * 3 + (4 * 3 + 3 * 2)))
        XCTAssertEqual(epoch.phases.first { $0.phase == .optimiser }?.operations, OperationCounts(adds: 3 * 36, multiplies: 3 * 36))
    }

    func testBadRequestsAreErrorsNamingTheProblem() {
        XCTAssertThrowsError(try counts(TestNetworks.tinyFC, .bp, batch: 0)) { XCTAssertEqual("\($0)", "batch: must be > 0, got 0") }
        XCTAssertThrowsError(try counts(TestNetworks.tinyFC, .bp, options: StepOptions(dropoutKeep: 0))) {
            XCTAssertEqual("\($0)", "dropoutKeep: must be in (0, 1], got 0.0")
        }
    }

    /// A network of one dense layer has no hidden layer and sends no delta.
    func testOneDenseLayerCostsForEveryRule() throws {
        let network = NetworkShape.fullyConnected([4, 2])
        for rule in TrainingRule.engineRules {
            let step = try counts(network, rule)
            // Forward: 2*4*2 = 16 MACs; softmax (2 classes) and the error, no ReLU, no dropout.
            XCTAssertEqual(step[.forward]?.layers,
                           [OperationCounts(macs: 16, adds: 2 * 3 + 2, multiplies: 4, compares: 2, exps: 4, divides: 2)])
            XCTAssertEqual(step[.backwardDelta]?.total ?? .zero, .zero)
            XCTAssertNoThrow(try StorageModel.peak(network: network, rule: rule, batch: 2, sizes: .float32))
        }
    }
}
