extension FixedPointFormat: LosslessStringConvertible {
    /// Reads Q notation, the inverse of `description`: `Qm.n` is signed with
    /// `m` integer bits, a sign bit and `n` fractional bits (`totalBits = m + n + 1`);
    /// `UQm.n` is unsigned (`totalBits = m + n`). `m` and `n` may be negative:
    /// `Q-2.9` is 8 bits with steps of 2^-9 in [-2^-2, 2^-2). The `Q` may be
    /// lower case. Throws `FixedPointError.badFormatName` for anything else and
    /// the errors of `validate()` for a well-formed name outside the supported
    /// widths, e.g. `Q8.8` (17 bits).
    public init(parsing name: String) throws {
        var rest = Substring(name)
        let signed: Bool
        if rest.hasPrefix("UQ") || rest.hasPrefix("uq") || rest.hasPrefix("uQ") {
            signed = false
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix("Q") || rest.hasPrefix("q") {
            signed = true
            rest = rest.dropFirst()
        } else {
            throw FixedPointError.badFormatName(name)
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let integerBits = Self.smallInteger(parts[0]),
              let fractionalBits = Self.smallInteger(parts[1]) else {
            throw FixedPointError.badFormatName(name)
        }
        self.init(totalBits: integerBits + fractionalBits + (signed ? 1 : 0),
                  fractionalBits: fractionalBits, signed: signed)
        try validate()
    }

    /// `FixedPointFormat("Q1.6")`: the parsed format, or nil if `description`
    /// is not a valid format name.
    public init?(_ description: String) {
        guard let format = try? FixedPointFormat(parsing: description) else { return nil }
        self = format
    }

    /// An optionally signed decimal of at most four digits (so sums cannot overflow).
    private static func smallInteger(_ text: Substring) -> Int? {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : text
        guard (1...4).contains(digits.count), digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int(text)
    }
}

extension FixedPointFormat {
    /// Plain 8-bit integers, Q7.0 (codes -128...127, step 1).
    public static let int8 = FixedPointFormat(totalBits: 8, fractionalBits: 0)
    /// Plain 16-bit integers, Q15.0.
    public static let int16 = FixedPointFormat(totalBits: 16, fractionalBits: 0)
    /// Unsigned 8-bit integers, UQ8.0 (codes 0...255).
    public static let uint8 = FixedPointFormat(totalBits: 8, fractionalBits: 0, signed: false)

    /// Signed 8 bits with `fractionalBits` after the point: `int8(fractionalBits: 6)` is Q1.6.
    public static func int8(fractionalBits: Int) -> FixedPointFormat {
        FixedPointFormat(totalBits: 8, fractionalBits: fractionalBits)
    }

    /// Signed 16 bits with `fractionalBits` after the point: `int16(fractionalBits: 12)` is Q3.12.
    public static func int16(fractionalBits: Int) -> FixedPointFormat {
        FixedPointFormat(totalBits: 16, fractionalBits: fractionalBits)
    }
}
