import CKernels

/// Whole-tensor narrowing to `Int16` codes, with counting: the entry points the
/// integer engine calls for every tensor role (SPEC §4: saturation by default
/// on every narrowing, every saturation and every rounding-to-zero counted).
///
/// Storage: the codes of every format up to 16 bits are held as `Int16`; int8
/// formats simply use the int8 range. The codes must fit, so the format must be
/// signed with at most 16 bits or unsigned with at most 15 (`storesInInt16`).
///
/// Randomness: with `.stochastic`, element `i` is rounded with
/// `random.bits(at: firstIndex + i)` (`firstIndex` is 0 for the array versions),
/// so the result is the same however the tensor is split or ordered.
public enum TensorQuantization {
    /// Elements per unit of work shared among threads by the whole-tensor loops.
    static let scanBlock = 1 << 12
    /// About how many multiply-add-sized operations one element costs a scan and
    /// a narrowing (or a quantisation, or ReLU with dropout), to weigh them
    /// against `TilePartition`'s threshold (2^18): a narrowing of 64 x 1024 sums
    /// (a hidden layer's batch) or a quantisation of 64 x 784 inputs is shared.
    static let scanCost = 2
    static let narrowingCost = 8

    /// `FixedPoint.quantize` of every value. Counts: `elements`, `saturations`
    /// (including NaN and +-infinity), `roundedToZero` (nonzero, not saturated,
    /// code 0), `maxAbsValue` (largest |value|, NaN ignored).
    public static func quantize(_ values: [Float], to format: FixedPointFormat, mode: RoundingMode,
                                random: StochasticBits, threads: Int = 1, counters: inout QuantizationCounters) -> [Int16] {
        [Int16](unsafeUninitializedCapacity: values.count) { codes, count in
            values.withUnsafeBufferPointer { values in
                quantize(values, into: codes, to: format, mode: mode, random: random, threads: threads, counters: &counters)
            }
            count = values.count
        }
    }

    /// `quantize` from one buffer into another of the same count. Large
    /// tensors are shared among up to `threads` threads as in `requantize`.
    public static func quantize(_ values: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<Int16>,
                                to format: FixedPointFormat, mode: RoundingMode, random: StochasticBits,
                                firstIndex: UInt64 = 0, threads: Int = 1, counters: inout QuantizationCounters) {
        precondition(codes.count == values.count, "\(values.count) values into \(codes.count) codes")
        precondition(format.storesInInt16, "\(format) codes do not fit in Int16")
        // The loop is C (`ck_quantize`): `FixedPoint.quantize`'s arithmetic, one
        // straight loop per rounding mode.
        let total = values.count
        let parts = TilePartition.mapBlocks(count: total, block: scanBlock, multiplyAdds: total * narrowingCost,
                                            threads: threads, unused: (counts: ck_narrowing_counts.none, largest: Float(0))) { elements in
            var part = (counts: ck_narrowing_counts.none, largest: Float(0))
            ck_quantize(values.baseAddress! + elements.lowerBound, elements.count, Int32(format.fractionalBits),
                        format.minCode, format.maxCode, mode.kernelCode, random.key, firstIndex &+ UInt64(elements.lowerBound),
                        codes.baseAddress! + elements.lowerBound, &part.counts, &part.largest)
            return part
        }
        counters.elements += total
        let counts = ck_narrowing_counts.total(parts.map(\.counts))
        counters.saturations += counts.saturations
        counters.roundedToZero += counts.rounded_to_zero
        counters.maxAbsValue = max(counters.maxAbsValue, Double(parts.map(\.largest).max() ?? 0))
    }

    /// Narrows exact sums at scale `2^-fromFractionalBits` (e.g. `IntegerGEMM`
    /// output, scale `2^-(na + nb)`) to `format`: code =
    /// `saturate(roundingShiftRight(sum, by: fromFractionalBits - n, mode))`,
    /// with `n = format.fractionalBits` (README equations 5 and 6). A negative
    /// shift (a finer target scale) is an exact left shift, saturating instead
    /// of overflowing. Counts: `elements`, `saturations`, `roundedToZero`
    /// (sum != 0 but code 0, not saturated), `maxAbsValue` (largest
    /// `|sum| * 2^-fromFractionalBits`). The shift must be in `-63...63`.
    public static func requantize(_ accumulators: [Int64], fromFractionalBits: Int, to format: FixedPointFormat,
                                  mode: RoundingMode, random: StochasticBits, threads: Int = 1,
                                  counters: inout QuantizationCounters) -> [Int16] {
        [Int16](unsafeUninitializedCapacity: accumulators.count) { codes, count in
            accumulators.withUnsafeBufferPointer { sums in
                requantize(sums, fromFractionalBits: fromFractionalBits, into: codes, to: format, mode: mode,
                           random: random, threads: threads, counters: &counters)
            }
            count = accumulators.count
        }
    }

