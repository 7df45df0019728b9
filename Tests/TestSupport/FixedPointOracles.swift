import Foundation
import PepitaEngine
import Quantized

// Integer longhand for the fixed-point engine's tests (STYLE 15, 16): plain
// loops over `Int64` codes written from SPEC §3-§4 and the Quantized README's
// equations, sharing no code with the engine. Rounding is computed another way
// than the library does it: the library splits a sum into `floor` and a
// remainder with bit masks; here the quotient is formed exactly in `Double` and
// rounded by `Double.rounded(.toNearestOrEven)`.

/// A matrix of integer codes or exact sums, one array per row: `grid[row][column]`.
public typealias IntGrid = [[Int64]]

public enum FixedOracle {
    // MARK: Narrowing

    /// Smallest and largest code of a signed `bits`-bit format.
    public static func codeRange(bits: Int) -> ClosedRange<Int64> {
        -(Int64(1) << (bits - 1)) ... (Int64(1) << (bits - 1)) - 1
    }

    /// The code of a sum `sum * 2^-fromFraction` in a signed format of `bits`
    /// bits and `fraction` fractional bits: `sum * 2^(fraction - fromFraction)`
    /// rounded to nearest, ties to even, then clamped. The scaled value is exact
    /// in `Double` (`|sum| < 2^53`, multiplied by a power of two).
    public static func narrow(_ sum: Int64, from fromFraction: Int, bits: Int, fraction: Int) -> (code: Int64, saturated: Bool) {
        precondition(sum.magnitude < UInt64(1) << 53, "\(sum) is not exact in Double")
        let scaled = Double(sum) * Double(sign: .plus, exponent: fraction - fromFraction, significand: 1)
        let rounded = scaled.rounded(.toNearestOrEven)
        let range = codeRange(bits: bits)
        if rounded < Double(range.lowerBound) { return (range.lowerBound, true) }
        if rounded > Double(range.upperBound) { return (range.upperBound, true) }
        return (Int64(rounded), false)
    }

    /// `narrow` of every element.
    public static func narrow(_ sums: IntGrid, from fromFraction: Int, bits: Int, fraction: Int) -> IntGrid {
        sums.map { $0.map { narrow($0, from: fromFraction, bits: bits, fraction: fraction).code } }
    }

    /// How many nonzero sums became code 0 without saturating.
    public static func roundedToZero(_ sums: IntGrid, from fromFraction: Int, bits: Int, fraction: Int) -> Int {
        sums.joined().filter { $0 != 0 && narrow($0, from: fromFraction, bits: bits, fraction: fraction) == (0, false) }.count
    }

    /// How many sums saturate.
    public static func saturations(_ sums: IntGrid, from fromFraction: Int, bits: Int, fraction: Int) -> Int {
        sums.joined().filter { narrow($0, from: fromFraction, bits: bits, fraction: fraction).saturated }.count
    }

    /// Dynamic scaling (SPEC §4): the largest `n` in -16...30 with
    /// `max|sum| * 2^-fromFraction * 2^n <= 2^(bits-1) - 1`. Found from
    /// `log2`, then checked (and corrected) with exact comparisons.
    public static func finestFraction(maxSum: Int64, from fromFraction: Int, bits: Int) -> Int {
        let largest = Double((Int64(1) << (bits - 1)) - 1)
        let magnitude = Double(maxSum.magnitude) * Double(sign: .plus, exponent: -fromFraction, significand: 1)
        if magnitude == 0 { return 30 }
        var n = Int(Foundation.floor(log2(largest / magnitude)))
        func fits(_ n: Int) -> Bool { magnitude * Double(sign: .plus, exponent: n, significand: 1) <= largest }
        while !fits(n) { n -= 1 }
        while fits(n + 1) { n += 1 }
        return min(30, max(-16, n))
    }

    // MARK: Integer matrix products

    /// `a b^T` for `a` (m x k) and `b` (n x k).
    public static func timesTransposed(_ a: IntGrid, _ b: IntGrid) -> IntGrid {
        a.map { row in b.map { other in zip(row, other).reduce(0) { $0 + $1.0 * $1.1 } } }
    }

    /// `a b` for `a` (m x k) and `b` (k x n).
    public static func times(_ a: IntGrid, _ b: IntGrid) -> IntGrid {
        let n = b.first?.count ?? 0
        return a.map { row in (0..<n).map { j in row.indices.reduce(0) { $0 + row[$1] * b[$1][j] } } }
    }

    /// `a^T b` for `a` (batch x m) and `b` (batch x n): the sum over the batch of outer products.
    public static func transposedTimes(_ a: IntGrid, _ b: IntGrid) -> IntGrid {
        let m = a.first?.count ?? 0, n = b.first?.count ?? 0
        var result = IntGrid(repeating: [Int64](repeating: 0, count: n), count: m)
        for row in a.indices {
            for i in 0..<m {
                for j in 0..<n { result[i][j] += a[row][i] * b[row][j] }
            }
        }
        return result
    }

