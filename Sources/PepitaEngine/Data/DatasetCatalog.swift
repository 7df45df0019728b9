import Foundation

/// The datasets the toolkit knows by name, and where it looks for each.
///
/// | name | files | default location |
/// |---|---|---|
/// | `digits` | IDX, 8x8, 10 classes | embedded in the library (`EmbeddedDigits`) |
/// | `mnist` | IDX, 28x28, 10 classes | none: a data directory is required |
/// | `fashion-mnist` | IDX, 28x28, 10 classes | `/usr/share/datasets/fashion-mnist` (Debian `dataset-fashion-mnist`) |
/// | `cifar10` | CIFAR-10 binary, 3x32x32, 10 classes | none |
/// | `cifar100` | CIFAR-100 binary, 3x32x32, 100 fine classes | none |
///
/// IDX files are found under the names torchvision and keras use,
/// `train-images-idx3-ubyte`, `train-images.idx3-ubyte`, each optionally `.gz`
/// (likewise `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`), either in the data directory itself or in the
/// `MNIST/raw/` (`FashionMNIST/raw/`) folder a torchvision download creates in it.
public enum DatasetCatalog {
    /// What each known dataset holds, so that costing a model on it needs no data
    /// on the machine (the readers check the files against the same shapes).
    public struct Description: Sendable {
        public var name: String
        public var shape: SampleShape
        public var classes: Int
        public var trainingSamples: Int
    }

    public static let descriptions = [
        Description(name: "digits", shape: SampleShape(channels: 1, height: 8, width: 8), classes: 10, trainingSamples: 1437),
        Description(name: "mnist", shape: SampleShape(channels: 1, height: 28, width: 28), classes: 10, trainingSamples: 60_000),
        Description(name: "fashion-mnist", shape: SampleShape(channels: 1, height: 28, width: 28), classes: 10, trainingSamples: 60_000),
        Description(name: "cifar10", shape: SampleShape(channels: 3, height: 32, width: 32), classes: 10, trainingSamples: 50_000),
        Description(name: "cifar100", shape: SampleShape(channels: 3, height: 32, width: 32), classes: 100, trainingSamples: 50_000),
    ]

    /// Every name `load(name:dataDirectory:validationFraction:)` accepts.
    public static let names = descriptions.map(\.name)

