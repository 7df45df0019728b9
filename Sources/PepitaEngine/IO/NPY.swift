import Foundation

/// Why a `.npy` file could not be read or written. `description` is one line naming
/// the file and the problem.
public enum NPYError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unreadable(file: String, reason: String)
    case unwritable(file: String, reason: String)
    /// The file does not start with `\x93NUMPY`.
    case notNPY(file: String)
    case unsupportedVersion(file: String, major: Int, minor: Int)
    /// The header dictionary is cut short or not the Python literal numpy writes.
    case malformedHeader(file: String, reason: String)
    /// Column-major data; this reader only handles C order, the order all weights use.
    case fortranOrder(file: String)
    case bigEndian(file: String, descr: String)
    case unsupportedDType(file: String, descr: String)
    /// The data after the header is not exactly `product(shape) x itemsize` bytes.
    case sizeMismatch(file: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// Asked to write a number of values that does not match the shape.
    case valueCountMismatch(file: String, shape: [Int], valueCount: Int)
    /// The file is larger than the reader accepts (`NPY.defaultMaxBytes`, or what
    /// the expected shape can need).
    case tooLarge(file: String, bytes: Int, limitBytes: Int)

    public var description: String {
        let line: String
        switch self {
        case let .unreadable(file, reason): line = "\(file): cannot read: \(reason)"
        case let .unwritable(file, reason): line = "\(file): cannot write: \(reason)"
        case let .notNPY(file): line = "\(file): not a .npy file (missing the \\x93NUMPY magic)"
        case let .unsupportedVersion(file, major, minor): line = "\(file): .npy format version \(major).\(minor) is not supported (1.0, 2.0, 3.0 are)"
        case let .malformedHeader(file, reason): line = "\(file): malformed .npy header: \(reason)"
        case let .fortranOrder(file): line = "\(file): array is in Fortran (column-major) order; save it with np.ascontiguousarray"
        case let .bigEndian(file, descr): line = "\(file): big-endian dtype '\(descr)' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))"
        case let .unsupportedDType(file, descr): line = "\(file): dtype '\(descr)' is not supported (use float32, float64, int8, int16, int32, int64 or uint8)"
        case let .sizeMismatch(file, shape, expectedBytes, actualBytes):
            line = "\(file): shape \(NPY.tuple(shape)) needs \(expectedBytes) data bytes but the file has \(actualBytes)"
        case let .valueCountMismatch(file, shape, valueCount):
            line = "\(file): \(valueCount) values do not fill shape \(NPY.tuple(shape))"
        case let .tooLarge(file, bytes, limitBytes):
            line = "\(file): \(bytes) bytes is larger than the \(limitBytes)-byte limit for this array; refusing to read it"
        }
        return DatasetError.singleLine(line)
    }

    public var errorDescription: String? { description }
}

/// An array read from a `.npy` file, converted to `Float`.
///
/// Integer and float64 values are converted with `Float(_:)` (round to nearest
/// even); integers above 2^24 in magnitude and float64 values lose precision, which
/// is harmless for weights but means this is not a general-purpose numpy reader.
public struct NPYArray: Equatable, Sendable {
    /// Dimensions in C (row-major) order; `[]` for a 0-d array holding one value.
    public var shape: [Int]
    /// Elements in C order.
    public var values: [Float]
    /// The numpy dtype string the file declared (`<f4`, `|i1`, ...).
    public var descr: String

    public init(shape: [Int], values: [Float], descr: String) {
        self.shape = shape
        self.values = values
        self.descr = descr
    }

