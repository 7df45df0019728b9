import PepitaEngine
import TestSupport
import XCTest

/// BP, FA and DFA (`Backprop`). BP's summed updates divided by the batch must be
/// the gradient of the mean cross-entropy, which is checked against central
/// differences of that loss computed longhand in `Double` (from the same Float
/// weights, same dropout masks); FA and DFA reduce to BP when their feedback
/// matrices are the weights, and otherwise follow the longhand feedback path.
final class BackpropTests: XCTestCase {
    private struct Case {
        var architecture: Architecture
        var weights: [Matrix]
        var input: Matrix
        var labels: [Int]
        var masks: [Matrix?]

        var network: Network { Network(architecture: architecture, weights: weights) }
        var targets: Matrix { Oracle.matrix(Oracle.oneHot(labels, classes: architecture.classCount)) }
        var gridMasks: [Grid?] { masks.map { $0.map(Oracle.grid) } }
    }

    private static func dense(_ sizes: [Int], batch: Int, seed: UInt64) -> Case {
        var values = TestValues(seed: seed)
        let layers = zip(sizes, sizes.dropFirst()).map { LayerSpec.dense(inputs: $0, outputs: $1) }
        let architecture = Architecture(name: "fc:" + sizes.map(String.init).joined(separator: "-"),
                                        input: SampleShape(channels: 1, height: 1, width: sizes[0]),
                                        classCount: sizes.last!, layers: layers)
        let weights = layers.map { values.matrix($0.weightShape.rows, $0.weightShape.columns, scale: 0.9) }
        let input = values.matrix(batch, sizes[0], in: 0, 1)
        let labels = (0..<batch).map { $0 % sizes.last! }
        // Inverted dropout with keep 0.8: unit (b, j) dropped when (b + 2j) % 5 == 1.
        let masks: [Matrix?] = layers.enumerated().map { index, layer in
            guard index < layers.count - 1 else { return nil }
            var mask = Matrix(zeros: batch, layer.outputCount)
            for b in 0..<batch {
                for j in 0..<layer.outputCount { mask[b, j] = (b + 2 * j) % 5 == 1 ? 0 : 1 / 0.8 }
            }
            return mask
        }
        return Case(architecture: architecture, weights: weights, input: input, labels: labels, masks: masks)
    }

    /// conv 2x6x7 -> 3 channels, 3x3 kernel, ReLU, 2x2 max pool (3x2x2 = 12) -> dense 12 -> 3; batch 2.
    private static func convolutional(seed: UInt64) -> Case {
        var values = TestValues(seed: seed)
        let shape = SampleShape(channels: 2, height: 6, width: 7)
        let conv = LayerSpec.conv(input: shape, outChannels: 3, kernelSize: 3, maxPool: true)
        let architecture = Architecture(name: "tiny-conv", input: shape, classCount: 3,
                                        layers: [conv, .dense(inputs: conv.outputCount, outputs: 3)])
        let weights = [values.matrix(3, 18, scale: 0.5), values.matrix(3, 12, scale: 0.8)]
        return Case(architecture: architecture, weights: weights, input: values.matrix(2, 84, in: 0, 1),
                    labels: [2, 0], masks: [nil, nil])
    }

    private func finiteDifferenceGradients(_ testCase: Case) -> [Grid] {
        let input = Oracle.grid(testCase.input), masks = testCase.gridMasks
        let loss: ([Grid]) -> Double = { weights in
            Oracle.meanCrossEntropy(testCase.architecture, weights: weights, input: input, masks: masks,
                                    labels: testCase.labels)
        }
        let weights = testCase.weights.map(Oracle.grid)
        return weights.indices.map { Oracle.centralDifferences(of: loss, at: weights, layer: $0, step: 1e-6) }
    }

