import Foundation
import Quantized

/// Collects every tensor of one fixed-point training step, in the order the
/// step computes them, for golden test vectors (`pepita-edge golden`): what a
/// verification engineer feeds an RTL testbench.
///
/// Attach it to `FixedPointArithmetic.recorder`; the rules, the network and
/// the optimiser record their tensors by name while it is attached.
public final class GoldenRecorder {
    public struct Entry: Codable, Equatable {
        public var name: String
        public var file: String
        public var shape: [Int]
        /// numpy dtype of the file: `int8`, `int16` or `int32`.
        public var dtype: String
        /// Tensor role whose format the codes are in (nil for masks and labels).
        public var role: TensorRole?
        /// Q notation of the codes' format (or `integer` for exact sums, `flag`, `label`).
        public var format: String
        /// `value = code * 2^-fractionalBits`.
        public var fractionalBits: Int
        public var note: String
    }

    public private(set) var entries: [Entry] = []
    private var payloads: [(values: [Int32], bits: Int)] = []
    /// Prepended to names (e.g. `pass1.`), set by the rule around each forward pass.
    public var prefix = ""

    public init() {}

    public func record(_ name: String, _ matrix: FixedMatrix, role: TensorRole, shape: [Int]? = nil, note: String = "") {
        append(name: prefix + name, values: matrix.codes.map(Int32.init), bits: matrix.format.totalBits <= 8 ? 8 : 16,
               shape: shape ?? [matrix.rows, matrix.columns], role: role, format: matrix.format.description,
               fractionalBits: matrix.format.fractionalBits, note: note)
    }

    /// Exact sums after the 32-bit accumulator policy (so they fit int32).
    public func record(_ name: String, _ sums: ExactSums, note: String = "") {
        append(name: prefix + name, values: sums.values.map { Int32(truncatingIfNeeded: $0) }, bits: 32,
               shape: [sums.rows, sums.columns], role: nil, format: "int32 accumulator",
               fractionalBits: sums.fractionalBits, note: note)
    }

    /// Small integers (labels, dropout keep flags) as int8 or int32.
    public func record(_ name: String, integers: [Int32], shape: [Int], note: String) {
        let bits = integers.allSatisfy { (-128...127).contains($0) } ? 8 : 32
        append(name: prefix + name, values: integers, bits: bits, shape: shape, role: nil, format: "integer",
               fractionalBits: 0, note: note)
    }

    private func append(name: String, values: [Int32], bits: Int, shape: [Int], role: TensorRole?, format: String,
                        fractionalBits: Int, note: String) {
        let index = entries.count
        let file = String(format: "%03d-", index) + name.replacingOccurrences(of: "/", with: "_") + ".npy"
        entries.append(Entry(name: name, file: file, shape: shape, dtype: "int\(bits)", role: role, format: format,
                             fractionalBits: fractionalBits, note: note))
        payloads.append((values, bits))
    }

    /// Writes every tensor as `.npy` into `directory` and `manifest.json` describing them.
    public func write<Header: Encodable>(to directory: String, header: Header) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (entry, payload) in zip(entries, payloads) {
            let path = directory + "/" + entry.file
            switch payload.bits {
            case 8: try NPY.write(payload.values.map { Int8(truncatingIfNeeded: $0) }, shape: entry.shape, to: path)
            case 16: try NPY.write(payload.values.map { Int16(truncatingIfNeeded: $0) }, shape: entry.shape, to: path)
            default: try NPY.write(payload.values, shape: entry.shape, to: path)
            }
        }
        try AtomicFile.writeJSON(GoldenManifest(header: header, tensors: entries), to: directory + "/manifest.json")
    }
}

/// `manifest.json` of a golden-vector directory.
struct GoldenManifest<Header: Encodable>: Encodable {
    var schemaVersion = 1
    var header: Header
    var tensors: [GoldenRecorder.Entry]
}
