import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// The engine's operation counters on a tiny network, every count worked out
/// by hand below: fc 3-2-2 (W0 is 2 x 3, W1 is 2 x 2, F is 3 x 2), batch 2,
/// a dropout mask on the hidden layer.
final class OperationRecorderTests: XCTestCase {
    private let architecture = Architecture(name: "fc:3-2-2", input: SampleShape(channels: 1, height: 1, width: 3), classCount: 2,
                                            layers: [.dense(inputs: 3, outputs: 2), .dense(inputs: 2, outputs: 2)])
    private let weights = [Matrix(rowsOf: [[0.4, -0.3, 0.2], [-0.2, 0.6, 0.1]]), Matrix(rowsOf: [[0.7, -0.5], [-0.6, 0.4]])]
    private let projection = Matrix(rowsOf: [[0.05, -0.04], [-0.03, 0.06], [0.02, 0.01]])
    private let input = Matrix(rowsOf: [[0.5, 0.2, 0.9], [0.3, 0.8, 0.4]])
    private let labels: [Int32] = [0, 1]
    private let masks: [Matrix?] = [Matrix(rowsOf: [[1 / 0.9, 0], [1 / 0.9, 1 / 0.9]]), nil]

    /// Layer 0: x · W0^T, 2*3*2 = 12 MACs; ReLU 2*2 = 4 compares; dropout 4 multiplies.
    /// Layer 1: h1 · W1^T, 2*2*2 = 8 MACs; float softmax per row of 2: 1 compare,
    /// 2 subtractions + 1 add, 2 exps, 1 reciprocal, 2 multiplies; the error
    /// y - onehot, 1 subtraction per row. Over 2 rows: 6 + 2 = 8 adds.
    private let floatForward = [OperationTally(macs: 12, multiplies: 4, compares: 4),
                                OperationTally(macs: 8, adds: 8, multiplies: 4, compares: 2, exps: 4, divides: 2)]
    /// Per weight 2 multiplies and 2 adds: W0 has 6 weights, W1 4.
    private let optimiser = [OperationTally(adds: 12, multiplies: 12), OperationTally(adds: 8, multiplies: 8)]

    func testFloatPepitaStepCountedByHand() {
        let engine = FloatEngine(network: Network(architecture: architecture, weights: weights),
                                 rule: Pepita(projection: projection, lastLayerError: .modulated), momentum: 0.9, threads: 1)
        let recorder = OperationRecorder()
        engine.operationRecorder = recorder
        _ = engine.trainStep(input: input, labels: labels, masks: masks, learningRate: 0.1)
        let recorded = recorder.recorded
        XCTAssertEqual(recorded.steps, 1)
        XCTAssertEqual(recorded.phases.map(\.phase), [.forward, .errorProjection, .modulatedForward, .update, .optimiser])
        XCTAssertEqual(recorded[.forward]?.layers, floatForward)
        // e · F^T accumulated into x: 2*2*3 = 12 MACs and 2*3 = 6 adds, outside any layer.
        XCTAssertEqual(recorded[.errorProjection]?.layers, [])
        XCTAssertEqual(recorded[.errorProjection]?.outsideLayers, OperationTally(macs: 12, adds: 6))
        XCTAssertEqual(recorded[.modulatedForward]?.layers, floatForward)
        // Layer 0: h1 - h1_mod, 4 subtractions; (h1 - h1_mod)^T x_mod, 2 x 2 x 3 = 12 MACs.
        // Layer 1: e_mod^T h1_mod, 2 x 2 x 2 = 8 MACs.
        XCTAssertEqual(recorded[.update]?.layers, [OperationTally(macs: 12, adds: 4), OperationTally(macs: 8)])
        XCTAssertEqual(recorded[.optimiser]?.layers, optimiser)
        // Traffic, 4 bytes per element: the forward pass reads W0 and W1 once (24 + 16),
        // x (2*3*4 = 24) and h1 (2*2*4 = 16), and writes h1 and the logits (16 each).
        let forward = recorded[.forward]!.traffic
        XCTAssertEqual(forward.bytesRead, [.weights: 40, .modulatedInput: 24, .activations: 16])
        XCTAssertEqual(forward.bytesWritten, [.activations: 16, .errors: 16])
        // Per layer: layer 0 reads W0 (24) and x (24), layer 1 reads W1 (16) and h1 (16).
        XCTAssertEqual(recorded[.forward]!.layerTraffic.map(\.bytesRead),
                       [[.weights: 24, .modulatedInput: 24], [.weights: 16, .activations: 16]])
        XCTAssertEqual(recorded[.errorProjection]!.layerTraffic, [], "the error projection belongs to no layer")
        // The error projection reads e (16), F (24) and x (24), writes x_mod (24).
        XCTAssertEqual(recorded[.errorProjection]!.traffic.bytesRead, [.errors: 16, .projection: 24, .modulatedInput: 24])
        XCTAssertEqual(recorded[.errorProjection]!.traffic.bytesWritten, [.modulatedInput: 24])
        // The optimiser reads every weight, velocity and update once and writes weights and velocities.
        XCTAssertEqual(recorded[.optimiser]!.traffic.bytesRead, [.weights: 40, .optimiserState: 40, .updates: 40])
        XCTAssertEqual(recorded[.optimiser]!.traffic.bytesWritten, [.weights: 40, .optimiserState: 40])
    }