    // MARK: Conversions

    public static func grid(_ matrix: FixedMatrix) -> IntGrid {
        (0..<matrix.rows).map { i in (0..<matrix.columns).map { j in Int64(matrix.codes[i * matrix.columns + j]) } }
    }

    public static func grid(_ sums: ExactSums) -> IntGrid {
        (0..<sums.rows).map { i in Array(sums.values[i * sums.columns ..< (i + 1) * sums.columns]) }
    }

    /// A fixed matrix of `codes` (each must fit in `Int16`) in `format`.
    public static func fixed(_ codes: IntGrid, _ format: FixedPointFormat) -> FixedMatrix {
        FixedMatrix(rows: codes.count, columns: codes.first?.count ?? 0, codes: codes.joined().map { Int16($0) }, format: format)
    }

    /// The one-hot code `2^fraction` subtracted at each row's label, clamped to `bits`:
    /// `e = y - onehot(label)` in the probabilities' own format.
    public static func outputError(_ probabilities: IntGrid, labels: [Int32], bits: Int, fraction: Int) -> IntGrid {
        let range = codeRange(bits: bits)
        return probabilities.enumerated().map { row, values in
            values.enumerated().map { column, code in
                let target: Int64 = Int(labels[row]) == column ? Int64(1) << fraction : 0
                return min(range.upperBound, max(range.lowerBound, code - target))
            }
        }
    }

    // MARK: Forward pass

    /// What one longhand integer forward pass of a dense network computed.
    public struct Pass {
        /// `h_{l-1}` codes per layer (`inputs[0]` is the network input).
        public var inputs: [IntGrid] = []
        /// Hidden layers: `relu(h_{l-1} W^T)` times `keep` where kept, 0 where dropped,
        /// exact, at `hiddenSumFractions[l]`.
        public var hiddenSums: [IntGrid] = []
        public var hiddenSumFractions: [Int] = []
        /// Hidden layers: the codes `hiddenSums` narrow to, at `activationFractions[l]`.
        public var activated: [IntGrid] = []
        public var activationFractions: [Int] = []
        /// Exact logits `h_{L-1} W_L^T` at `logitFraction`.
        public var logits: IntGrid = []
        public var logitFraction = 0
    }

    /// `h_l = narrow(relu(h_{l-1} W_l^T) * mask)` for the hidden layers of a dense
    /// network whose weights all have `weightFraction` fractional bits; the mask's
    /// `1/keep` is `keep.mantissa * 2^-keep.shift` on the exact sum (a dropped unit
    /// is 0). `activationFractions[l]` fixes layer l's format; nil chooses it
    /// dynamically from the layer's largest sum.
    public static func forward(input: IntGrid, inputFraction: Int, weights: [IntGrid], weightFraction: Int,
                               kept: [[[Bool]]?], keep: (mantissa: Int64, shift: Int)?, activationBits: Int,
                               activationFractions: [Int?]) -> Pass {
        var pass = Pass()
        var current = input, currentFraction = inputFraction
        for (layer, weight) in weights.enumerated() {
            pass.inputs.append(current)
            var sums = timesTransposed(current, weight)
            var fraction = currentFraction + weightFraction
            if layer == weights.count - 1 {
                pass.logits = sums
                pass.logitFraction = fraction
                break
            }
            sums = sums.map { $0.map { max($0, 0) } }
            if layer < kept.count, let mask = kept[layer], let keep {
                for b in sums.indices {
                    for j in sums[b].indices { sums[b][j] = mask[b][j] ? sums[b][j] * keep.mantissa : 0 }
                }
                fraction += keep.shift
            }
            let largest = sums.joined().map(\.magnitude).max() ?? 0
            let target = activationFractions[layer] ?? finestFraction(maxSum: Int64(largest), from: fraction, bits: activationBits)
            current = narrow(sums, from: fraction, bits: activationBits, fraction: target)
            currentFraction = target
            pass.hiddenSums.append(sums)
            pass.hiddenSumFractions.append(fraction)
            pass.activated.append(current)
            pass.activationFractions.append(target)
        }
        return pass
    }

    // MARK: Momentum

    /// What one longhand fixed-point momentum step computed for one layer.
    public struct MomentumStep: Equatable {
        /// `eta / B * dW` narrowed to the updates format.
        public var updates: IntGrid
        /// `narrow(m v) + narrow(u)` in the velocity format.
        public var velocity: IntGrid
        /// `narrow(W - v)` in the weight format.
        public var weights: IntGrid
        /// Nonzero scaled sums whose update code is 0.
        public var updatesRoundedToZero: Int
        /// Weights whose velocity is nonzero but whose code did not change.
        public var weightsUnmoved: Int
    }

