import PepitaEngine
import TestSupport
import XCTest

/// One PEPITA step (SPEC §3) against the same step written out longhand in
/// `Double` below: first pass, `e = y - onehot`, `x_mod = x + e F^T`, a second
/// pass with the same dropout masks, hidden `dW_l = (h_l - h_l^mod)^T h_{l-1}^mod`,
/// last layer `e_mod^T h_{L-1}^mod` or `e^T h_{L-1}^mod`; convolutions summed over
/// output positions and divided by positions (and by the batch when asked).
final class PepitaStepTests: XCTestCase {
    // MARK: Longhand PEPITA

    private struct LonghandStep {
        var updates: [Grid]
        var firstPass: Oracle.Pass
        var modulatedInput: Grid
    }

    private func longhandPepita(_ architecture: Architecture, weights: [Grid], projection: Grid, input: Grid,
                                labels: [Int], masks: [Grid?], projectSign: Bool = false,
                                lastLayerError: LastLayerError, batchAverageTwice: Bool = true) -> LonghandStep {
        let batch = input.count, classes = architecture.classCount
        let first = Oracle.forward(architecture, weights: weights, input: input, masks: masks)
        var error = Oracle.zeros(batch, classes)
        for b in 0..<batch {
            for c in 0..<classes { error[b][c] = first.probabilities[b][c] - (labels[b] == c ? 1 : 0) }
        }
        var modulatedInput = input
        for b in 0..<batch {
            for i in 0..<input[b].count {
                for c in 0..<classes {
                    let projected = projectSign ? (error[b][c] > 0 ? 1.0 : (error[b][c] < 0 ? -1.0 : 0.0)) : error[b][c]
                    modulatedInput[b][i] += projected * projection[i][c]
                }
            }
        }
        let modulated = Oracle.forward(architecture, weights: weights, input: modulatedInput, masks: masks)
        var updates: [Grid] = []
        for (l, layer) in architecture.layers.enumerated() {
            var update = Oracle.zeros(weights[l].count, weights[l][0].count)
            let below = modulated.inputs[l]  // h_{l-1}^mod
            if l == architecture.layers.count - 1 {
                for b in 0..<batch {
                    for o in 0..<classes {
                        let modulatedError = modulated.probabilities[b][o] - (labels[b] == o ? 1 : 0)
                        let delta = lastLayerError == .modulated ? modulatedError : error[b][o]
                        for i in below[b].indices { update[o][i] += delta * below[b][i] }
                    }
                }
            } else if case let .conv(shape, outChannels, k, _) = layer {
                let outShape = layer.convolutionOutputShape!
                let positions = outShape.height * outShape.width
                for b in 0..<batch {
                    for oc in 0..<outChannels {
                        for oy in 0..<outShape.height {
                            for ox in 0..<outShape.width {
                                let at = (oc * outShape.height + oy) * outShape.width + ox
                                let delta = first.activated[l][b][at] - modulated.activated[l][b][at]
                                for c in 0..<shape.channels {
                                    for ky in 0..<k {
                                        for kx in 0..<k {
                                            let pixel = below[b][(c * shape.height + oy + ky) * shape.width + ox + kx]
                                            update[oc][(c * k + ky) * k + kx] += delta * pixel
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                let divisor = Double(positions) * (batchAverageTwice ? Double(batch) : 1)
                update = Oracle.scaled(update, by: 1 / divisor)
            } else {
                for b in 0..<batch {
                    for j in update.indices {
                        let delta = first.activated[l][b][j] - modulated.activated[l][b][j]
                        for i in below[b].indices { update[j][i] += delta * below[b][i] }
                    }
                }
            }
            updates.append(update)
        }
        return LonghandStep(updates: updates, firstPass: first, modulatedInput: modulatedInput)
    }

    // MARK: Fixtures

    /// conv 1x6x6 -> 2 channels, 3x3 kernel, ReLU, 2x2 max pool (2x2x2 = 8) -> dense 8 -> 3; batch 2.
    private struct ConvNetwork {
        let architecture: Architecture = {
            let conv = LayerSpec.conv(input: SampleShape(channels: 1, height: 6, width: 6), outChannels: 2,
                                      kernelSize: 3, maxPool: true)
            return Architecture(name: "tiny-conv", input: SampleShape(channels: 1, height: 6, width: 6), classCount: 3,
                                layers: [conv, .dense(inputs: conv.outputCount, outputs: 3)])
        }()
        let weights: [Matrix]
        let projection: Matrix
        let input: Matrix
        let labels = [1, 2]
        init() {
            var values = TestValues(seed: 12)
            weights = [values.matrix(2, 9, scale: 0.6), values.matrix(3, 8, scale: 0.8)]
            projection = values.matrix(36, 3, scale: 0.5)
            input = values.matrix(2, 36, in: 0, 1)
        }
        var network: Network { Network(architecture: architecture, weights: weights) }
        var targets: Matrix { Oracle.matrix(Oracle.oneHot(labels, classes: 3)) }
    }

    private func assertUpdates(_ got: [Matrix], equal expected: [Grid], absolute: Double = 1e-5, relative: Double = 1e-4,
                               _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, context, file: file, line: line)
        for (layer, (matrix, grid)) in zip(got, expected).enumerated() {
            let largest = grid.joined().map(abs).max() ?? 0
            XCTAssertGreaterThan(largest, 100 * absolute, "\(context), layer \(layer): update too small to test",
                                 file: file, line: line)
            XCTAssertNil(Oracle.mismatch(matrix, grid, absolute: absolute, relative: relative),
                         "\(context), layer \(layer)", file: file, line: line)
        }
    }

    // MARK: Fully connected

    func testPassesWithPackedWeightsEqualPassesWithoutThem() throws {
        // Pepita.step packs each dense layer's W^T once for both passes: every
        // layer's output must be the floats of the unpacked pass, on every kernel
        // path and thread count, with dropout masks, for dense and conv networks.
        let cases: [(String, SampleShape)] = [("fc:200-300-40-10", SampleShape(channels: 1, height: 10, width: 20)),
                                              ("Net1conv1fcXL", SampleShape(channels: 1, height: 12, width: 12))]
        for (name, shape) in cases {
            let architecture = try Architecture.named(name, input: shape, classCount: 10)
            let network = Network(heUniform: architecture, seed: 3)
            var random = RandomStream(seed: 4, purpose: .dropout)
            let input = Matrix(rows: 64, columns: shape.featureCount,
                               values: (0..<(64 * shape.featureCount)).map { _ in random.nextUnitFloat() })
            let masks = dropoutMasks(for: architecture, batch: 64, keep: 0.9, random: &random)
            forEveryKernelPath { path in
                for threads in [1, 2] {
                    let plain = network.forward(input, masks: masks, threads: threads)
                    let packed = network.forward(input, masks: masks,
                                                 packedWeights: network.packedTransposedWeights(threads: threads),
                                                 threads: threads)
                    for (index, (a, b)) in zip(plain.layers, packed.layers).enumerated() {
                        XCTAssertEqual(a.output.values.map(\.bitPattern), b.output.values.map(\.bitPattern),
                                       "\(name) layer \(index), \(path), \(threads) threads")
                    }
                }
            }
        }
    }

    func testArchitectureOfTheFixturesIsWhatTheTestsAssume() {
        XCTAssertEqual(ConvNetwork().architecture.layers[0].outputCount, 8)
        XCTAssertEqual(ConvNetwork().architecture.layers[0].convolutionOutputShape,
                       SampleShape(channels: 2, height: 4, width: 4))
    }

    func testFirstPassIsTheStandardForwardPassWithTheMasks() {
        let fixture = DenseFixture.small
        let rule = Pepita(projection: fixture.projection, lastLayerError: .modulated)
        let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                             masks: fixture.masks, threads: 1)
        let expected = Oracle.forward(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                      input: Oracle.grid(fixture.input), masks: fixture.masks.map { $0.map(Oracle.grid) })
        XCTAssertNil(Oracle.mismatch(step.firstPass.probabilities, expected.probabilities, absolute: 1e-6))
        XCTAssertNil(Oracle.mismatch(step.firstPass.layers[0].activated, expected.activated[0], absolute: 1e-6))
        XCTAssertEqual(step.firstPass.layers[0].activated[0, 1], 0, "the dropped unit is zero")
        XCTAssertEqual(step.firstPass.layers[0].activated[0, 2], 0, "the inactive unit is zero")
    }

    func testUpdatesMatchLonghandWithModulatedLastLayerError() {
        let fixture = DenseFixture.small
        let rule = Pepita(projection: fixture.projection, lastLayerError: .modulated)
        let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                             masks: fixture.masks, threads: 1)
        let expected = longhandPepita(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                      projection: Oracle.grid(fixture.projection), input: Oracle.grid(fixture.input),
                                      labels: fixture.labels, masks: fixture.masks.map { $0.map(Oracle.grid) },
                                      lastLayerError: .modulated)
        assertUpdates(step.updates, equal: expected.updates, "fc 4-3-2, modulated last-layer error")
    }

    func testLastLayerUsesFirstPassErrorWhenAsked() {
        let fixture = DenseFixture.small
        let rule = Pepita(projection: fixture.projection, lastLayerError: .firstPass)
        let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                             masks: fixture.masks, threads: 1)
        let expected = longhandPepita(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                      projection: Oracle.grid(fixture.projection), input: Oracle.grid(fixture.input),
                                      labels: fixture.labels, masks: fixture.masks.map { $0.map(Oracle.grid) },
                                      lastLayerError: .firstPass)
        assertUpdates(step.updates, equal: expected.updates, "fc 4-3-2, first-pass last-layer error")
        // The two options differ only in the last layer.
        let modulated = Pepita(projection: fixture.projection, lastLayerError: .modulated)
            .step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init), masks: fixture.masks, threads: 1)
        XCTAssertEqual(step.updates[0], modulated.updates[0])
        XCTAssertNotEqual(step.updates[1], modulated.updates[1])
    }

    func testSignVariantProjectsTheSignOfTheError() {
        let fixture = DenseFixture.small
        for lastLayerError in LastLayerError.allCases {
            let rule = Pepita(kind: .pepitaSign, projection: fixture.projection, lastLayerError: lastLayerError)
            let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                                 masks: fixture.masks, threads: 1)
            let expected = longhandPepita(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                          projection: Oracle.grid(fixture.projection), input: Oracle.grid(fixture.input),
                                          labels: fixture.labels, masks: fixture.masks.map { $0.map(Oracle.grid) },
                                          projectSign: true, lastLayerError: lastLayerError)
            assertUpdates(step.updates, equal: expected.updates, "pepita-sign, \(lastLayerError)")
        }
    }