    /// Where `fashion-mnist` is read from when no data directory is given.
    public static let fashionMNISTDefaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The dataset called `name`, read from `dataDirectory` (or its default
    /// location), with the last `validationFraction` of the training set split off
    /// as the validation set (see `Dataset.splittingValidation(fraction:)`).
    ///
    /// - Throws: `DatasetError.unknownDataset`, `.dataDirectoryRequired`,
    ///   `.notFound` naming the missing files and the folders searched, any reader
    ///   error for a damaged file, `.shapeMismatch` if training and test samples
    ///   differ in shape, `.invalidValidationFraction`.
    public static func load(name: String, dataDirectory: String?, validationFraction: Double = 0) throws -> Dataset {
        try checkValidationFraction(validationFraction)
        let dataset: Dataset
        switch name {
        case "digits":
            dataset = try dataDirectory.map { try loadIDX(name: name, folders: [$0]) } ?? EmbeddedDigits.dataset()
        case "mnist":
            guard let dataDirectory else {
                throw DatasetError.dataDirectoryRequired(dataset: name, expectedContents: "the MNIST IDX files (train-images-idx3-ubyte[.gz], ...)")
            }
            dataset = try loadIDX(name: name, folders: [dataDirectory, (dataDirectory as NSString).appendingPathComponent("MNIST/raw")])
        case "fashion-mnist":
            let directory = dataDirectory ?? fashionMNISTDefaultDirectory
            dataset = try loadIDX(name: name, folders: [directory, (directory as NSString).appendingPathComponent("FashionMNIST/raw")],
                                  hint: dataDirectory == nil ? "install it with 'apt-get install dataset-fashion-mnist' or give a data directory" : nil)
        case "cifar10", "cifar100":
            let variant = CIFARReader.Variant(rawValue: name)!
            guard let dataDirectory else {
                let files = (variant.trainFileNames + variant.testFileNames).joined(separator: ", ")
                throw DatasetError.dataDirectoryRequired(dataset: name, expectedContents: "the binary version (\(files))")
            }
            try requireDirectory(dataDirectory, dataset: name)
            dataset = try CIFARReader.dataset(variant, directory: dataDirectory)
        default:
            throw DatasetError.unknownDataset(name: name, known: names)
        }
        return try dataset.splittingValidation(fraction: validationFraction)
    }

    /// The four IDX files as the first folder of `folders` holding all of them.
    static func loadIDX(name: String, folders: [String], hint: String? = nil) throws -> Dataset {
        try requireDirectory(folders[0], dataset: name, hint: hint)
        let roles = [("train", "images", "idx3"), ("train", "labels", "idx1"), ("t10k", "images", "idx3"), ("t10k", "labels", "idx1")]
        let resolved = folders.map { folder in roles.map { findIDXFile(in: folder, split: $0.0, kind: $0.1, dimensions: $0.2) } }
        guard let index = resolved.firstIndex(where: { $0.allSatisfy { $0 != nil } }) else {
            let best = resolved.max { $0.compactMap { $0 }.count < $1.compactMap { $0 }.count }!
            let missing = zip(roles, best).filter { $0.1 == nil }.map { "\($0.0.0)-\($0.0.1)-\($0.0.2)-ubyte[.gz]" }
            throw DatasetError.notFound(dataset: name, missing: missing.joined(separator: ", "), searched: folders, hint: hint)
        }
        let paths = resolved[index].map { $0! }
        let train = try IDXReader.samples(imagesFile: paths[0], labelsFile: paths[1])
        let test = try IDXReader.samples(imagesFile: paths[2], labelsFile: paths[3])
        guard test.shape == train.shape else {
            throw DatasetError.shapeMismatch(file: paths[2], found: test.shape, expected: train.shape)
        }
        return Dataset(name: name, source: folders[index], train: train, test: test)
    }

    /// The path of e.g. `train-images-idx3-ubyte` in `folder` under any of its
    /// common spellings, uncompressed preferred.
    private static func findIDXFile(in folder: String, split: String, kind: String, dimensions: String) -> String? {
        let stems = ["\(split)-\(kind)-\(dimensions)-ubyte", "\(split)-\(kind).\(dimensions)-ubyte"]
        let candidates = stems.flatMap { [$0, $0 + ".gz"] }.map { (folder as NSString).appendingPathComponent($0) }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    private static func requireDirectory(_ directory: String, dataset: String, hint: String? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.notFound(dataset: dataset, missing: "data directory", searched: [directory], hint: hint)
        }
    }

    static func checkValidationFraction(_ fraction: Double) throws {
        guard fraction >= 0, fraction < 1 else {
            throw DatasetError.invalidValidationFraction(fraction: fraction, reason: "must be at least 0 and below 1")
        }
    }
}

extension Dataset {
    /// This dataset with the last `round(fraction * train.count)` training samples
    /// moved to `validation` (rounded half away from zero).
    ///
    /// The split is deterministic and unshuffled: the same fraction always holds out
    /// the same samples, so validation numbers compare across runs and rules. Files
    /// whose classes are sorted or grouped give an unbalanced validation set; shuffle
    /// the file beforehand if that matters. A fraction of 0 returns the dataset
    /// unchanged. Must be called on a dataset without a validation set.
    ///
    /// - Throws: `DatasetError.invalidValidationFraction` if `fraction` is not in
    ///   `[0, 1)`, or if it would leave the validation or the training set empty.
    public func splittingValidation(fraction: Double) throws -> Dataset {
        precondition(validation == nil, "the validation set is already split off")
        try DatasetCatalog.checkValidationFraction(fraction)
        guard fraction > 0 else { return self }
        let trainCount = train.count
        let validationCount = Int((fraction * Double(trainCount)).rounded(.toNearestOrAwayFromZero))
        guard validationCount > 0 else {
            throw DatasetError.invalidValidationFraction(fraction: fraction, reason: "selects no sample of the \(trainCount) training samples")
        }
        guard validationCount < trainCount else {
            throw DatasetError.invalidValidationFraction(fraction: fraction, reason: "leaves none of the \(trainCount) training samples for training")
        }
        var split = self
        split.train = train.subset(0 ..< trainCount - validationCount)
        split.validation = train.subset(trainCount - validationCount ..< trainCount)
        return split
    }
}
