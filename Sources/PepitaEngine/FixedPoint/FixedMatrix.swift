import Quantized

/// A matrix of fixed-point codes sharing one format (one power-of-two scale):
/// element `(i, j)` stands for `codes[i * columns + j] * 2^-format.fractionalBits`.
/// Codes of every format up to 16 bits are held as `Int16`.
public struct FixedMatrix: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var codes: [Int16]
    public var format: FixedPointFormat

    public init(rows: Int, columns: Int, codes: [Int16], format: FixedPointFormat) {
        precondition(codes.count == rows * columns, "fixed matrix \(rows)x\(columns) given \(codes.count) codes")
        self.rows = rows
        self.columns = columns
        self.codes = codes
        self.format = format
    }

    public var count: Int { codes.count }

    /// Bytes of one element as a chip stores it: the format's bits rounded up
    /// to whole bytes (the engine holds every code in an `Int16`).
    public var elementBytes: Int { (format.totalBits + 7) / 8 }

    /// The real values, as floats (exact for every code of up to 16 bits
    /// whose scale is within float range).
    public var dequantized: Matrix {
        let step = Float(format.step)
        return Matrix(rows: rows, columns: columns, values: codes.map { Float($0) * step })
    }
}

/// Exact integer sums from a fixed-point product (`IntegerGEMM` sums in Int64,
/// then the configured 32-bit accumulator policy is applied): element `i`
/// stands for `values[i] * 2^-fractionalBits`.
public struct ExactSums: Sendable {
    public var rows: Int
    public var columns: Int
    /// Any change to the values forgets a largest magnitude given at init.
    public var values: [Int64] { didSet { knownMaxMagnitude = nil } }
    public var fractionalBits: Int
    private var knownMaxMagnitude: UInt64?

    /// `maxMagnitude`, when given, must be the largest `|values[i]|` (a product
    /// kernel that took it as it stored the sums); `maxMagnitude(threads:)`
    /// then returns it without a scan.
    public init(rows: Int, columns: Int, values: [Int64], fractionalBits: Int, maxMagnitude: UInt64? = nil) {
        precondition(values.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.values = values
        self.fractionalBits = fractionalBits
        knownMaxMagnitude = maxMagnitude
    }

    /// The real number a sum of this magnitude stands for.
    public func realMagnitude(_ magnitude: UInt64) -> Double {
        Double(magnitude) * Double(sign: .plus, exponent: -fractionalBits, significand: 1)
    }

    /// Changes the values in place with `body`, which returns their largest
    /// magnitude afterwards (an in-place kernel that takes it as it stores,
    /// such as ReLU); `maxMagnitude(threads:)` then returns it without a scan.
    public mutating func changeValues(_ body: (UnsafeMutableBufferPointer<Int64>) -> UInt64) {
        let largest = values.withUnsafeMutableBufferPointer { body($0) }
        knownMaxMagnitude = largest
    }

    /// Largest `|values[i]|` as an integer: the one given at init (or by
    /// `changeValues`) while the values are unchanged, else a scan shared
    /// among up to `threads` threads.
    public func maxMagnitude(threads: Int = 1) -> UInt64 {
        knownMaxMagnitude ?? values.withUnsafeBufferPointer { TensorQuantization.maxMagnitude($0, threads: threads) }
    }
}

/// A real scalar applied in fixed point as `mantissa * 2^-shift` (SPEC §4:
/// learning rate and momentum by multiply-and-shift, or by powers of two).
public struct FixedScalar: Equatable, Sendable, Codable {
    public var mantissa: Int64
    public var shift: Int

    /// `multiply-shift`: a 15-bit mantissa in [2^14, 2^15) and the shift that
    /// brings it to `value` (relative error below 2^-15). `power-of-two`:
    /// mantissa 1 and the nearest power of two in log scale.
    public init(_ value: Double, mode: PrecisionConfig.ScalarMode) {
        precondition(value > 0 && value.isFinite)
        switch mode {
        case .multiplyShift:
            var shift = 14 - Int(value.exponent)
            var mantissa = Int64((value * Double(sign: .plus, exponent: shift, significand: 1)).rounded())
            if mantissa >= 1 << 15 { mantissa >>= 1; shift -= 1 }
            self.init(mantissa: mantissa, shift: shift)
        case .powerOfTwo:
            self.init(mantissa: 1, shift: -Int(log2(value).rounded()))
        }
    }

    public init(mantissa: Int64, shift: Int) {
        self.mantissa = mantissa
        self.shift = shift
    }

    public var value: Double { Double(mantissa) * Double(sign: .plus, exponent: -shift, significand: 1) }
}

import Foundation