    /// The array in the `.npy` file at `path` (format versions 1.0, 2.0 and 3.0).
    ///
    /// Accepted dtypes: `<f4`, `<f8`, `|i1`, `<i2`, `<i4`, `<i8`, `|u1`, C order.
    /// A file over `maxBytes` is refused before it is read, and the data length is
    /// checked against the header's shape before any value is decoded, so neither
    /// a huge file nor a damaged header can cause a large allocation.
    ///
    /// - Throws: `NPYError`.
    public init(contentsOfFile path: String, maxBytes: Int = NPY.defaultMaxBytes) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw NPYError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw NPYError.unreadable(file: path, reason: "not a regular file") }
        guard Int(status.st_size) <= maxBytes else {
            throw NPYError.tooLarge(file: path, bytes: Int(status.st_size), limitBytes: maxBytes)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw NPYError.unreadable(file: path, reason: error.localizedDescription)
        }
        self = try NPY.parse([UInt8](data), file: path)
    }
}

/// The numpy `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
/// which is how weights leave and enter a run directory (`W0.npy`, `F.npy`, ...), so
/// numpy and PyTorch users can read and supply them directly.
public enum NPY {
    /// The largest `.npy` file read when the caller gives no limit: 2 GiB, above
    /// any weight matrix this toolkit trains.
    public static let defaultMaxBytes = 1 << 31
    /// The longest header accepted: numpy writes under 100 bytes for these arrays
    /// and caps version 1.0 headers at 65535; a longer one is damage.
    public static let maxHeaderBytes = 1 << 16
    /// The deepest nesting of tuples and lists a header may have (a shape is one level).
    static let maxHeaderNesting = 8