    func testFixedPointBackpropStepCountedByHand() throws {
        let config = TrainingConfig(model: "fc:3-2-2", rule: .bp, dataset: "none", epochs: 1, batchSize: 2, learningRate: 0.1,
                                    decayEpochs: [], lastLayerError: .modulated, precision: .preset(named: "int8")!)
        let engine = try FixedPointEngine(precision: config.precision, architecture: architecture, weights: weights, rule: .bp,
                                          projection: nil, feedback: [], training: config)
        let recorder = OperationRecorder()
        engine.operationRecorder = recorder
        _ = engine.trainStep(input: input, labels: labels, masks: masks, learningRate: 0.1)
        let recorded = recorder.recorded
        XCTAssertEqual(recorded.phases.map(\.phase), [.forward, .backwardDelta, .weightGradient, .optimiser])
        // As the float forward pass, but the integer softmax divides each of the
        // 2 x 2 probabilities and has no reciprocal or multiplies.
        XCTAssertEqual(recorded[.forward]?.layers, [OperationTally(macs: 12, multiplies: 4, compares: 4),
                                                    OperationTally(macs: 8, adds: 8, compares: 2, exps: 4, divides: 4)])
        // To layer 0: delta1 · W1, 2 x 2 x 2 = 8 MACs; ReLU derivative 4 compares;
        // dropout's 1/keep as a multiply-shift, 4 multiplies.
        XCTAssertEqual(recorded[.backwardDelta]?.layers, [OperationTally(macs: 8, multiplies: 4, compares: 4)])
        // dW0 = delta0^T x, 2 x 2 x 3 = 12; dW1 = e^T h1, 2 x 2 x 2 = 8.
        XCTAssertEqual(recorded[.weightGradient]?.layers, [OperationTally(macs: 12), OperationTally(macs: 8)])
        // m * v and s * dW (2 multiplies), v + u and W - v (2 adds) per weight.
        XCTAssertEqual(recorded[.optimiser]?.layers, optimiser)
        // int8 weights are 1 byte: the forward pass reads 6 + 4; the products write
        // 32-bit exact sums, 2*2 per layer, 4 bytes each.
        XCTAssertEqual(recorded[.forward]!.traffic.bytesRead[.weights], 10)
        XCTAssertEqual(recorded[.forward]!.traffic.accumulatorBytesWritten, 32)
        XCTAssertEqual(recorded[.forward]!.traffic.bytesWritten, [:])
    }

    func testNoRecorderCountsNothingAndResetClears() {
        let engine = FloatEngine(network: Network(architecture: architecture, weights: weights),
                                 rule: Backprop(kind: .bp), momentum: 0.9, threads: 1)
        _ = engine.trainStep(input: input, labels: labels, masks: masks, learningRate: 0.1)
        let recorder = OperationRecorder()
        engine.operationRecorder = recorder
        _ = engine.trainStep(input: input, labels: labels, masks: masks, learningRate: 0.1)
        _ = engine.trainStep(input: input, labels: labels, masks: masks, learningRate: 0.1)
        XCTAssertEqual(recorder.recorded.steps, 2, "only the steps with a recorder")
        XCTAssertEqual(recorder.recorded[.optimiser]?.layers, optimiser.map { OperationTally(adds: 2 * $0.adds, multiplies: 2 * $0.multiplies) })
        // Backprop with dropout: the ReLU derivative (4 compares) and the mask (4 multiplies), per step.
        XCTAssertEqual(recorder.recorded[.backwardDelta]?.layers, [OperationTally(macs: 16, multiplies: 8, compares: 8)])
        recorder.reset()
        XCTAssertEqual(recorder.recorded, RecordedOperations())
    }
}