    func testThreeLayerNetworkMatchesLonghandForBothLastLayerErrors() {
        let fixture = DenseFixture.deep
        for lastLayerError in LastLayerError.allCases {
            let rule = Pepita(projection: fixture.projection, lastLayerError: lastLayerError)
            let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                                 masks: fixture.masks, threads: 1)
            let expected = longhandPepita(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                          projection: Oracle.grid(fixture.projection), input: Oracle.grid(fixture.input),
                                          labels: fixture.labels, masks: fixture.masks.map { $0.map(Oracle.grid) },
                                          lastLayerError: lastLayerError)
            assertUpdates(step.updates, equal: expected.updates, "fc 5-4-3-2, \(lastLayerError)")
        }
    }

    func testUnitDroppedForTheWholeBatchGetsNoUpdate() {
        var fixture = DenseFixture.deep
        for b in 0..<3 { fixture.masks[0]![b, 3] = 0 }
        let step = Pepita(projection: fixture.projection, lastLayerError: .modulated)
            .step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init), masks: fixture.masks, threads: 1)
        for i in 0..<5 { XCTAssertEqual(step.updates[0][3, i], 0, "row of the dropped unit, column \(i)") }
        for j in 0..<3 { XCTAssertEqual(step.updates[1][j, 3], 0, "weight reading the dropped unit, row \(j)") }
    }

    func testRandomProjectionIsScaledHeUniformAndTenTimesSmallerForTheSignVariant() {
        let architecture = DenseFixture.deep.architecture
        let projection = Pepita.randomProjection(for: architecture, projectionScale: 0.05, kind: .pepita, seed: 3)
        XCTAssertEqual(projection.rows, 5)
        XCTAssertEqual(projection.columns, 2)
        let bound = 0.05 * Float((6.0 / 5).squareRoot())
        XCTAssertTrue(projection.values.allSatisfy { abs($0) <= bound }, "F within 0.05 * sqrt(6 / inputs)")
        XCTAssertGreaterThan(projection.values.map(abs).max()!, bound / 2)
        let sign = Pepita.randomProjection(for: architecture, projectionScale: 0.05, kind: .pepitaSign, seed: 3)
        for (plain, signed) in zip(projection.values, sign.values) { XCTAssertEqual(signed, 0.1 * plain, accuracy: 1e-8) }
        XCTAssertEqual(Pepita(projection: projection, lastLayerError: .modulated).fixedMatrices, ["F": projection])
    }

    // MARK: Momentum SGD

    func testMomentumSGDAppliesVelocityOfScaledUpdates() {
        // v = m v + eta * dW / B; W -= v, twice, against Double arithmetic.
        var weights = [Matrix(rowsOf: [[1, -2], [0.5, 3]])]
        var optimiser = MomentumSGD(momentum: 0.9, shapes: weights)
        let updates = [Matrix(rowsOf: [[4, -8], [2, 0]]), Matrix(rowsOf: [[-1, 6], [10, -4]])]
        var expectedWeights = Oracle.grid(weights[0])
        var velocity = Oracle.zeros(2, 2)
        for update in updates {
            optimiser.apply([update], to: &weights, learningRate: 0.1, batch: 4)
            for i in 0..<2 {
                for j in 0..<2 {
                    velocity[i][j] = 0.9 * velocity[i][j] + 0.1 * Double(update[i, j]) / 4
                    expectedWeights[i][j] -= velocity[i][j]
                }
            }
            XCTAssertNil(Oracle.mismatch(optimiser.velocities[0], velocity, absolute: 1e-6))
            XCTAssertNil(Oracle.mismatch(weights[0], expectedWeights, absolute: 1e-6))
        }
    }

    func testTwoPepitaStepsWithMomentumMatchLonghand() {
        for fixture in [DenseFixture.small, .deep] {
            let (architecture, initial, projection, input, labels, masks) = (
                fixture.architecture, fixture.weights, fixture.projection, fixture.input, fixture.labels, fixture.masks)
            let rule = Pepita(projection: projection, lastLayerError: .modulated)
            var network = Network(architecture: architecture, weights: initial)
            var optimiser = MomentumSGD(momentum: 0.9, shapes: initial)
            let batch = input.rows, learningRate = 0.1

            var weights = initial.map(Oracle.grid)
            var velocities = initial.map { Oracle.zeros($0.rows, $0.columns) }
            for stepIndex in 0..<2 {
                let step = rule.step(network: network, input: input, labels: labels.map(Int32.init), masks: masks, threads: 1)
                optimiser.apply(step.updates, to: &network.weights, learningRate: Float(learningRate), batch: batch)
                let longhand = longhandPepita(architecture, weights: weights, projection: Oracle.grid(projection),
                                              input: Oracle.grid(input), labels: labels,
                                              masks: masks.map { $0.map(Oracle.grid) }, lastLayerError: .modulated)
                for l in weights.indices {
                    for i in weights[l].indices {
                        for j in weights[l][i].indices {
                            velocities[l][i][j] = 0.9 * velocities[l][i][j]
                                + learningRate * longhand.updates[l][i][j] / Double(batch)
                            weights[l][i][j] -= velocities[l][i][j]
                        }
                    }
                    XCTAssertNil(Oracle.mismatch(network.weights[l], weights[l], absolute: 1e-5, relative: 1e-5),
                                 "\(architecture.name), step \(stepIndex + 1), layer \(l)")
                }
            }
        }
    }

    // MARK: Convolution

    func testConvolutionUpdateIsThePositionAveragedSumForBothBatchAverages() {
        let fixture = ConvNetwork()
        for twice in [true, false] {
            for lastLayerError in LastLayerError.allCases {
                let rule = Pepita(projection: fixture.projection, lastLayerError: lastLayerError,
                                  convolutionBatchAverageTwice: twice)
                let step = rule.step(network: fixture.network, input: fixture.input, labels: fixture.labels.map(Int32.init),
                                     masks: [nil, nil], threads: 1)
                let expected = longhandPepita(fixture.architecture, weights: fixture.weights.map(Oracle.grid),
                                              projection: Oracle.grid(fixture.projection),
                                              input: Oracle.grid(fixture.input), labels: fixture.labels,
                                              masks: [nil, nil], lastLayerError: lastLayerError, batchAverageTwice: twice)
                assertUpdates(step.updates.indices.map(step.dividedUpdate), equal: expected.updates, absolute: 1e-6,
                              "conv, batch average twice \(twice), \(lastLayerError)")
            }
        }
    }

    func testSecondBatchAverageDividesTheConvolutionUpdateByTheBatch() {
        // The division is handed to the optimiser as the layer's divisor:
        // positions (16) times the batch (2) when twice, positions alone when once.
        let fixture = ConvNetwork()
        let labels = fixture.labels.map(Int32.init)
        let once = Pepita(projection: fixture.projection, lastLayerError: .firstPass, convolutionBatchAverageTwice: false)
            .step(network: fixture.network, input: fixture.input, labels: labels, masks: [nil, nil], threads: 1)
        let twice = Pepita(projection: fixture.projection, lastLayerError: .firstPass, convolutionBatchAverageTwice: true)
            .step(network: fixture.network, input: fixture.input, labels: labels, masks: [nil, nil], threads: 1)
        XCTAssertEqual(once.divisors, [16, 1])
        XCTAssertEqual(twice.divisors, [32, 1])
        XCTAssertEqual(twice.updates, once.updates, "the sums themselves are not divided")
        XCTAssertNil(Oracle.mismatch(twice.dividedUpdate(0), Oracle.scaled(Oracle.grid(once.dividedUpdate(0)), by: 0.5),
                                     absolute: 0, relative: 1e-6))
    }
}


