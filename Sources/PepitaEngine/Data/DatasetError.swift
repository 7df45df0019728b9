import Foundation

/// Why a dataset could not be loaded.
///
/// Every case names the file (or dataset) it is about, and its `description` is one
/// line a user can act on: the command line prints it as is. Loaders throw rather
/// than load part of a file, so a run never trains on data it silently cut short.
public enum DatasetError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file exists but could not be read (permissions, a directory, an I/O error),
    /// or does not exist.
    case unreadable(file: String, reason: String)
    /// The file is shorter than its header (or its format) says it must be.
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    /// The file is longer than its header says: extra bytes mean the header and the
    /// payload disagree, and guessing which one is right would hide corruption.
    case trailingBytes(file: String, expectedBytes: Int, actualBytes: Int)
    /// The first four bytes are not the magic number of the expected IDX kind.
    case badMagic(file: String, found: UInt32, expected: UInt32)
    /// The header is well formed but describes an impossible payload (a zero
    /// dimension, or a size that overflows).
    case badHeader(file: String, reason: String)
    /// Sample `index` carries a label outside `0 ..< classCount`.
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int)
    /// An image file and its label file hold different numbers of samples.
    case countMismatch(imagesFile: String, images: Int, labelsFile: String, labels: Int)
    /// A file's samples have a different shape from the rest of the dataset
    /// (for example a test set of 8x8 images beside a training set of 28x28).
    case shapeMismatch(file: String, found: SampleShape, expected: SampleShape)
    /// A file of fixed-size records (CIFAR batches) ends part-way through a record.
    case partialRecord(file: String, fileBytes: Int, recordBytes: Int)
    /// A required file or directory is missing. `missing` says what was looked for,
    /// `searched` lists the places tried, `hint` how to get the data, if known.
    case notFound(dataset: String, missing: String, searched: [String], hint: String?)
    /// The dataset has no default location and none was given.
    case dataDirectoryRequired(dataset: String, expectedContents: String)
    /// The name is not in `DatasetCatalog.names`.
    case unknownDataset(name: String, known: [String])
    /// The gzip stream is damaged or ends early.
    case corruptGzip(file: String, reason: String)
    /// The file (or its decompressed content) exceeds `limitBytes`; loaders cap sizes
    /// so a damaged header cannot make them allocate without bound.
    case tooLarge(file: String, limitBytes: Int)
    /// A validation fraction outside `[0, 1)`, or one that leaves a set empty.
    case invalidValidationFraction(fraction: Double, reason: String)

    public var description: String {
        let line: String
        switch self {
        case let .unreadable(file, reason):
            line = "\(file): cannot read: \(reason)"
        case let .truncated(file, expectedBytes, actualBytes):
            line = "\(file): truncated: expected \(expectedBytes) bytes, found \(actualBytes); download or copy the file again"
        case let .trailingBytes(file, expectedBytes, actualBytes):
            line = "\(file): \(actualBytes - expectedBytes) unexpected bytes after the data (header describes \(expectedBytes) bytes, file has \(actualBytes)); the file is corrupt or not in this format"
        case let .badMagic(file, found, expected):
            line = "\(file): wrong magic number \(Self.hex(found)), expected \(Self.hex(expected)); not an IDX file of this kind (images vs labels swapped?)"
        case let .badHeader(file, reason):
            line = "\(file): invalid header: \(reason)"
        case let .labelOutOfRange(file, index, label, classCount):
            line = "\(file): label \(label) of sample \(index) is outside 0..<\(classCount)"
        case let .countMismatch(imagesFile, images, labelsFile, labels):
            line = "\(imagesFile) holds \(images) images but \(labelsFile) holds \(labels) labels; the two files do not belong together"
        case let .shapeMismatch(file, found, expected):
            line = "\(file): samples are \(found), expected \(expected) like the rest of the dataset"
        case let .partialRecord(file, fileBytes, recordBytes):
            line = "\(file): size \(fileBytes) bytes is not a whole number of \(recordBytes)-byte records (\(fileBytes % recordBytes) bytes left over); the file is truncated or not in this format"
        case let .notFound(dataset, missing, searched, hint):
            line = "\(dataset): \(missing) not found (searched \(searched.joined(separator: ", ")))"
                + (hint.map { "; \($0)" } ?? "")
        case let .dataDirectoryRequired(dataset, expectedContents):
            line = "\(dataset): needs a data directory holding \(expectedContents)"
        case let .unknownDataset(name, known):
            line = "unknown dataset '\(name)'; known datasets: \(known.joined(separator: ", "))"
        case let .corruptGzip(file, reason):
            line = "\(file): corrupt gzip data: \(reason)"
        case let .tooLarge(file, limitBytes):
            line = "\(file): larger than the \(limitBytes)-byte limit; refusing to load it"
        case let .invalidValidationFraction(fraction, reason):
            line = "validation fraction \(fraction): \(reason)"
        }
        return Self.singleLine(line)
    }

    public var errorDescription: String? { description }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Reasons can come from the system or zlib; fold any line breaks so the message
    /// stays one line on stderr.
    static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