    /// SPEC §3 step 4 in fixed point (`v = m v + eta dW / B; W = W - v`), every
    /// product by a scalar `mantissa * 2^-shift` exact, every narrowing
    /// nearest-even and saturating: `u = narrow(dW * factor)` to the updates
    /// format; `v' = narrow(narrow(v * m) + narrow(u))` in the velocity format;
    /// `W' = narrow(W - v')` in the weight format, the difference taken exactly
    /// at the finer of the two scales.
    public static func momentumStep(updateSums: IntGrid, sumFraction: Int, factor: (mantissa: Int64, shift: Int),
                                    updatesFormat: FixedPointFormat, velocity: IntGrid, momentum: (mantissa: Int64, shift: Int),
                                    velocityFormat: FixedPointFormat, weights: IntGrid, weightFormat: FixedPointFormat) -> MomentumStep {
        let (vb, vf) = (velocityFormat.totalBits, velocityFormat.fractionalBits)
        let (wb, wf) = (weightFormat.totalBits, weightFormat.fractionalBits)
        let scaledSums = updateSums.map { $0.map { $0 * factor.mantissa } }
        let scaledFraction = sumFraction + factor.shift
        let updates = narrow(scaledSums, from: scaledFraction, bits: updatesFormat.totalBits, fraction: updatesFormat.fractionalBits)
        let decayed = narrow(velocity.map { $0.map { $0 * momentum.mantissa } }, from: vf + momentum.shift, bits: vb, fraction: vf)
        let updatesInVelocity = narrow(updates, from: updatesFormat.fractionalBits, bits: vb, fraction: vf)
        let newVelocity = zip(decayed, updatesInVelocity).map { zip($0, $1).map { narrow($0 + $1, from: vf, bits: vb, fraction: vf).code } }
        let common = max(wf, vf)
        var newWeights = weights
        var unmoved = 0
        for i in weights.indices {
            for j in weights[i].indices {
                let difference = (weights[i][j] << (common - wf)) - (newVelocity[i][j] << (common - vf))
                newWeights[i][j] = narrow(difference, from: common, bits: wb, fraction: wf).code
                if newVelocity[i][j] != 0 && newWeights[i][j] == weights[i][j] { unmoved += 1 }
            }
        }
        return MomentumStep(updates: updates, velocity: newVelocity, weights: newWeights,
                            updatesRoundedToZero: roundedToZero(scaledSums, from: scaledFraction, bits: updatesFormat.totalBits,
                                                                fraction: updatesFormat.fractionalBits),
                            weightsUnmoved: unmoved)
    }
}

// MARK: - Synthetic data

public enum SyntheticData {
    /// Three classes, linearly separable: every feature is noise in [0, 0.3),
    /// and class c adds 0.7 to the features of its own block (`features / 3` wide).
    public static func separable(features: Int = 8, trainCount: Int = 200, testCount: Int = 90,
                                 seed: UInt64 = 51) -> Dataset {
        var values = TestValues(seed: seed)
        let shape = SampleShape(channels: 1, height: 1, width: features)
        let block = features / 3
        func samples(_ count: Int) -> LabelledSamples {
            var pixels: [Float] = [], labels: [Int32] = []
            for index in 0..<count {
                let label = index % 3
                for feature in 0..<features {
                    let own = feature / block == label
                    pixels.append(values.uniform(0, 0.3) + (own ? 0.7 : 0))
                }
                labels.append(Int32(label))
            }
            return LabelledSamples(shape: shape, classCount: 3, pixels: pixels, labels: labels)
        }
        return Dataset(name: "separable", source: "test", train: samples(trainCount), test: samples(testCount))
    }

    /// Three classes of 1 x side x side images: noise in [0, 0.3), and class c
    /// brightens (+0.7) the rows of its own horizontal band (`side / 3` rows).
    public static func bands(side: Int = 8, trainCount: Int, testCount: Int, seed: UInt64 = 53) -> Dataset {
        var values = TestValues(seed: seed)
        let shape = SampleShape(channels: 1, height: side, width: side)
        let band = side / 3
        func samples(_ count: Int) -> LabelledSamples {
            var pixels: [Float] = [], labels: [Int32] = []
            for index in 0..<count {
                let label = index % 3
                for row in 0..<side {
                    for _ in 0..<side { pixels.append(values.uniform(0, 0.3) + (row / band == label ? 0.7 : 0)) }
                }
                labels.append(Int32(label))
            }
            return LabelledSamples(shape: shape, classCount: 3, pixels: pixels, labels: labels)
        }
        return Dataset(name: "bands", source: "test", train: samples(trainCount), test: samples(testCount))
    }
}