    /// The largest `|sums[i]|` (0 for none), the scan a dynamic format starts from
    /// (C, vectorised for the active kernel path).
    /// Large tensors are split among up to `threads` threads (a maximum does not
    /// depend on the split).
    public static func maxMagnitude(_ sums: UnsafeBufferPointer<Int64>, threads: Int = 1) -> UInt64 {
        guard let base = sums.baseAddress else { return 0 }
        return TilePartition.mapBlocks(count: sums.count, block: scanBlock, multiplyAdds: sums.count * scanCost,
                                       threads: threads, unused: UInt64(0)) { elements in
            ck_max_magnitude(base + elements.lowerBound, elements.count)
        }.max() ?? 0
    }

    /// ReLU on exact sums in place, then, with `keep`, the dropout mask and its
    /// scale: `sums[i] = max(sums[i], 0) * (keep[i] > 0 ? mantissa : 0)` (C,
    /// vectorised for the active kernel path, shared among up to `threads`
    /// threads in blocks). Returns the largest `|sums[i]|` afterwards, so that a
    /// dynamic format needs no scan of its own. A product beyond Int64 is a
    /// precondition failure, as the Swift multiply was.
    @discardableResult
    public static func reluAndDropout(_ sums: UnsafeMutableBufferPointer<Int64>, keep: UnsafeBufferPointer<Float>?,
                                      mantissa: Int64, threads: Int = 1) -> UInt64 {
        guard let base = sums.baseAddress else { return 0 }
        if let keep { precondition(keep.count == sums.count, "\(keep.count) mask values for \(sums.count) sums") }
        // Each part's largest value after ReLU that is kept (before the scale).
        let kept = TilePartition.mapBlocks(count: sums.count, block: scanBlock, multiplyAdds: sums.count * narrowingCost,
                                           threads: threads, unused: Int64(0)) { elements in
            let first = elements.lowerBound
            return ck_relu_keep(base + first, elements.count, keep.map { $0.baseAddress! + first }, keep == nil ? 0 : mantissa)
        }.max() ?? 0
        guard keep != nil else { return kept.magnitude }
        let (scaled, overflow) = kept.multipliedReportingOverflow(by: mantissa)
        precondition(!overflow, "dropout scale \(mantissa) times the sum \(kept) overflows Int64")
        return scaled.magnitude
    }

    /// ReLU's derivative on exact sums from the layer's output codes, then a
    /// scale: `sums[i] = (codes[i] > 0 ? sums[i] : 0) * mantissa` (C, vectorised
    /// for the active kernel path). Returns the largest `|sums[i]|` afterwards,
    /// so that a dynamic format needs no scan of its own. A product beyond
    /// Int64 is a precondition failure, as the Swift multiply was.
    @discardableResult
    public static func gate(_ sums: UnsafeMutableBufferPointer<Int64>, byCodes codes: UnsafeBufferPointer<Int16>,
                            mantissa: Int64 = 1) -> UInt64 {
        precondition(codes.count == sums.count, "\(codes.count) codes for \(sums.count) sums")
        guard let base = sums.baseAddress, let codeBase = codes.baseAddress else { return 0 }
        let largest = ck_gate_by_codes(base, codeBase, sums.count, mantissa)
        let product = largest.multipliedReportingOverflow(by: mantissa.magnitude)
        if mantissa != 0 && mantissa != 1 {
            precondition(!product.overflow && product.partialValue <= UInt64(Int64.max),
                         "the scale \(mantissa) times the sum \(largest) overflows Int64")
        }
        return product.partialValue
    }

