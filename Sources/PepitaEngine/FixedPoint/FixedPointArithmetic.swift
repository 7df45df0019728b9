import Quantized

/// The fixed-point operations of one training run, applying the precision
/// config's format, scaling and rounding for each tensor role and counting
/// every saturation, vanished value and accumulator overflow per role.
///
/// Stochastic rounding draws from `StochasticBits(seed:, stream: n)` where `n`
/// counts narrowing operations in program order; element `i` of a tensor uses
/// `bits(at: i)`. The order of operations is fixed by the algorithm, never by
/// threads, so the integer path is bit-exact for a seed on any thread count.
public final class FixedPointArithmetic {
    public let config: PrecisionConfig
    public let threads: Int
    /// Counters since the last `resetCounters()`, one entry for every role
    /// (zero where a role was not narrowed).
    public internal(set) var counters = FixedPointArithmetic.zeroCounters
    private let seed: UInt64
    /// Narrowing operations so far (saved in checkpoints to resume exactly).
    public var narrowings: UInt64
    /// When set, the step records its tensors here (golden vectors).
    public var recorder: GoldenRecorder?
    /// When set, products and elementwise operations count themselves here
    /// (narrowings, `quantize`/`requantize`/`widen`, are not operations).
    public var operations: OperationRecorder?

    public init(config: PrecisionConfig, seed: UInt64, threads: Int, narrowings: UInt64 = 0) {
        precondition(!config.isFloat)
        self.config = config
        self.seed = seed
        self.threads = threads
        self.narrowings = narrowings
    }

    public func resetCounters() { counters = Self.zeroCounters }

    static var zeroCounters: [TensorRole: QuantizationCounters] {
        Dictionary(uniqueKeysWithValues: TensorRole.allCases.map { ($0, QuantizationCounters()) })
    }

    func nextRandom() -> StochasticBits {
        narrowings &+= 1
        return StochasticBits(seed: seed, stream: narrowings)
    }

    /// Float values narrowed to `role`'s format (dynamic scaling: from their max |value|).
    public func quantize(_ matrix: Matrix, role: TensorRole, format: FixedPointFormat? = nil) -> FixedMatrix {
        let settings = config[role]
        let target = format ?? settings.format(forMaxAbs: Double(matrix.values.reduce(Float(0)) { max($0, abs($1)) }))
        var roleCounters = counters[role] ?? QuantizationCounters()
        let codes = TensorQuantization.quantize(matrix.values, to: target, mode: settings.rounding,
                                                random: nextRandom(), threads: threads, counters: &roleCounters)
        counters[role] = roleCounters
        return FixedMatrix(rows: matrix.rows, columns: matrix.columns, codes: codes, format: target)
    }

    /// `op(a) * op(b)` summed exactly, then passed through the 32-bit
    /// accumulator policy (overflows counted under `role`, the role the sums
    /// will be narrowed to). `operands` are the roles of `a` and `b`, for the
    /// traffic `operations` records with the product's MACs. With
    /// `takingLargest`, the sums carry their largest magnitude where the kernel
    /// takes it as it stores them: for sums narrowed as they are (weight
    /// updates, whose dynamic format needs it), not for sums that ReLU or a
    /// gate changes first.
    public func sums(_ a: FixedMatrix, _ b: FixedMatrix, transposeA: Bool = false, transposeB: Bool = false,
                     role: TensorRole, operands: (left: TensorRole, right: TensorRole),
                     takingLargest: Bool = false) -> ExactSums {
        let m = transposeA ? a.columns : a.rows
        let n = transposeB ? b.rows : b.columns
        let k = transposeA ? a.rows : a.columns
        return exactSums(m: m, k: k, n: n, of: a, b, role: role, operands: operands) { aCodes, bCodes, c in
            let aView = IntegerMatrixView.of(aCodes, storedRows: a.rows, storedColumns: a.columns, transposed: transposeA)
            let bView = IntegerMatrixView.of(bCodes, storedRows: b.rows, storedColumns: b.columns, transposed: transposeB)
            var largest: UInt64?
            let bound = withUnsafeMutablePointer(to: &largest) { largest in
                IntegerGEMM.multiply(aView, bView, into: c, ldc: n, threads: threads,
                                     largestMagnitude: takingLargest ? largest : nil)
            }
            return (bound, largest)
        }
    }

    /// A conv layer's sums, stored as its output is (`batch x (outChannels *
    /// positions)`, channel-major): each sample's patch matrix
    /// (`Convolution.patchMatrices`, `patch x positions`) multiplied by
    /// `weight` (`outChannels x patch`) from the left. The same multiply-adds
    /// as, and counted as, the one product `patches (batch*positions x patch) · W^T`.
    public func convolutionSums(patches: FixedMatrix, weight: FixedMatrix, batch: Int, role: TensorRole,
                                operands: (left: TensorRole, right: TensorRole)) -> ExactSums {
        let patchSize = weight.columns, outChannels = weight.rows, positions = patches.columns
        precondition(patches.rows == batch * patchSize, "patches do not match the weight's \(patchSize) columns")
        return exactSums(m: batch * positions, k: patchSize, n: outChannels, of: patches, weight, role: role,
                         operands: operands, rows: batch, columns: outChannels * positions) { patches, weight, c in
            (IntegerGEMM.multiplyEachSample(
                .rowMajor(weight, rows: outChannels, columns: patchSize), aSampleStride: 0,
                .rowMajor(patches, rows: patchSize, columns: positions), bSampleStride: patchSize * positions,
                batch: batch, into: c, ldc: positions, cSampleStride: outChannels * positions, threads: threads), nil)
        }
    }

