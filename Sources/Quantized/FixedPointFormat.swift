/// A binary fixed-point number format: `totalBits` of two's complement (or
/// unsigned) integer code, of which `fractionalBits` sit after the binary point.
/// A code `q` stands for the real value `q * 2^-fractionalBits`.
///
/// Named in Q notation: signed `Qm.n` has `m = totalBits - 1 - n` integer bits,
/// one sign bit and `n` fractional bits (Q1.6 is 8 bits, range [-2, 2 - 2^-6]);
/// unsigned `UQm.n` has `m = totalBits - n`. `n` may exceed the width (values
/// all below 1) or be negative (coarse steps of 2^-n); `m` may then be negative.
///
/// Storage is int8 for up to 8 bits and int16 for up to 16.
public struct FixedPointFormat: Codable, Hashable, Sendable, CustomStringConvertible {
    public var totalBits: Int
    public var fractionalBits: Int
    public var signed: Bool

    /// Creates a format; see `validate()` for the allowed ranges.
    public init(totalBits: Int, fractionalBits: Int, signed: Bool = true) {
        self.totalBits = totalBits
        self.fractionalBits = fractionalBits
        self.signed = signed
    }

    /// Allowed: `totalBits` in 2...16, `fractionalBits` in -16...30.
    public func validate() throws {
        guard (2...16).contains(totalBits) else { throw FixedPointError.badTotalBits(totalBits) }
        guard (-16...30).contains(fractionalBits) else { throw FixedPointError.badFractionalBits(fractionalBits) }
    }

    /// Smallest and largest code.
    public var minCode: Int32 { signed ? -(Int32(1) << (totalBits - 1)) : 0 }
    public var maxCode: Int32 { signed ? (Int32(1) << (totalBits - 1)) - 1 : (Int32(1) << totalBits) - 1 }

    /// Value of one step, `2^-fractionalBits`.
    public var step: Double { Double(sign: .plus, exponent: -fractionalBits, significand: 1) }
    public var minValue: Double { Double(minCode) * step }
    public var maxValue: Double { Double(maxCode) * step }

    /// `Qm.n` or `UQm.n`.
    public var description: String {
        signed ? "Q\(totalBits - 1 - fractionalBits).\(fractionalBits)" : "UQ\(totalBits - fractionalBits).\(fractionalBits)"
    }
}

/// A format or fixed-point setting outside what the arithmetic supports.
public enum FixedPointError: Error, Equatable, CustomStringConvertible {
    case badTotalBits(Int)
    case badFractionalBits(Int)
    case badFormatName(String)

    public var description: String {
        switch self {
        case let .badTotalBits(bits): return "total bits must be 2...16, got \(bits)"
        case let .badFractionalBits(bits): return "fractional bits must be -16...30, got \(bits)"
        case let .badFormatName(name): return "'\(name)' is not a fixed-point format (write e.g. Q1.6, Q3.12, UQ0.8)"
        }
    }
}