/// A fully connected network, its F, a batch and its dropout masks.
private struct DenseFixture {
    var architecture: Architecture
    var weights: [Matrix]
    var projection: Matrix
    var input: Matrix
    var labels: [Int]
    var masks: [Matrix?]

    var network: Network { Network(architecture: architecture, weights: weights) }
    var targets: Matrix { Oracle.matrix(Oracle.oneHot(labels, classes: architecture.classCount)) }

    /// fc 4-3-2, batch 2, written out; the mask drops unit 1 of sample 0, and
    /// unit 2 of sample 0 is inactive (pre-activation -0.215) in the first pass.
    static let small = DenseFixture(
        architecture: Architecture(name: "fc:4-3-2", input: SampleShape(channels: 1, height: 1, width: 4), classCount: 2,
                                   layers: [.dense(inputs: 4, outputs: 3), .dense(inputs: 3, outputs: 2)]),
        weights: [Matrix(rowsOf: [[0.4, -0.3, 0.2, 0.5], [-0.2, 0.6, 0.1, -0.4], [0.3, 0.25, -0.5, 0.35]]),
                  Matrix(rowsOf: [[0.7, -0.5, 0.3], [-0.6, 0.4, 0.8]])],
        projection: Matrix(rowsOf: [[0.5, -0.4], [-0.3, 0.6], [0.2, 0.1], [-0.5, -0.2]]),
        input: Matrix(rowsOf: [[0.5, 0.2, 0.9, 0.1], [0.3, 0.8, 0.4, 0.7]]),
        labels: [0, 1],
        masks: [Matrix(rowsOf: [[1 / 0.9, 0, 1 / 0.9], [1 / 0.9, 1 / 0.9, 1 / 0.9]]), nil])

    /// fc 5-4-3-2, batch 3, seeded values; each hidden mask drops one unit of one sample.
    static let deep: DenseFixture = {
        var values = TestValues(seed: 11)
        let weights = [values.matrix(4, 5, scale: 0.8), values.matrix(3, 4, scale: 0.8), values.matrix(2, 3, scale: 0.8)]
        let projection = values.matrix(5, 2, scale: 0.5)
        let input = values.matrix(3, 5, in: 0, 1)
        var mask0 = Matrix(rows: 3, columns: 4, values: [Float](repeating: 1 / 0.9, count: 12))
        mask0[1, 2] = 0
        var mask1 = Matrix(rows: 3, columns: 3, values: [Float](repeating: 1 / 0.9, count: 9))
        mask1[0, 0] = 0
        return DenseFixture(
            architecture: Architecture(name: "fc:5-4-3-2", input: SampleShape(channels: 1, height: 1, width: 5),
                                       classCount: 2, layers: [.dense(inputs: 5, outputs: 4), .dense(inputs: 4, outputs: 3),
                                                               .dense(inputs: 3, outputs: 2)]),
            weights: weights, projection: projection, input: input, labels: [1, 0, 1], masks: [mask0, mask1, nil])
    }()
}
