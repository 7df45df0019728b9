// Helpers shared by the fixed-point tests of this target.

import Quantized

/// `value` in two's complement binary, `width` bits, grouped by four:
/// `binary(-3, width: 8)` is `1111_1101`. Failing cases print their operands this way.
func binary(_ value: Int64, width: Int = 64) -> String {
    let bits = UInt64(bitPattern: value)
    var text = ""
    for position in stride(from: width - 1, through: 0, by: -1) {
        text.append(bits >> position & 1 == 1 ? "1" : "0")
        if position > 0 && position % 4 == 0 { text.append("_") }
    }
    return text
}

/// Raw 64-bit test values from Knuth's MMIX linear congruential generator,
/// finished with a xorshift of the high bits (independent of `StochasticBits`).
struct SampleBits {
    private var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x5DEE_CE66_D1CE_4E5B }

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }

    /// Uniform in `range` (modulo bias is irrelevant for test sampling).
    mutating func next(in range: ClosedRange<Int64>) -> Int64 {
        let width = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
        return width == 0 ? Int64(bitPattern: next()) : range.lowerBound &+ Int64(bitPattern: next() % width)
    }

    /// A value whose magnitude is spread over every bit length (uniform
    /// exponent, then uniform bits below it), either sign.
    mutating func int64SpreadOverBitLengths() -> Int64 {
        let length = Int(next() % 64)
        let magnitude = length == 0 ? 0 : (next() >> (64 - length)) | (UInt64(1) << (length - 1))
        let value = Int64(bitPattern: magnitude)
        return next() & 1 == 0 ? value : 0 &- value
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Every format with `totalBits` bits that `validate()` accepts, signed and unsigned.
func everyFormat(totalBits: Int) -> [FixedPointFormat] {
    [true, false].flatMap { signed in
        (-16...30).map { FixedPointFormat(totalBits: totalBits, fractionalBits: $0, signed: signed) }
    }
}

/// The deterministic rounding modes (all but `.stochastic`).
let deterministicModes: [RoundingMode] = [.nearestEven, .nearestAway, .truncate]

/// Operands of per-sample products stored sample after sample, as a conv
/// layer's are (`multiplyEachSample`, `multiplySummingSamples`): `A_s` (`m x k`,
/// or one shared `A`) and `B_s` (`k x n`, stored `n x k` when transposed).
struct SampleBatch<Element> {
    let batch: Int, m: Int, n: Int, k: Int, sharedA: Bool, transposeB: Bool
    var a: [Element], b: [Element]

    /// `make(count)` gives `count` values: A's, then B's. Each gets one value
    /// more than the samples use, so that no storage is empty.
    init(batch: Int, m: Int, n: Int, k: Int, sharedA: Bool, transposeB: Bool, make: (Int) -> [Element]) {
        self.batch = batch; self.m = m; self.n = n; self.k = k
        self.sharedA = sharedA; self.transposeB = transposeB
        a = make((sharedA ? 1 : batch) * m * k + 1)
        b = make(batch * k * n + 1)
    }

    var aSampleStride: Int { sharedA ? 0 : m * k }
    var bSampleStride: Int { k * n }

    /// Calls `body` with the views of sample 0.
    func withViews<R>(_ body: (StridedView<Element>, StridedView<Element>) -> R) -> R {
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                body(.rowMajor(aBuffer.baseAddress!, rows: m, columns: k),
                     .of(bBuffer.baseAddress!, storedRows: transposeB ? n : k, storedColumns: transposeB ? k : n,
                         transposed: transposeB))
            }
        }
    }

    var description: String {
        "[\(KernelPath.active.rawValue)] batch \(batch) m \(m) n \(n) k \(k) sharedA \(sharedA) transposeB \(transposeB)"
    }
}