    private func assertBackpropMatchesFiniteDifferences(_ testCase: Case, file: StaticString = #filePath, line: UInt = #line) {
        let step = Backprop(kind: .bp).step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init),
                                            masks: testCase.masks, threads: 1)
        let batch = Double(testCase.input.rows)
        let gradients = finiteDifferenceGradients(testCase)
        for layer in gradients.indices {
            XCTAssertGreaterThan(gradients[layer].joined().map(abs).max()!, 1e-3, "layer \(layer) gradient is trivial",
                                 file: file, line: line)
            let mean = Oracle.matrix(Oracle.scaled(Oracle.grid(step.updates[layer]), by: 1 / batch))
            XCTAssertNil(Oracle.mismatch(mean, gradients[layer], absolute: 1e-6, relative: 1e-4),
                         "\(testCase.architecture.name), layer \(layer): update / batch vs central differences",
                         file: file, line: line)
        }
    }

    // MARK: BP is the gradient

    func testBackpropUpdateOverBatchIsTheMeanCrossEntropyGradientWithDropout() {
        assertBackpropMatchesFiniteDifferences(Self.dense([5, 4, 3], batch: 4, seed: 21))
    }

    func testBackpropIsTheGradientThroughTwoHiddenLayers() {
        assertBackpropMatchesFiniteDifferences(Self.dense([5, 4, 3, 2], batch: 3, seed: 22))
    }

    func testBackpropIsTheGradientThroughConvolutionAndMaxPool() {
        assertBackpropMatchesFiniteDifferences(Self.convolutional(seed: 23))
    }

    func testOutputDeltaIsProbabilitiesMinusOneHot() {
        // With a single layer, dW = (y - onehot)^T x exactly.
        let testCase = Self.dense([5, 3], batch: 3, seed: 24)
        let step = Backprop(kind: .bp).step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init),
                                            masks: testCase.masks, threads: 1)
        let pass = Oracle.forward(testCase.architecture, weights: testCase.weights.map(Oracle.grid),
                                  input: Oracle.grid(testCase.input))
        let delta = Oracle.difference(pass.probabilities, Oracle.oneHot(testCase.labels, classes: 3))
        XCTAssertNil(Oracle.mismatch(step.updates[0], Oracle.transposedTimes(delta, Oracle.grid(testCase.input)),
                                     absolute: 1e-6, relative: 1e-5))
    }

    // MARK: FA and DFA

    func testFeedbackAlignmentWithFeedbackEqualToTheWeightsIsBackprop() {
        let testCase = Self.dense([5, 4, 3, 2], batch: 3, seed: 25)
        let feedback = [Matrix(zeros: 0, 0)] + testCase.weights.dropFirst()
        let fa = Backprop(kind: .fa, feedback: feedback)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        let bp = Backprop(kind: .bp)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        XCTAssertEqual(fa.updates, bp.updates)
    }

    func testDirectFeedbackAlignmentOnOneHiddenLayerWithFeedbackEqualToTheWeightsIsBackprop() {
        let testCase = Self.dense([5, 4, 3], batch: 4, seed: 26)
        let dfa = Backprop(kind: .dfa, feedback: [testCase.weights[1], Matrix(zeros: 0, 0)])
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        let bp = Backprop(kind: .bp)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        XCTAssertEqual(dfa.updates, bp.updates)
    }

    func testFeedbackAlignmentSendsTheDeltaBackThroughItsFixedMatrices() {
        let testCase = Self.dense([5, 4, 3, 2], batch: 3, seed: 27)
        var values = TestValues(seed: 28)
        let feedback = [Matrix(zeros: 0, 0), values.matrix(3, 4, scale: 1), values.matrix(2, 3, scale: 1)]
        let step = Backprop(kind: .fa, feedback: feedback)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        let weights = testCase.weights.map(Oracle.grid)
        let pass = Oracle.forward(testCase.architecture, weights: weights, input: Oracle.grid(testCase.input),
                                  masks: testCase.gridMasks)
        let expected = Oracle.denseFeedbackUpdates(pass, weights: weights, targets: Oracle.grid(testCase.targets),
                                                   masks: testCase.gridMasks,
                                                   path: .feedbackAlignment(feedback.map(Oracle.grid)))
        for layer in expected.indices {
            XCTAssertNil(Oracle.mismatch(step.updates[layer], expected[layer], absolute: 1e-6, relative: 1e-5), "layer \(layer)")
        }
    }

    func testDirectFeedbackAlignmentSendsTheFileErrorToEveryHiddenLayer() {
        let testCase = Self.dense([5, 4, 3, 2], batch: 3, seed: 29)
        var values = TestValues(seed: 30)
        let feedback = [values.matrix(2, 4, scale: 1), values.matrix(2, 3, scale: 1), Matrix(zeros: 0, 0)]
        let step = Backprop(kind: .dfa, feedback: feedback)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        let weights = testCase.weights.map(Oracle.grid)
        let pass = Oracle.forward(testCase.architecture, weights: weights, input: Oracle.grid(testCase.input),
                                  masks: testCase.gridMasks)
        let expected = Oracle.denseFeedbackUpdates(pass, weights: weights, targets: Oracle.grid(testCase.targets),
                                                   masks: testCase.gridMasks, path: .direct(feedback.map(Oracle.grid)))
        for layer in expected.indices {
            XCTAssertNil(Oracle.mismatch(step.updates[layer], expected[layer], absolute: 1e-6, relative: 1e-5), "layer \(layer)")
        }
    }

    func testLonghandBackpropOracleAgreesWithTheEngine() {
        let testCase = Self.dense([5, 4, 3, 2], batch: 3, seed: 31)
        let step = Backprop(kind: .bp)
            .step(network: testCase.network, input: testCase.input, labels: testCase.labels.map(Int32.init), masks: testCase.masks, threads: 1)
        let weights = testCase.weights.map(Oracle.grid)
        let pass = Oracle.forward(testCase.architecture, weights: weights, input: Oracle.grid(testCase.input),
                                  masks: testCase.gridMasks)
        let expected = Oracle.denseFeedbackUpdates(pass, weights: weights, targets: Oracle.grid(testCase.targets),
                                                   masks: testCase.gridMasks, path: .backprop)
        for layer in expected.indices {
            XCTAssertNil(Oracle.mismatch(step.updates[layer], expected[layer], absolute: 1e-6, relative: 1e-5), "layer \(layer)")
        }
    }

    func testRandomFeedbackMatricesHaveTheShapesEachRuleNeeds() {
        let architecture = Self.dense([5, 4, 3, 2], batch: 1, seed: 32).architecture
        let fa = Backprop.randomFeedback(kind: .fa, architecture: architecture, seed: 7)
        XCTAssertEqual(fa.map { [$0.rows, $0.columns] }, [[0, 0], [3, 4], [2, 3]])
        let dfa = Backprop.randomFeedback(kind: .dfa, architecture: architecture, seed: 7)
        XCTAssertEqual(dfa.map { [$0.rows, $0.columns] }, [[2, 4], [2, 3], [0, 0]])
        XCTAssertTrue(Backprop.randomFeedback(kind: .bp, architecture: architecture, seed: 7).isEmpty)
        XCTAssertEqual(fa, Backprop.randomFeedback(kind: .fa, architecture: architecture, seed: 7), "same seed, same matrices")
        XCTAssertNotEqual(fa, Backprop.randomFeedback(kind: .fa, architecture: architecture, seed: 8))
        // he_uniform bound sqrt(6 / fan-in), fan-in the column count.
        XCTAssertTrue(fa[1].values.allSatisfy { abs($0) <= Float((6.0 / 4).squareRoot()) })
        XCTAssertEqual(Set(Backprop(kind: .fa, feedback: fa).fixedMatrices.keys), ["B1", "B2"])
    }
}
