import PepitaEngine
import TestSupport
import XCTest

final class DatasetCatalogTests: XCTestCase {
    func testNamesAreTheFiveSupportedDatasets() {
        XCTAssertEqual(DatasetCatalog.names, ["digits", "mnist", "fashion-mnist", "cifar10", "cifar100"])
    }

    /// The table `cost` prices from without data agrees with the data where the data is always here.
    func testTheDigitsDescriptionMatchesTheEmbeddedSet() throws {
        let dataset = try DatasetCatalog.load(name: "digits", dataDirectory: nil)
        let description = try XCTUnwrap(DatasetCatalog.descriptions.first { $0.name == "digits" })
        XCTAssertEqual(description.shape, dataset.shape)
        XCTAssertEqual(description.classes, dataset.classCount)
        XCTAssertEqual(description.trainingSamples, dataset.train.count)
    }

    func testDigitsWithoutADirectoryIsTheEmbeddedSet() throws {
        let dataset = try DatasetCatalog.load(name: "digits", dataDirectory: nil)
        XCTAssertEqual(dataset.source, "embedded")
        XCTAssertEqual(dataset.train.count, 1437)
    }

    func testDigitsWithADirectoryReadsItsFiles() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory, gzip: true, trainCount: 3, testCount: 2)
        let dataset = try DatasetCatalog.load(name: "digits", dataDirectory: directory.path)
        XCTAssertEqual(dataset.source, directory.path)
        XCTAssertEqual(dataset.train.count, 3)
    }

    func testMNISTReadsStandardNamesWithExactValues() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory)
        let dataset = try DatasetCatalog.load(name: "mnist", dataDirectory: directory.path)
        XCTAssertEqual(dataset.name, "mnist")
        XCTAssertEqual(dataset.shape, SampleShape(channels: 1, height: 2, width: 2))
        XCTAssertEqual(dataset.train.labels, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(dataset.test.labels, [0, 1, 2, 3])
        XCTAssertEqual(Array(dataset.train.pixels[4 ..< 8]), [Float](repeating: Float(1) / 255, count: 4))
        XCTAssertEqual(dataset.test.pixels[0], 1)
    }

    func testMNISTFindsTheTorchvisionRawFolder() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory, folder: "MNIST/raw", gzip: true)
        let dataset = try DatasetCatalog.load(name: "mnist", dataDirectory: directory.path)
        XCTAssertEqual(dataset.source, directory.path("MNIST/raw"))
        XCTAssertEqual(dataset.train.count, 6)
    }

    func testMNISTAcceptsTheDottedFileNames() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory, pattern: "{split}-{kind}.{dims}-ubyte", gzip: true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path("train-images.idx3-ubyte.gz")))
        let dataset = try DatasetCatalog.load(name: "mnist", dataDirectory: directory.path)
        XCTAssertEqual(dataset.train.count, 6)
        XCTAssertEqual(dataset.test.count, 4)
    }

    func testFashionMNISTReadsAGivenDirectory() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory, folder: "FashionMNIST/raw")
        let dataset = try DatasetCatalog.load(name: "fashion-mnist", dataDirectory: directory.path)
        XCTAssertEqual(dataset.name, "fashion-mnist")
        XCTAssertEqual(dataset.test.count, 4)
    }

    func testMissingFilesThrowNotFoundNamingThemAndTheFoldersSearched() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory)
        try FileManager.default.removeItem(atPath: directory.path("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try DatasetCatalog.load(name: "mnist", dataDirectory: directory.path)) { error in
            XCTAssertEqual(error as? DatasetError, .notFound(dataset: "mnist", missing: "t10k-labels-idx1-ubyte[.gz]",
                                                             searched: [directory.path, directory.path("MNIST/raw")], hint: nil))
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    func testMissingDirectoryThrowsNotFound() {
        XCTAssertThrowsError(try DatasetCatalog.load(name: "cifar10", dataDirectory: "/nonexistent/cifar")) { error in
            XCTAssertEqual(error as? DatasetError, .notFound(dataset: "cifar10", missing: "data directory", searched: ["/nonexistent/cifar"], hint: nil))
        }
    }

    func testDatasetsWithoutADefaultLocationNeedADirectory() {
        for name in ["mnist", "cifar10", "cifar100"] {
            XCTAssertThrowsError(try DatasetCatalog.load(name: name, dataDirectory: nil)) { error in
                guard case DatasetError.dataDirectoryRequired(name, _)? = error as? DatasetError else { return XCTFail("\(error)") }
            }
        }
    }

    func testUnknownNameThrowsListingTheKnownNames() {
        XCTAssertThrowsError(try DatasetCatalog.load(name: "imagenet", dataDirectory: nil)) { error in
            XCTAssertEqual(error as? DatasetError, .unknownDataset(name: "imagenet", known: DatasetCatalog.names))
            XCTAssertTrue("\(error)".contains("fashion-mnist"))
        }
    }

    func testTrainAndTestOfDifferentShapesThrowShapeMismatch() throws {
        let directory = try TempDirectory()
        try IDXFixture.writeSplits(in: directory, side: 2)
        let other = try TempDirectory()
        try IDXFixture.writeSplits(in: other, side: 3)
        for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            try directory.write(other.read(name), to: name)
        }
        XCTAssertThrowsError(try DatasetCatalog.load(name: "mnist", dataDirectory: directory.path)) { error in
            XCTAssertEqual(error as? DatasetError, .shapeMismatch(file: directory.path("t10k-images-idx3-ubyte"),
                                                                  found: SampleShape(channels: 1, height: 3, width: 3),
                                                                  expected: SampleShape(channels: 1, height: 2, width: 2)))
        }
    }

    func testLoadsTheSharedMNISTSubsetWhenPresent() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/data/mnist-subset").standardized.path
        guard FileManager.default.fileExists(atPath: folder) else { throw XCTSkip("\(folder) not present") }
        let dataset = try DatasetCatalog.load(name: "mnist", dataDirectory: folder)
        XCTAssertEqual(dataset.train.count, 5000)
        XCTAssertEqual(dataset.test.count, 10000)
        XCTAssertEqual(dataset.shape, SampleShape(channels: 1, height: 28, width: 28))
    }
}