    /// Writes `values` with `shape` (C order) as float32 (`<f4`).
    /// - Throws: `NPYError.valueCountMismatch`, `.unwritable`.
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try write(values, shape: shape, descr: "<f4", to: path) { $0.bitPattern }
    }

    /// Writes `values` with `shape` (C order) as int8 (`|i1`).
    public static func write(_ values: [Int8], shape: [Int], to path: String) throws {
        try write(values, shape: shape, descr: "|i1", to: path) { UInt8(bitPattern: $0) }
    }

    /// Writes `values` with `shape` (C order) as little-endian int16 (`<i2`).
    public static func write(_ values: [Int16], shape: [Int], to path: String) throws {
        try write(values, shape: shape, descr: "<i2", to: path) { UInt16(bitPattern: $0) }
    }

    /// Writes `values` with `shape` (C order) as little-endian int32 (`<i4`).
    public static func write(_ values: [Int32], shape: [Int], to path: String) throws {
        try write(values, shape: shape, descr: "<i4", to: path) { UInt32(bitPattern: $0) }
    }

    /// The complete file: version 1.0 preamble, header dictionary padded with spaces
    /// and ended by `\n` so that the data starts at a multiple of 64 bytes (what
    /// numpy itself writes, for aligned memory mapping), then the little-endian data.
    static func encode<Bits: FixedWidthInteger & UnsignedInteger>(count: Int, shape: [Int], descr: String, bits: (Int) -> Bits) -> [UInt8] {
        let dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple(shape)), }"
        let preambleBytes = 10
        let unpadded = preambleBytes + dictionary.utf8.count + 1
        let padding = (64 - unpadded % 64) % 64
        let header = dictionary + String(repeating: " ", count: padding) + "\n"
        let headerBytes = header.utf8.count

        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes.append(UInt8(headerBytes & 0xff))
        bytes.append(UInt8(headerBytes >> 8))
        bytes.append(contentsOf: header.utf8)
        bytes.reserveCapacity(bytes.count + count * MemoryLayout<Bits>.size)
        for index in 0 ..< count {
            withUnsafeBytes(of: bits(index).littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    private static func write<Element, Bits: FixedWidthInteger & UnsignedInteger>(
        _ values: [Element], shape: [Int], descr: String, to path: String, bits: (Element) -> Bits
    ) throws {
        guard let count = elementCount(shape), count == values.count else {
            throw NPYError.valueCountMismatch(file: path, shape: shape, valueCount: values.count)
        }
        try writeAtomically(encode(count: count, shape: shape, descr: descr) { bits(values[$0]) }, to: path)
    }

    /// Through `AtomicFile` (temporary file in the same directory, then rename), so a
    /// reader or a crash never sees a half-written weight file.
    private static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(Data(bytes), to: path)
        } catch let error as FileError {
            throw NPYError.unwritable(file: path, reason: error.reason)
        }
    }

    /// Python's spelling of a shape tuple: `()`, `(5,)`, `(2, 3)`.
    static func tuple(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// The product of `shape`, or nil if a dimension is negative or it overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}

// MARK: - Reading

extension NPY {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The bytes per element and the decoder of one element for each accepted dtype
    /// (without its byte-order character).
    private static let elementDecoders: [String: (size: Int, decode: (UnsafeRawBufferPointer, Int) -> Float)] = [
        "f4": (4, { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self))) }),
        "f8": (8, { Float(Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self)))) }),
        "i1": (1, { Float(Int8(bitPattern: $0[$1])) }),
        "u1": (1, { Float($0[$1]) }),
        "i2": (2, { Float(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int16.self))) }),
        "i4": (4, { Float(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int32.self))) }),
        "i8": (8, { Float(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int64.self))) }),
    ]

    /// The array in the complete `.npy` file `bytes`; `file` names it in errors.
    static func parse(_ bytes: [UInt8], file: String) throws -> NPYArray {
        guard bytes.count >= 8, Array(bytes[0 ..< 6]) == magic else { throw NPYError.notNPY(file: file) }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw NPYError.unsupportedVersion(file: file, major: major, minor: minor)
        }
        let headerStart = 8 + lengthBytes
        guard bytes.count >= headerStart else {
            throw NPYError.malformedHeader(file: file, reason: "the file ends inside the preamble")
        }
        let headerLength = bytes[8 ..< headerStart].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength <= maxHeaderBytes else {
            throw NPYError.malformedHeader(file: file, reason: "header length \(headerLength) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw NPYError.malformedHeader(file: file, reason: "a \(headerLength)-byte header runs past the end of the \(bytes.count)-byte file")
        }
        let header = String(decoding: bytes[headerStart ..< dataStart], as: UTF8.self)
        let fields = try HeaderParser.dictionary(header, file: file)

        guard case let .string(descr)? = fields["descr"] else {
            throw NPYError.unsupportedDType(file: file, descr: fields["descr"].map { "\($0)" } ?? "missing")
        }
        guard case let .bool(fortranOrder)? = fields["fortran_order"] else {
            throw NPYError.malformedHeader(file: file, reason: "no boolean 'fortran_order'")
        }
        guard case let .tuple(dimensions)? = fields["shape"] else {
            throw NPYError.malformedHeader(file: file, reason: "no 'shape' tuple")
        }
        let shape = try dimensions.map { value -> Int in
            guard case let .integer(dimension) = value, dimension >= 0 else {
                throw NPYError.malformedHeader(file: file, reason: "shape holds \(value), not a dimension")
            }
            return dimension
        }
        // With at most one dimension C and Fortran order are the same layout.
        guard !fortranOrder || shape.count <= 1 else { throw NPYError.fortranOrder(file: file) }

        let byteOrder = descr.first.map(String.init) ?? ""
        guard let element = elementDecoders[String(descr.dropFirst())], ["<", "|", ">", "="].contains(byteOrder) else {
            throw NPYError.unsupportedDType(file: file, descr: descr)
        }
        if element.size > 1 && byteOrder != "<" {
            throw byteOrder == ">" ? NPYError.bigEndian(file: file, descr: descr) : NPYError.unsupportedDType(file: file, descr: descr)
        }

        let actualBytes = bytes.count - dataStart
        guard let count = elementCount(shape) else {
            throw NPYError.malformedHeader(file: file, reason: "shape \(tuple(shape)) overflows")
        }
        let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: element.size)
        guard !overflow, expectedBytes == actualBytes else {
            throw NPYError.sizeMismatch(file: file, shape: shape, expectedBytes: overflow ? Int.max : expectedBytes, actualBytes: actualBytes)
        }
        let values = bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            return (0 ..< count).map { element.decode(data, $0 * element.size) }
        }
        return NPYArray(shape: shape, values: values, descr: descr)
    }

    /// A parser for the Python literal numpy writes as the header: a dict of string
    /// keys whose values are strings, `True`/`False`, integers and tuples of integers
    /// (old Python 2 files write `3L`). Lists are parsed so that a structured dtype
    /// gets a clear "unsupported dtype" error rather than a syntax error.
    private struct HeaderParser {
        indirect enum Value: CustomStringConvertible {
            case string(String), bool(Bool), integer(Int), tuple([Value]), list([Value])

            var description: String {
                switch self {
                case let .string(text): return "'\(text)'"
                case let .bool(flag): return flag ? "True" : "False"
                case let .integer(number): return String(number)
                case let .tuple(items): return "(" + items.map(\.description).joined(separator: ", ") + ")"
                case let .list(items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
                }
            }
        }

        private let characters: [Character]
        private var position = 0
        private var depth = 0
        private let file: String

        static func dictionary(_ text: String, file: String) throws -> [String: Value] {
            var parser = HeaderParser(characters: Array(text), file: file)
            let fields = try parser.parseDictionary()
            parser.skipWhitespace()
            guard parser.position == parser.characters.count else { throw parser.failure("text after the closing '}'") }
            return fields
        }

        private init(characters: [Character], file: String) {
            self.characters = characters
            self.file = file
        }

        private mutating func parseDictionary() throws -> [String: Value] {
            try expect("{")
            var fields = [String: Value]()
            while true {
                skipWhitespace()
                if peek() == "}" { position += 1; return fields }
                guard case let .string(key) = try parseValue() else { throw failure("a dictionary key that is not a string") }
                skipWhitespace()
                try expect(":")
                fields[key] = try parseValue()
                skipWhitespace()
                if peek() == "," { position += 1 } else if peek() != "}" { throw failure("expected ',' or '}'") }
            }
        }

        private mutating func parseValue() throws -> Value {
            skipWhitespace()
            switch peek() {
            case "'", "\"":
                let quote = characters[position]
                position += 1
                guard let end = characters[position...].firstIndex(of: quote) else { throw failure("an unterminated string") }
                defer { position = end + 1 }
                return .string(String(characters[position ..< end]))
            case "(": return .tuple(try parseSequence(closing: ")"))
            case "[": return .list(try parseSequence(closing: "]"))
            case let first? where first.isLetter:
                let word = String(characters[position...].prefix { $0.isLetter })
                position += word.count
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                default: throw failure("unexpected word '\(word)'")
                }
            case let first? where first.isASCII && (first.isNumber || first == "-"):
                let digits = String(characters[position...].prefix { $0 == "-" || ($0.isASCII && $0.isNumber) })
                position += digits.count
                if peek() == "L" { position += 1 }
                guard let number = Int(digits) else { throw failure("an integer '\(digits)' out of range") }
                return .integer(number)
            default:
                throw failure("unexpected \(peek().map { "'\($0)'" } ?? "end of header")")
            }
        }

        private mutating func parseSequence(closing: Character) throws -> [Value] {
            depth += 1
            defer { depth -= 1 }
            guard depth <= NPY.maxHeaderNesting else { throw failure("nesting deeper than \(NPY.maxHeaderNesting) levels") }
            position += 1
            var items = [Value]()
            while true {
                skipWhitespace()
                if peek() == closing { position += 1; return items }
                items.append(try parseValue())
                skipWhitespace()
                if peek() == "," { position += 1 } else if peek() != closing { throw failure("expected ',' or '\(closing)'") }
            }
        }

        private func peek() -> Character? { position < characters.count ? characters[position] : nil }

        private mutating func skipWhitespace() {
            while let next = peek(), next.isWhitespace { position += 1 }
        }

        private mutating func expect(_ character: Character) throws {
            skipWhitespace()
            guard peek() == character else { throw failure("expected '\(character)'") }
            position += 1
        }

        private func failure(_ problem: String) -> NPYError {
            NPYError.malformedHeader(file: file, reason: "\(problem) at character \(position)")
        }
    }
}
