/// The random bits of stochastic rounding: a pure function of
/// `(seed, stream, index)`, so the bits that round element `i` of a tensor never
/// depend on the thread count, the order of evaluation or what was drawn
/// before (SPEC §4: "same seed, same bits, whatever the number of threads").
///
/// The formula, with SplitMix64's increment and finaliser (Steele, Lea and
/// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
///
///     gamma  = 0x9E3779B97F4A7C15
///     mix(z) = z ^= z >> 30; z *= 0xBF58476D1CE4E5B9
///              z ^= z >> 27; z *= 0x94D049BB133111EB
///              z ^ (z >> 31)                             (all modulo 2^64)
///     key          = mix(seed  + gamma * (stream + 1))
///     bits(at: i)  = mix(key   + gamma * (i + 1))
///
/// That is, `key` is output number `stream` (counting from 0) of a sequential
/// SplitMix64 generator seeded with `seed`, and `bits(at: i)` is output number
/// `i` of one seeded with `key`. Separate streams (per training step, per
/// tensor role) start at unrelated points of SplitMix64's 2^64 cycle.
public struct StochasticBits: Sendable, Hashable {
    public let seed: UInt64
    public let stream: UInt64
    /// `mix(seed + gamma * (stream + 1))`, the state the stream counts from.
    public let key: UInt64

    @usableFromInline static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    public init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
        key = Self.mix(seed &+ Self.gamma &* (stream &+ 1))
    }

    /// 64 random bits for element `index`.
    @inlinable
    public func bits(at index: UInt64) -> UInt64 {
        Self.mix(key &+ Self.gamma &* (index &+ 1))
    }

    /// An independent stream derived from this one, e.g. one per training step
    /// and then one per tensor: `StochasticBits(seed: key, stream: id)`.
    public func substream(_ id: UInt64) -> StochasticBits {
        StochasticBits(seed: key, stream: id)
    }

    /// SplitMix64's output function (David Stafford's "Mix13" variant).
    @inlinable
    public static func mix(_ input: UInt64) -> UInt64 {
        var z = input
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
