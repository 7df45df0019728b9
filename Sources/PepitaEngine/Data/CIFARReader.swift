import Foundation

/// Reader for the CIFAR-10 and CIFAR-100 "binary version" files
/// (https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// A file is a sequence of fixed-size records with no header: the label byte(s),
/// then 3072 pixel bytes — 1024 red, 1024 green, 1024 blue, each a 32x32 image in
/// row-major order. That is already channel-major (C, H, W), the order
/// `LabelledSamples` uses, so pixels are copied in place and scaled by `1 / 255`.
///
/// With no header, the only integrity checks available are that the file is a whole
/// number of records and that every label is in range; both are enforced.
public enum CIFARReader {
    /// Which of the two CIFAR datasets, and so which record layout and file names.
    public enum Variant: String, CaseIterable, Sendable {
        /// 10 classes; record = 1 label byte + 3072 pixel bytes;
        /// `data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`.
        case cifar10
        /// 100 fine classes (20 coarse); record = coarse label, fine label, 3072 pixel
        /// bytes; `train.bin` and `test.bin`. The fine label is used.
        case cifar100

        public var classCount: Int { self == .cifar10 ? 10 : 100 }
        /// Bytes in front of the pixels of each record.
        public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        /// Offset of the label this reader uses within a record.
        var labelOffset: Int { labelBytes - 1 }
        public var recordBytes: Int { labelBytes + CIFARReader.imageShape.featureCount }
        /// Folder the official archive unpacks to.
        public var archiveDirectoryName: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }
        public var trainFileNames: [String] {
            self == .cifar10 ? (1 ... 5).map { "data_batch_\($0).bin" } : ["train.bin"]
        }
        public var testFileNames: [String] { self == .cifar10 ? ["test_batch.bin"] : ["test.bin"] }
    }

    /// Every CIFAR image is 3 channels of 32x32.
    public static let imageShape = SampleShape(channels: 3, height: 32, width: 32)

    /// The training and test sets of `variant`, read from `directory` or from the
    /// archive's folder inside it (`cifar-10-batches-bin/`, `cifar-100-binary/`).
    ///
    /// - Throws: `DatasetError.notFound` naming the missing files and the folders
    ///   searched; any error of `samples(bytes:file:variant:)` for a damaged file.
    public static func dataset(_ variant: Variant, directory: String) throws -> Dataset {
        let candidates = [directory, (directory as NSString).appendingPathComponent(variant.archiveDirectoryName)]
        let required = variant.trainFileNames + variant.testFileNames
        let fileManager = FileManager.default
        guard let found = candidates.first(where: { folder in
            required.allSatisfy { fileManager.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
        }) else {
            throw DatasetError.notFound(dataset: variant.rawValue, missing: required.joined(separator: ", "),
                                        searched: candidates, hint: "download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html")
        }
        let paths = { (names: [String]) in names.map { (found as NSString).appendingPathComponent($0) } }
        let train = try samples(files: paths(variant.trainFileNames), variant: variant)
        let test = try samples(files: paths(variant.testFileNames), variant: variant)
        return Dataset(name: variant.rawValue, source: found, train: train, test: test)
    }

    /// The records of several files, concatenated in the order given.
    public static func samples(files: [String], variant: Variant) throws -> LabelledSamples {
        var pixels = [Float]()
        var labels = [Int32]()
        for file in files {
            let batch = try samples(bytes: Gzip.contentsOfFile(atPath: file), file: file, variant: variant)
            pixels.append(contentsOf: batch.pixels)
            labels.append(contentsOf: batch.labels)
        }
        return LabelledSamples(shape: imageShape, classCount: variant.classCount, pixels: pixels, labels: labels)
    }

    /// The records in `bytes` (one file's content); `file` names it in errors.
    ///
    /// - Throws: `DatasetError.partialRecord` if the size is not a multiple of
    ///   `variant.recordBytes`, `.truncated` if it holds no record at all,
    ///   `.labelOutOfRange` for a label not below `variant.classCount`.
    public static func samples(bytes: [UInt8], file: String, variant: Variant) throws -> LabelledSamples {
        let recordBytes = variant.recordBytes
        guard !bytes.isEmpty else {
            throw DatasetError.truncated(file: file, expectedBytes: recordBytes, actualBytes: 0)
        }
        guard bytes.count % recordBytes == 0 else {
            throw DatasetError.partialRecord(file: file, fileBytes: bytes.count, recordBytes: recordBytes)
        }
        let count = bytes.count / recordBytes
        let featureCount = imageShape.featureCount
        var pixels = [Float]()
        pixels.reserveCapacity(count * featureCount)
        var labels = [Int32]()
        labels.reserveCapacity(count)
        for index in 0 ..< count {
            let recordStart = index * recordBytes
            let label = Int(bytes[recordStart + variant.labelOffset])
            guard label < variant.classCount else {
                throw DatasetError.labelOutOfRange(file: file, index: index, label: label, classCount: variant.classCount)
            }
            labels.append(Int32(label))
            let pixelStart = recordStart + variant.labelBytes
            pixels.append(contentsOf: bytes[pixelStart ..< pixelStart + featureCount].lazy.map { Float($0) / 255 })
        }
        return LabelledSamples(shape: imageShape, classCount: variant.classCount, pixels: pixels, labels: labels)
    }
}
