/// Softmax of one row of integer logits without floating point (SPEC §4:
/// "a documented integer approximation, e.g. base-2 exponent with a small table").
///
/// With logits `x_i = d_i * 2^-f` (`d_i` the exact sums, `f = logitFractionalBits`):
///
///  1. `d_i - max_j d_j <= 0`, so every exponential is at most 1 and the largest is exactly 1.
///  2. The base-2 exponent `t_i = (x_i - max x) * log2(e)` in Q.24: the difference
///     is rounded to 24 fractional bits, clamped at -64 (below, `e^x < 2^-92`,
///     zero at any output precision), multiplied by `log2(e)` in Q1.30 and
///     rounded back to Q.24 (`base2Exponent`).
///  3. `2^t = 2^floor(t) * 2^(j/32) * 2^r`: the top 5 fraction bits `j` index a
///     32-entry table of `2^(j/32)` in Q1.30, the remaining `r < 1/32` goes
///     through the cubic Taylor polynomial `1 + y + y^2/2 + y^3/6` with
///     `y = r ln 2` (truncation error below `(ln2 / 32)^4 / 24 * 2^(1/32) < 2^-26`
///     relative), and the integer part is a rounding right shift (`exp2`).
///     `e_i` is in Q.30: `2^30` for the largest logit.
///  4. `S = sum e_i` in `Int64` (`S >= 2^30`), and the code of output format
///     with `n` fractional bits is `round(e_i * 2^n / S)`, ties up, one exact
///     integer division per element, then saturated.
///
/// Every step rounds to nearest in `Int64` (`FixedPoint.roundingShiftRight`).
///
/// Error bound against the exact softmax of the real logits (`README.md`
/// derives it): steps 2 and 3 give each `e_i` a relative error below `2^-23.5`
/// (rounding the exponent to Q.24, `log2(e)` in Q1.30, the polynomial's
/// truncation and its roundings) plus an absolute `2^-31` (the final shift), so
/// for a row of `m` logits
///
///     |e_i / S - p_exact| <= 2^-22 + (m + 1) * 2^-31      (<= 2^-20 for m <= 1024)
///
/// and step 4 adds half an output step:
///
///     |p_int - p_exact| <= 0.5 * 2^-n + 2^-20
///
/// for every output format whose largest value is at least 1 (Q1.6, Q1.14,
/// UQ1.7, UQ1.14 ...). In UQ0.8 or UQ0.15, whose largest value is `1 - 2^-n`,
/// a probability near 1 saturates and the bound is one step. Measured by
/// `IntegerSoftmaxTests` over random rows of 2 to 1000 logits: `e_i / S` within
/// `2^-26.7` of the exact probability; `|p_int - p_exact|` at most 0.5000 steps
/// for Q1.6, UQ1.7, Q1.14, UQ1.14 and 1.0000 step for UQ0.8, UQ0.15.
///
/// Counts, per element: `elements`; `saturations` (codes clamped, e.g. p = 1
/// in UQ0.8); `roundedToZero` (code 0: every true probability is positive);
/// `maxAbsValue` is the largest probability `2^30 / S`, converted to `Double`
/// for the report only.
public enum IntegerSoftmax {
    /// `probabilities` of an array (one row).
    public static func probabilities(logits: [Int64], logitFractionalBits: Int, output format: FixedPointFormat,
                                     counters: inout QuantizationCounters) -> [Int16] {
        logits.withUnsafeBufferPointer {
            probabilities(logits: $0, logitFractionalBits: logitFractionalBits, output: format, counters: &counters)
        }
    }

    /// The codes of `softmax(logits * 2^-logitFractionalBits)` in `format` for one
    /// row; empty for an empty row. `logitFractionalBits` in -16...62; `format`
    /// with 0...30 fractional bits whose codes fit in `Int16`.
    public static func probabilities(logits: UnsafeBufferPointer<Int64>, logitFractionalBits: Int,
                                     output format: FixedPointFormat,
                                     counters: inout QuantizationCounters) -> [Int16] {
        precondition((-16...62).contains(logitFractionalBits), "logit fractional bits \(logitFractionalBits) outside -16...62")
        precondition((0...30).contains(format.fractionalBits) && format.storesInInt16,
                     "softmax output format \(format) needs 0...30 fractional bits and Int16 codes")
        guard let largest = logits.max() else { return [] }
        var exponentials = [Int64](repeating: 0, count: logits.count)
        var sum: Int64 = 0
        for index in logits.indices {
            let (difference, overflow) = logits[index].subtractingReportingOverflow(largest)
            // A difference beyond Int64 is taken at half scale (one bit lost, far below any output step).
            let exponent = overflow
                ? base2Exponent(difference: (logits[index] >> 1) - (largest >> 1), fractionalBits: logitFractionalBits - 1)
                : base2Exponent(difference: difference, fractionalBits: logitFractionalBits)
            let exponential = exp2(exponent)
            exponentials[index] = exponential
            sum += exponential
        }
        // code = round(e * 2^n / S), ties up: floor((2 e 2^n + S) / (2 S)); e 2^n <= 2^60.
        var saturations = 0, roundedToZero = 0
        let codes = exponentials.map { exponential -> Int16 in
            let quotient = ((exponential << format.fractionalBits) * 2 + sum) / (2 * sum)
            let (code, saturated) = FixedPoint.saturate(quotient, to: format)
            if saturated { saturations += 1 } else if code == 0 { roundedToZero += 1 }
            return Int16(truncatingIfNeeded: code)
        }
        counters.elements += logits.count
        counters.saturations += saturations
        counters.roundedToZero += roundedToZero
        counters.maxAbsValue = max(counters.maxAbsValue, 0x1p30 / Double(sum))
        return codes
    }