    /// A conv layer's weight-update sums (`outChannels x patchSize`): over every
    /// sample and position, the channel-major `delta` (`batch x (outChannels *
    /// positions)`) times the patch matrices transposed. The same multiply-adds
    /// as, and counted as, `delta^T (outChannels x batch*positions) · patches`.
    public func convolutionWeightSums(delta: FixedMatrix, patches: FixedMatrix, outChannels: Int, patchSize: Int,
                                      role: TensorRole, operands: (left: TensorRole, right: TensorRole)) -> ExactSums {
        let batch = delta.rows, positions = patches.columns
        precondition(delta.columns == outChannels * positions && patches.rows == batch * patchSize,
                     "delta and patches differ in samples or positions")
        return exactSums(m: outChannels, k: batch * positions, n: patchSize, of: delta, patches, role: role,
                         operands: operands) { delta, patches, c in
            (IntegerGEMM.multiplySummingSamples(
                .rowMajor(delta, rows: outChannels, columns: positions), aSampleStride: outChannels * positions,
                .transposeOf(patches, storedRows: patchSize, storedColumns: positions), bSampleStride: patchSize * positions,
                batch: batch, into: c, ldc: patchSize, threads: threads), nil)
        }
    }

    /// Records the product `m x k` by `k x n` of `a` and `b`, lets `compute`
    /// write every sum (no zeroing first; it returns their bound, and their
    /// largest magnitude when the kernel took it) and, when the bound does not
    /// fit the accumulator, passes them through its policy (which finds their
    /// largest magnitude too).
    /// The sums are stored `rows x columns` (default `m x n`).
    private func exactSums(
        m: Int, k: Int, n: Int, of a: FixedMatrix, _ b: FixedMatrix, role: TensorRole,
        operands: (left: TensorRole, right: TensorRole), rows: Int? = nil, columns: Int? = nil,
        compute: (UnsafePointer<Int16>, UnsafePointer<Int16>, UnsafeMutablePointer<Int64>) -> (bound: UInt64, largest: UInt64?)
    ) -> ExactSums {
        operations?.product(operands.left, operands.right, into: role)
            .record(m: m, k: k, n: n, accumulates: false, leftBytes: a.elementBytes,
                    rightBytes: b.elementBytes, resultBytes: (config.accumulatorBits + 7) / 8, resultIsAccumulator: true)
        // When the bound fits the accumulator, no sum can overflow it and the
        // policy pass (which would change and count nothing) is left out.
        var sumBound: UInt64 = 0
        var largest: UInt64?
        var values = [Int64](unsafeUninitializedCapacity: m * n) { cBuffer, count in
            count = m * n
            guard count > 0 else { return }
            guard !a.codes.isEmpty && !b.codes.isEmpty else {
                cBuffer.initialize(repeating: 0)
                return
            }
            a.codes.withUnsafeBufferPointer { aBuffer in
                b.codes.withUnsafeBufferPointer { bBuffer in
                    (sumBound, largest) = compute(aBuffer.baseAddress!, bBuffer.baseAddress!, cBuffer.baseAddress!)
                }
            }
        }
        let bits = config.accumulatorBits
        if !(16...64).contains(bits) || sumBound > UInt64(Int64.max >> (64 - bits)) {
            largest = applyAccumulator(&values, role: role) ?? largest
        }
        return ExactSums(rows: rows ?? m, columns: columns ?? n, values: values,
                         fractionalBits: a.format.fractionalBits + b.format.fractionalBits, maxMagnitude: largest)
    }

    /// The accumulator width and policy on sums computed some other way.
    /// Returns the largest `|values[i]|` afterwards (nil for a 64-bit accumulator, which reads nothing).
    @discardableResult
    public func applyAccumulator(_ values: inout [Int64], role: TensorRole) -> UInt64? {
        var roleCounters = counters[role] ?? QuantizationCounters()
        let largest = values.withUnsafeMutableBufferPointer {
            FixedPoint.applyAccumulator($0, bits: config.accumulatorBits, policy: config.accumulatorOverflow,
                                        threads: threads, counters: &roleCounters)
        }
        counters[role] = roleCounters
        return largest
    }

