import Foundation
import PepitaEngine
import Quantized

// Independent oracles for the engine's tests (STYLE 15, 16): plain nested loops in
// `Double`, written from the equations in SPEC §3, sharing no code with the engine
// (no `product`, no `Convolution`, no `Elementwise`). The engine computes in
// `Float` through its kernels; the tests compare the two with a stated tolerance.

/// A matrix in `Double`, one array per row: `grid[row][column]`.
public typealias Grid = [[Double]]

// MARK: - Seeded test values

/// Deterministic values for tests, from Knuth's MMIX linear congruential generator
/// (independent of the engine's `RandomStream`, so a test never checks the
/// generator against itself).
public struct TestValues {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed &* 0x2545_F491_4F6C_DD1D &+ 1
        for _ in 0..<4 { _ = nextUnit() }
    }

    /// Uniform in [0, 1), from the top 53 bits of the state.
    public mutating func nextUnit() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) * 0x1p-53
    }

    /// Uniform in [low, high), rounded once to `Float`.
    public mutating func uniform(_ low: Double, _ high: Double) -> Float {
        Float(low + (high - low) * nextUnit())
    }

    /// `count` values uniform in [-scale, scale).
    public mutating func floats(_ count: Int, scale: Double) -> [Float] {
        (0..<count).map { _ in uniform(-scale, scale) }
    }

    /// A `rows x columns` matrix of values uniform in [-scale, scale).
    public mutating func matrix(_ rows: Int, _ columns: Int, scale: Double) -> Matrix {
        Matrix(rows: rows, columns: columns, values: floats(rows * columns, scale: scale))
    }

    /// A `rows x columns` matrix of values uniform in [low, high).
    public mutating func matrix(_ rows: Int, _ columns: Int, in low: Double, _ high: Double) -> Matrix {
        Matrix(rows: rows, columns: columns, values: (0..<rows * columns).map { _ in uniform(low, high) })
    }
}

public extension Matrix {
    /// A matrix written out row by row in a test: `Matrix(rowsOf: [[1, 2], [3, 4]])`.
    init(rowsOf rows: [[Float]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "ragged rows")
        self.init(rows: rows.count, columns: columns, values: rows.flatMap { $0 })
    }
}

// MARK: - Longhand arithmetic

/// Equations of SPEC §3 as plain loops in `Double`.
public enum Oracle {
    /// The matrix's values widened to `Double`.
    public static func grid(_ matrix: Matrix) -> Grid {
        (0..<matrix.rows).map { i in (0..<matrix.columns).map { j in Double(matrix[i, j]) } }
    }

    /// The grid rounded to `Float`.
    public static func matrix(_ grid: Grid) -> Matrix {
        Matrix(rows: grid.count, columns: grid.first?.count ?? 0, values: grid.flatMap { $0.map { Float($0) } })
    }

    public static func zeros(_ rows: Int, _ columns: Int) -> Grid {
        Grid(repeating: [Double](repeating: 0, count: columns), count: rows)
    }

    /// One-hot rows: `labels.count x classes`.
    public static func oneHot(_ labels: [Int], classes: Int) -> Grid {
        labels.map { label in (0..<classes).map { $0 == label ? 1.0 : 0.0 } }
    }

    /// `a b^T` for `a` (m x k) and `b` (n x k).
    public static func timesTransposed(_ a: Grid, _ b: Grid) -> Grid {
        a.map { row in
            b.map { other in
                var sum = 0.0
                for p in row.indices { sum += row[p] * other[p] }
                return sum
            }
        }
    }

    /// `a b` for `a` (m x k) and `b` (k x n).
    public static func times(_ a: Grid, _ b: Grid) -> Grid {
        let n = b.first?.count ?? 0
        return a.map { row in
            (0..<n).map { j in
                var sum = 0.0
                for p in row.indices { sum += row[p] * b[p][j] }
                return sum
            }
        }
    }

    /// `a^T b` for `a` (batch x m) and `b` (batch x n): the sum over the batch of
    /// outer products, the shape of every weight update.
    public static func transposedTimes(_ a: Grid, _ b: Grid) -> Grid {
        let m = a.first?.count ?? 0, n = b.first?.count ?? 0
        var result = zeros(m, n)
        for row in a.indices {
            for i in 0..<m {
                for j in 0..<n { result[i][j] += a[row][i] * b[row][j] }
            }
        }
        return result
    }

    public static func difference(_ a: Grid, _ b: Grid) -> Grid {
        zip(a, b).map { rowA, rowB in zip(rowA, rowB).map { $0 - $1 } }
    }