    /// `a[i] + b[i]` with `FixedPoint.saturate` to `format` (C, vectorised for
    /// the active kernel path), and how many sums saturated.
    public static func saturatingSum(_ a: [Int16], _ b: [Int16], format: FixedPointFormat) -> (codes: [Int16], saturations: Int) {
        precondition(a.count == b.count, "\(a.count) codes and \(b.count) addends")
        var saturations = 0
        let codes = [Int16](unsafeUninitializedCapacity: a.count) { target, count in
            a.withUnsafeBufferPointer { left in
                b.withUnsafeBufferPointer { right in
                    if let target = target.baseAddress, let left = left.baseAddress, let right = right.baseAddress {
                        saturations = ck_saturating_add16(left, right, target, a.count, format.minCode, format.maxCode)
                    }
                }
            }
            count = a.count
        }
        return (codes, saturations)
    }

    /// `requantize` from one buffer into another of the same count. Large
    /// tensors are shared among up to `threads` threads in blocks of elements
    /// (each element's arithmetic and random bits do not depend on the split;
    /// counts are sums, the largest magnitude a maximum).
    public static func requantize(_ accumulators: UnsafeBufferPointer<Int64>, fromFractionalBits: Int,
                                  into codes: UnsafeMutableBufferPointer<Int16>, to format: FixedPointFormat,
                                  mode: RoundingMode, random: StochasticBits, firstIndex: UInt64 = 0, threads: Int = 1,
                                  counters: inout QuantizationCounters) {
        precondition(codes.count == accumulators.count, "\(accumulators.count) sums into \(codes.count) codes")
        precondition(format.storesInInt16, "\(format) codes do not fit in Int16")
        let shift = fromFractionalBits - format.fractionalBits
        precondition((-63...63).contains(shift), "requantising from 2^-\(fromFractionalBits) to \(format) shifts by \(shift)")
        // The loop itself is C (`ck_requantize`): one straight loop per rounding
        // mode, the same arithmetic as `FixedPoint.roundingShiftRight` and
        // `FixedPoint.saturate` element by element.
        let total = accumulators.count
        let parts = TilePartition.mapBlocks(count: total, block: scanBlock, multiplyAdds: total * narrowingCost,
                                            threads: threads, unused: ck_narrowing_counts.none) { elements in
            var counts = ck_narrowing_counts.none
            ck_requantize(accumulators.baseAddress! + elements.lowerBound, elements.count, Int32(shift), format.minCode,
                          format.maxCode, mode.kernelCode, random.key, firstIndex &+ UInt64(elements.lowerBound),
                          codes.baseAddress! + elements.lowerBound, &counts)
            return counts
        }
        let counts = ck_narrowing_counts.total(parts)
        counters.elements += accumulators.count
        counters.saturations += counts.saturations
        counters.roundedToZero += counts.rounded_to_zero
        let scale = Double(sign: .plus, exponent: -fromFractionalBits, significand: 1)
        counters.maxAbsValue = max(counters.maxAbsValue, Double(counts.max_magnitude) * scale)
    }

    /// The real values of `codes`, `code * 2^-n` (exact in `Float` for n in -16...30).
    public static func dequantize(_ codes: [Int16], format: FixedPointFormat) -> [Float] {
        let step = Float(format.step)
        return codes.map { Float($0) * step }
    }
}

extension FixedPointFormat {
    /// Whether every code fits in `Int16`: signed formats up to 16 bits,
    /// unsigned up to 15 (UQ formats of 16 bits would need `UInt16`).
    public var storesInInt16: Bool {
        totalBits <= (signed ? 16 : 15)
    }
}

extension RoundingMode {
    /// The mode's number in the C kernels (`CK_ROUND_*`).
    var kernelCode: Int32 {
        switch self {
        case .truncate: return Int32(CK_ROUND_TRUNCATE)
        case .nearestEven: return Int32(CK_ROUND_NEAREST_EVEN)
        case .nearestAway: return Int32(CK_ROUND_NEAREST_AWAY)
        case .stochastic: return Int32(CK_ROUND_STOCHASTIC)
        }
    }
}

extension ck_narrowing_counts {
    /// Nothing counted yet.
    static let none = ck_narrowing_counts(saturations: 0, rounded_to_zero: 0, max_magnitude: 0)

    /// The counts of the parts of one loop shared among threads: saturations
    /// and values rounded to zero added, the largest magnitude the largest.
    static func total(_ parts: some Sequence<ck_narrowing_counts>) -> ck_narrowing_counts {
        parts.reduce(none) {
            ck_narrowing_counts(saturations: $0.saturations + $1.saturations, rounded_to_zero: $0.rounded_to_zero + $1.rounded_to_zero,
                                max_magnitude: max($0.max_magnitude, $1.max_magnitude))
        }
    }
}
