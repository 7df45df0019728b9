import CKernels

/// The fixed-point momentum step of one layer in one pass over its codes (the
/// C loop `ck_momentum_update`, compiled for each kernel path): what
/// `FixedPointMomentum` computes as five whole-tensor narrowings, element by
/// element, so the codes, counters and random bits are those of the five
/// `TensorQuantization.requantize` calls it replaces, without their Int64
/// temporaries.
///
/// Per element `i` (each narrowing is `requantize`'s arithmetic on one value):
/// 0. `v = narrow(velocity[i] * momentumMantissa)` to the velocity format;
/// when `updateSums` is given:
/// 1. `u = narrow(updateSums[i] * factorMantissa)` to the updates format
///    (written to `updateCodes[i]` when given);
/// 2. `u' = narrow(u)` to the velocity format;
/// 3. `v = narrow(v + u')` (shift 0: saturation only);
/// and always
/// 4. `w = narrow((weights[i] << weightAlign) - (v << velocityAlign))` to the
///    weight format; then `velocity[i] = v`, `weights[i] = w`.
public enum MomentumKernel {
    /// One narrowing: a right shift by `shift` (left when negative) rounded by
    /// `mode` with the bits of `random`, saturated to `format`.
    public struct Narrowing: Sendable {
        public var shift: Int
        public var format: FixedPointFormat
        public var mode: RoundingMode
        public var random: StochasticBits

        public init(shift: Int, format: FixedPointFormat, mode: RoundingMode, random: StochasticBits) {
            precondition((-63...63).contains(shift), "narrowing by a shift of \(shift)")
            precondition(format.storesInInt16, "\(format) codes do not fit in Int16")
            self.shift = shift
            self.format = format
            self.mode = mode
            self.random = random
        }
    }

    /// What one narrowing saw: saturations, nonzero values that became code 0,
    /// and the largest |value| before narrowing (at that narrowing's input scale).
    public struct Tally: Sendable, Equatable {
        public var saturations: Int
        public var roundedToZero: Int
        public var maxMagnitude: UInt64

        public init(saturations: Int, roundedToZero: Int, maxMagnitude: UInt64) {
            self.saturations = saturations
            self.roundedToZero = roundedToZero
            self.maxMagnitude = maxMagnitude
        }
    }

    /// Runs the step in place, on up to `threads` threads over whole blocks of
    /// elements (each element's arithmetic and random bits do not depend on the
    /// split; the tallies are sums and maxima). `narrowings` holds the five of
    /// the list above (1 to 3 unused, and their tallies zero, without
    /// `updateSums`). Returns the five tallies and the number of elements whose
    /// velocity was nonzero but whose weight code did not move. The products
    /// must fit in Int64. `updateSumsMagnitude`, when given, must be at least
    /// every `|updateSums[i]|` (`ExactSums.maxMagnitude(threads:)`): when it and the other
    /// operands fit, the C kernel runs in 32-bit lanes (same results, faster), and
    /// when it is 0 the AVX paths skip narrowings 1 and 2 (every `u` and `u'` is 0).
    public static func update(weights: UnsafeMutableBufferPointer<Int16>, velocity: UnsafeMutableBufferPointer<Int16>,
                              updateSums: UnsafeBufferPointer<Int64>?, updateSumsMagnitude: UInt64? = nil,
                              updateCodes: UnsafeMutableBufferPointer<Int16>?,
                              momentumMantissa: Int64, factorMantissa: Int64, weightAlign: Int, velocityAlign: Int,
                              narrowings: [Narrowing], threads: Int) -> (tallies: [Tally], unmoved: Int) {
        precondition(narrowings.count == 5 && velocity.count == weights.count)
        precondition(updateSums.map { $0.count == weights.count } ?? true && updateCodes.map { $0.count == weights.count } ?? true)
        precondition((0...63).contains(weightAlign) && (0...63).contains(velocityAlign))
        func spec(_ narrowing: Narrowing) -> ck_narrowing_spec {
            ck_narrowing_spec(shift: Int32(narrowing.shift), min_code: narrowing.format.minCode, max_code: narrowing.format.maxCode,
                              mode: narrowing.mode.kernelCode, key: narrowing.random.key)
        }
        let specs = (spec(narrowings[0]), spec(narrowings[1]), spec(narrowings[2]), spec(narrowings[3]), spec(narrowings[4]))
        let parts = TilePartition.mapBlocks(count: weights.count, block: blockElements,
                                            multiplyAdds: weights.count * operationsPerElement, threads: threads,
                                            unused: (counts: [ck_narrowing_counts](repeating: .none, count: 5), unmoved: 0)) { elements in
            var layer = ck_momentum_layer()
            layer.count = elements.count
            layer.first_index = UInt64(elements.lowerBound)
            layer.weights = weights.baseAddress! + elements.lowerBound
            layer.velocity = velocity.baseAddress! + elements.lowerBound
            layer.update_sums = updateSums.map { $0.baseAddress! + elements.lowerBound }
            layer.update_sums_bound = updateSumsMagnitude ?? UInt64.max
            layer.update_codes = updateCodes.map { $0.baseAddress! + elements.lowerBound }
            layer.momentum_mantissa = momentumMantissa
            layer.factor_mantissa = factorMantissa
            layer.weight_align = Int32(weightAlign)
            layer.velocity_align = Int32(velocityAlign)
            layer.narrowings = specs
            var counts = [ck_narrowing_counts](repeating: .none, count: 5)
            var unmoved = 0
            counts.withUnsafeMutableBufferPointer { ck_momentum_update(&layer, $0.baseAddress!, &unmoved) }
            return (counts, unmoved)
        }
        let tallies = (0..<5).map { n in
            let counts = ck_narrowing_counts.total(parts.map { $0.counts[n] })
            return Tally(saturations: counts.saturations, roundedToZero: counts.rounded_to_zero, maxMagnitude: counts.max_magnitude)
        }
        return (tallies, parts.reduce(0) { $0 + $1.unmoved })
    }

    /// Elements per unit of work shared among threads.
    static let blockElements = 1 << 12
    /// About how many multiply-add-sized operations an element costs (five
    /// narrowings), to weigh the step against `TilePartition`'s threshold.
    static let operationsPerElement = 32
}