    public static func sum(_ a: Grid, _ b: Grid) -> Grid {
        zip(a, b).map { rowA, rowB in zip(rowA, rowB).map { $0 + $1 } }
    }

    public static func scaled(_ a: Grid, by factor: Double) -> Grid {
        a.map { $0.map { $0 * factor } }
    }

    public static func softmax(_ logits: [Double]) -> [Double] {
        let largest = logits.max() ?? 0
        let exponentials = logits.map { exp($0 - largest) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }

    /// Stride-1, unpadded convolution of one sample (`shape`, flat C, H, W) with
    /// `weight` (`outChannels x (channels * k * k)`, columns in (channel, ky, kx)
    /// order), as the direct sum over the kernel; output flat (outChannel, oy, ox).
    public static func convolve(_ sample: [Double], shape: SampleShape, weight: Grid, kernelSize k: Int) -> [Double] {
        let outHeight = shape.height - k + 1, outWidth = shape.width - k + 1
        var output = [Double](repeating: 0, count: weight.count * outHeight * outWidth)
        for outChannel in weight.indices {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var sum = 0.0
                    for channel in 0..<shape.channels {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let pixel = sample[(channel * shape.height + oy + ky) * shape.width + ox + kx]
                                sum += weight[outChannel][(channel * k + ky) * k + kx] * pixel
                            }
                        }
                    }
                    output[(outChannel * outHeight + oy) * outWidth + ox] = sum
                }
            }
        }
        return output
    }

    /// 2x2, stride-2 max pooling of one sample; odd trailing rows and columns are
    /// dropped; ties go to the first of (top-left, top-right, bottom-left, bottom-right).
    public static func maxPool(_ sample: [Double], shape: SampleShape) -> (output: [Double], winners: [Int]) {
        let height = shape.height / 2, width = shape.width / 2
        var output: [Double] = [], winners: [Int] = []
        for channel in 0..<shape.channels {
            for py in 0..<height {
                for px in 0..<width {
                    let candidates = [(2 * py, 2 * px), (2 * py, 2 * px + 1), (2 * py + 1, 2 * px), (2 * py + 1, 2 * px + 1)]
                        .map { (channel * shape.height + $0.0) * shape.width + $0.1 }
                    var best = candidates[0]
                    for index in candidates.dropFirst() where sample[index] > sample[best] { best = index }
                    output.append(sample[best])
                    winners.append(best)
                }
            }
        }
        return (output, winners)
    }

    /// What one longhand forward pass computed, per layer (see `LayerTrace`).
    public struct Pass {
        /// `h_{l-1}`, batch x inputCount.
        public var inputs: [Grid] = []
        /// Hidden layers: ReLU output times the dropout mask, before pooling. Last layer: logits.
        public var activated: [Grid] = []
        /// What goes on (pooled when the layer pools); probabilities for the last layer.
        public var outputs: [Grid] = []
        public var probabilities: Grid { outputs[outputs.count - 1] }
    }

    /// The network's forward pass in `Double`: hidden layers
    /// `h_l = relu(h_{l-1} W_l^T) * mask_l` (convolution by the direct sum, then
    /// ReLU, then 2x2 max pooling when asked), output `softmax(h_{L-1} W_L^T)`.
    /// `masks[l]` may be nil (or `masks` shorter than the layers) for no dropout.
    public static func forward(_ architecture: Architecture, weights: [Grid], input: Grid, masks: [Grid?] = []) -> Pass {
        var pass = Pass()
        var current = input
        let last = architecture.layers.count - 1
        for (index, layer) in architecture.layers.enumerated() {
            pass.inputs.append(current)
            var activated: Grid
            switch layer {
            case .dense:
                activated = timesTransposed(current, weights[index])
            case let .conv(shape, _, k, _):
                activated = current.map { convolve($0, shape: shape, weight: weights[index], kernelSize: k) }
            }
            if index == last {
                pass.activated.append(activated)
                pass.outputs.append(activated.map(softmax))
                break
            }
            activated = activated.map { $0.map { max($0, 0) } }
            if index < masks.count, let mask = masks[index] {
                for b in activated.indices {
                    for j in activated[b].indices { activated[b][j] *= mask[b][j] }
                }
            }
            pass.activated.append(activated)
            if case .conv(_, _, _, true) = layer {
                current = activated.map { maxPool($0, shape: layer.convolutionOutputShape!).output }
            } else {
                current = activated
            }
            pass.outputs.append(current)
        }
        return pass
    }

    /// Mean over the batch of `-log softmax(logits)[label]`, as log-sum-exp minus
    /// the label's logit (no rounding through probabilities).
    public static func meanCrossEntropy(_ architecture: Architecture, weights: [Grid], input: Grid,
                                        masks: [Grid?] = [], labels: [Int]) -> Double {
        let logits = forward(architecture, weights: weights, input: input, masks: masks).activated.last!
        var total = 0.0
        for (row, label) in labels.enumerated() {
            let largest = logits[row].max()!
            let logSum = largest + log(logits[row].reduce(0) { $0 + exp($1 - largest) })
            total += logSum - logits[row][label]
        }
        return total / Double(labels.count)
    }

    /// `d loss / d weights[layer]` by central differences with step `step`.
    public static func centralDifferences(of loss: ([Grid]) -> Double, at weights: [Grid], layer: Int,
                                          step: Double) -> Grid {
        var gradient = zeros(weights[layer].count, weights[layer][0].count)
        var probe = weights
        for i in gradient.indices {
            for j in gradient[i].indices {
                let original = weights[layer][i][j]
                probe[layer][i][j] = original + step
                let above = loss(probe)
                probe[layer][i][j] = original - step
                let below = loss(probe)
                probe[layer][i][j] = original
                gradient[i][j] = (above - below) / (2 * step)
            }
        }
        return gradient
    }

    /// How the output error reaches the hidden layers of a dense network.
    public enum FeedbackPath {
        /// Through `W_l` (exact gradient).
        case backprop
        /// Through `feedback[l]` in place of `W_l` (index 0 unused).
        case feedbackAlignment([Grid])
        /// Straight from the output error: hidden layer l gets `e feedback[l]`.
        case direct([Grid])
    }

    /// Summed (not averaged) updates `dW_l = delta_l^T h_{l-1}` of BP, FA or DFA on a
    /// dense network, from a longhand forward pass; `delta_L = y - onehot` and one
    /// layer down `delta = (signal) * relu'(z) * mask`.
    public static func denseFeedbackUpdates(_ pass: Pass, weights: [Grid], targets: Grid, masks: [Grid?],
                                            path: FeedbackPath) -> [Grid] {
        let error = difference(pass.probabilities, targets)
        var updates = [Grid](repeating: [], count: weights.count)
        var delta = error
        for layer in stride(from: weights.count - 1, through: 0, by: -1) {
            updates[layer] = transposedTimes(delta, pass.inputs[layer])
            if layer == 0 { break }
            var below: Grid
            switch path {
            case .backprop: below = times(delta, weights[layer])
            case let .feedbackAlignment(feedback): below = times(delta, feedback[layer])
            case let .direct(feedback): below = times(error, feedback[layer - 1])
            }
            for b in below.indices {
                for j in below[b].indices {
                    let active = pass.activated[layer - 1][b][j] > 0
                    let scale = (layer - 1 < masks.count ? masks[layer - 1]?[b][j] : nil) ?? 1
                    below[b][j] = active ? below[b][j] * scale : 0
                }
            }
            delta = below
        }
        return updates
    }

    // MARK: Comparison

    /// Nil when every `|actual - expected| <= absolute + relative * |expected|`;
    /// otherwise a one-line description of the worst element.
    public static func mismatch(_ actual: Matrix, _ expected: Grid, absolute: Double, relative: Double = 0) -> String? {
        guard actual.rows == expected.count, actual.columns == (expected.first?.count ?? 0) else {
            return "shape \(actual.rows)x\(actual.columns), expected \(expected.count)x\(expected.first?.count ?? 0)"
        }
        var worst: (excess: Double, row: Int, column: Int)? = nil
        for i in 0..<actual.rows {
            for j in 0..<actual.columns {
                let got = Double(actual[i, j]), want = expected[i][j]
                let excess = abs(got - want) - (absolute + relative * abs(want))
                if !(excess <= 0), excess > (worst?.excess ?? -1) || excess.isNaN { worst = (excess, i, j) }
            }
        }
        guard let worst else { return nil }
        let got = actual[worst.row, worst.column], want = expected[worst.row][worst.column]
        return "at (\(worst.row), \(worst.column)): got \(got), expected \(want), |difference| \(abs(Double(got) - want)) "
            + "> tolerance \(absolute + relative * abs(want))"
    }

    /// Largest `|actual - expected|`.
    public static func maxDifference(_ actual: Matrix, _ expected: Grid) -> Double {
        var largest = 0.0
        for i in 0..<actual.rows {
            for j in 0..<actual.columns { largest = max(largest, abs(Double(actual[i, j]) - expected[i][j])) }
        }
        return largest
    }
}