    /// Exact sums narrowed to `role`'s format (or `format`, when the caller
    /// fixes it), with the role's rounding. A dynamic format comes from the
    /// largest `|sum|` (`ExactSums.maxMagnitude(threads:)`: a scan unless the
    /// kernel that last wrote the sums gave it).
    public func requantize(_ sums: ExactSums, role: TensorRole, format: FixedPointFormat? = nil) -> FixedMatrix {
        let settings = config[role]
        let target = format ?? settings.format(forMaxAbs: sums.realMagnitude(sums.maxMagnitude(threads: threads)))
        var roleCounters = counters[role] ?? QuantizationCounters()
        let codes = TensorQuantization.requantize(sums.values, fromFractionalBits: sums.fractionalBits, to: target,
                                                  mode: settings.rounding, random: nextRandom(), threads: threads,
                                                  counters: &roleCounters)
        counters[role] = roleCounters
        return FixedMatrix(rows: sums.rows, columns: sums.columns, codes: codes, format: target)
    }

    /// Codes of `matrix` moved exactly into Int64 sums at its own scale.
    public func widen(_ matrix: FixedMatrix) -> ExactSums {
        // A plain loop over buffers (not `map`), so it compiles to vector widening.
        let values = [Int64](unsafeUninitializedCapacity: matrix.codes.count) { target, count in
            matrix.codes.withUnsafeBufferPointer { codes in
                for i in codes.indices { target[i] = Int64(codes[i]) }
            }
            count = matrix.codes.count
        }
        return ExactSums(rows: matrix.rows, columns: matrix.columns, values: values,
                         fractionalBits: matrix.format.fractionalBits)
    }

    /// `a + b` exactly, aligned to the finer of the two scales: one add per element.
    public func sum(_ a: ExactSums, _ b: ExactSums, subtract: Bool = false) -> ExactSums {
        precondition(a.values.count == b.values.count)
        operations?.count(OperationTally(adds: a.values.count))
        let fraction = max(a.fractionalBits, b.fractionalBits)
        let shiftA = fraction - a.fractionalBits, shiftB = fraction - b.fractionalBits
        let values = [Int64](unsafeUninitializedCapacity: a.values.count) { target, count in
            a.values.withUnsafeBufferPointer { left in
                b.values.withUnsafeBufferPointer { right in
                    if subtract {
                        for i in left.indices { target[i] = (left[i] << shiftA) - (right[i] << shiftB) }
                    } else {
                        for i in left.indices { target[i] = (left[i] << shiftA) + (right[i] << shiftB) }
                    }
                }
            }
            count = a.values.count
        }
        return ExactSums(rows: a.rows, columns: a.columns, values: values, fractionalBits: fraction)
    }

    /// Adds what a narrowing done outside `requantize` (a fused kernel) saw to
    /// `role`'s counters, as `requantize` of `elements` sums at scale
    /// `2^-fromFractionalBits` would.
    public func record(_ tally: MomentumKernel.Tally, elements: Int, fromFractionalBits: Int, role: TensorRole) {
        var roleCounters = counters[role] ?? QuantizationCounters()
        roleCounters.elements += elements
        roleCounters.saturations += tally.saturations
        roleCounters.roundedToZero += tally.roundedToZero
        let scale = Double(sign: .plus, exponent: -fromFractionalBits, significand: 1)
        roleCounters.maxAbsValue = max(roleCounters.maxAbsValue, Double(tally.maxMagnitude) * scale)
        counters[role] = roleCounters
    }

    /// Adds `counted` to `role`'s "rounded to zero" counter (used where a
    /// requested change vanished without a narrowing of its own, e.g. a weight
    /// whose update rounded away).
    public func count(roundedToZero counted: Int, role: TensorRole) {
        counters[role, default: QuantizationCounters()].roundedToZero += counted
    }
}

extension FixedPointArithmetic {
    /// Adds counters gathered outside this object (e.g. by the integer softmax) to `role`.
    public func record(_ gathered: QuantizationCounters, role: TensorRole) {
        counters[role, default: QuantizationCounters()].merge(gathered)
    }

    /// `y - onehot(labels)` in `probabilities`' format, saturating (counted under
    /// errors): one subtraction per row, at the label.
    public func outputError(_ probabilities: FixedMatrix, labels: [Int32]) -> FixedMatrix {
        operations?.count(OperationTally(adds: labels.count))
        var error = probabilities
        let one = Int64(1) << probabilities.format.fractionalBits
        var saturations = 0
        for (row, label) in labels.enumerated() {
            let index = row * error.columns + Int(label)
            let (code, saturated) = FixedPoint.saturate(Int64(error.codes[index]) - one, to: error.format)
            error.codes[index] = Int16(code)
            if saturated { saturations += 1 }
        }
        counters[.errors, default: QuantizationCounters()].saturations += saturations
        return error
    }

    /// `a + b` for two matrices in the same format, saturating (counted under
    /// `role`): one add per element.
    public func saturatingSum(_ a: FixedMatrix, _ b: FixedMatrix, role: TensorRole) -> FixedMatrix {
        precondition(a.format == b.format && a.count == b.count)
        operations?.count(OperationTally(adds: a.count))
        let (codes, saturations) = TensorQuantization.saturatingSum(a.codes, b.codes, format: a.format)
        counters[role, default: QuantizationCounters()].saturations += saturations
        return FixedMatrix(rows: a.rows, columns: a.columns, codes: codes, format: a.format)
    }
}
