import Quantized

/// A seeded, counter-based random generator (SplitMix64).
///
/// The `n`-th draw of a stream is a pure function of `(seed, stream, n)`:
/// `mix64(seed' + (n + 1) * 0x9E3779B97F4A7C15)` where `seed'` mixes the seed
/// with the stream number, and `mix64` is the SplitMix64 finaliser
/// (Steele, Lea & Flood, OOPSLA 2014). Because a draw depends only on its
/// counter, a stream can be saved as one integer and resumed exactly, and
/// separate purposes (initialisation, F, shuffling, dropout) get independent
/// streams that do not shift when another purpose draws more numbers.
public struct RandomStream: Sendable, Equatable, Codable {
    /// What a stream is used for; the raw value is mixed into the seed.
    public enum Purpose: UInt64, Sendable {
        case weights = 1, projection = 2, feedback = 3, shuffle = 4, dropout = 5
    }

    public let seed: UInt64
    public let stream: UInt64
    /// Number of 64-bit values drawn so far.
    public private(set) var counter: UInt64

    private static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    public init(seed: UInt64, purpose: Purpose, counter: UInt64 = 0) {
        self.init(seed: seed, stream: purpose.rawValue, counter: counter)
    }

    public init(seed: UInt64, stream: UInt64, counter: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.counter = counter
    }

    @inline(__always)
    static func mix64(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        counter &+= 1
        return RandomStream.mix64(base &+ counter &* RandomStream.golden)
    }

    /// The stream's starting point: `seed` mixed with the stream number.
    private var base: UInt64 { RandomStream.mix64(seed ^ RandomStream.mix64(stream &* RandomStream.golden)) }

    /// A float uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Fills `values` with `value` where `nextUnitFloat() < probability` and 0
    /// elsewhere, drawing one number per element in order: the same elements and
    /// the same counter afterwards as that loop, without a branch per element
    /// (`nextUnitFloat()` is `x * 2^-24` for a 24-bit integer `x`, so the test is
    /// `x < probability * 2^-24` rounded up).
    /// Large fills are shared among up to `threads` threads (C, vectorised; each
    /// draw depends on its index only).
    public mutating func fillBernoulli(_ values: UnsafeMutableBufferPointer<Float>, probability: Float, value: Float,
                                       threads: Int = 1) {
        let limit = !(probability > 0) ? 0 : probability >= 1 ? UInt64(1) << 24 : UInt64((probability * 0x1p24).rounded(.up))
        FloatElementwise.fillBernoulli(values, base: base, firstIndex: counter, limit: limit, value: value, threads: threads)
        counter = counter &+ UInt64(values.count)
    }

    /// A double uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A float uniform in [-bound, bound), drawn in double then rounded once.
    @inline(__always)
    public mutating func nextSymmetric(bound: Float) -> Float {
        Float((nextUnitDouble() * 2 - 1) * Double(bound))
    }

    /// An integer uniform in 0 ..< upperBound (Lemire's multiply-shift with rejection).
    public mutating func nextIndex(below upperBound: Int) -> Int {
        precondition(upperBound > 0)
        let bound = UInt64(upperBound)
        let threshold = (0 &- bound) % bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold { return Int(product.high) }
        }
    }

    /// A uniformly random permutation of 0 ..< count (Fisher-Yates, from the top).
    public mutating func permutation(count: Int) -> [Int] {
        var order = Array(0..<count)
        if count < 2 { return order }
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, nextIndex(below: i + 1))
        }
        return order
    }
}