    // MARK: The exponential

    /// `round(2^(j/32) * 2^30)` for `j` in `0..<32`.
    static let exp2Table: [Int64] = [
        1_073_741_824, 1_097_253_708, 1_121_280_436, 1_145_833_280,
        1_170_923_762, 1_196_563_654, 1_222_764_986, 1_249_540_052,
        1_276_901_417, 1_304_861_917, 1_333_434_672, 1_362_633_090,
        1_392_470_869, 1_422_962_010, 1_454_120_821, 1_485_961_921,
        1_518_500_250, 1_551_751_076, 1_585_730_000, 1_620_452_965,
        1_655_936_265, 1_692_196_547, 1_729_250_827, 1_767_116_489,
        1_805_811_301, 1_845_353_420, 1_885_761_398, 1_927_054_196,
        1_969_251_188, 2_012_372_174, 2_056_437_387, 2_101_467_502,
    ]
    /// `round(log2(e) * 2^30)`, `round(ln(2) * 2^30)`, `round(2^30 / 6)`.
    static let log2eQ30: Int64 = 1_549_082_005
    static let ln2Q30: Int64 = 744_261_118
    static let sixthQ30: Int64 = 178_956_971
    static let oneQ30: Int64 = 1 << 30
    /// Logit differences below -64 (as real numbers) are treated as -64.
    static let cutoffQ24: Int64 = -(64 << 24)

    /// `round((difference * 2^-fractionalBits) * log2(e) * 2^24)`, for
    /// `difference <= 0` clamped at `-64 * 2^24` before the multiplication.
    static func base2Exponent(difference: Int64, fractionalBits: Int) -> Int64 {
        let shift = fractionalBits - 24
        var differenceQ24: Int64
        if shift >= 0 {
            differenceQ24 = FixedPoint.roundingShiftRight(difference, by: shift, mode: .nearestEven)
        } else {
            differenceQ24 = difference < cutoffQ24 >> -shift ? cutoffQ24 : difference << -shift
        }
        differenceQ24 = max(differenceQ24, cutoffQ24)
        // |differenceQ24 * log2eQ30| <= 2^30 * 2^30.53 < 2^63.
        return FixedPoint.roundingShiftRight(differenceQ24 * log2eQ30, by: 30, mode: .nearestEven)
    }

    /// `2^(t * 2^-24)` in Q.30 for `t <= 0` (Q.24), by table, polynomial and shift.
    static func exp2(_ exponentQ24: Int64) -> Int64 {
        let integerPart = exponentQ24 >> 24                  // floor, <= 0
        let fraction = exponentQ24 & ((1 << 24) - 1)         // [0, 1) in Q.24
        let remainder = fraction & ((1 << 19) - 1)           // r in [0, 1/32) in Q.24
        let y = FixedPoint.roundingShiftRight(remainder * ln2Q30, by: 24, mode: .nearestEven) // r ln2, Q.30
        var polynomial = sixthQ30                            // Horner: 1 + y (1 + y (1/2 + y/6))
        polynomial = oneQ30 / 2 + FixedPoint.roundingShiftRight(y * polynomial, by: 30, mode: .nearestEven)
        polynomial = oneQ30 + FixedPoint.roundingShiftRight(y * polynomial, by: 30, mode: .nearestEven)
        polynomial = oneQ30 + FixedPoint.roundingShiftRight(y * polynomial, by: 30, mode: .nearestEven)
        let mantissa = FixedPoint.roundingShiftRight(exp2Table[Int(fraction >> 19)] * polynomial, by: 30,
                                                     mode: .nearestEven)  // [2^30, 2^31)
        if integerPart < -62 { return 0 }
        return FixedPoint.roundingShiftRight(mantissa, by: Int(-integerPart), mode: .nearestEven)
    }
}
