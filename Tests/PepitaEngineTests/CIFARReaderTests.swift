import PepitaEngine
import TestSupport
import XCTest

final class CIFARReaderTests: XCTestCase {
    /// One record: label byte(s), then 3072 pixels where red = `seed`, green =
    /// `seed + 1`, blue = `seed + 2`, except the first pixel of each plane = plane index.
    private func record(labels: [UInt8], seed: UInt8) -> [UInt8] {
        var bytes = labels
        for plane in 0 ..< 3 {
            bytes.append(UInt8(plane))
            bytes.append(contentsOf: [UInt8](repeating: seed &+ UInt8(plane), count: 1023))
        }
        return bytes
    }

    func testCIFAR10RecordsDecodeInChannelMajorOrder() throws {
        let bytes = record(labels: [3], seed: 100) + record(labels: [9], seed: 200)
        let samples = try CIFARReader.samples(bytes: bytes, file: "batch", variant: .cifar10)
        XCTAssertEqual(samples.shape, SampleShape(channels: 3, height: 32, width: 32))
        XCTAssertEqual(samples.classCount, 10)
        XCTAssertEqual(samples.labels, [3, 9])
        XCTAssertEqual(samples.pixels.count, 2 * 3072)
        for (sample, seed) in [(0, 100), (1, 200)] {
            for plane in 0 ..< 3 {
                let start = sample * 3072 + plane * 1024
                XCTAssertEqual(samples.pixels[start], Float(plane) / 255)
                XCTAssertEqual(samples.pixels[start + 1], Float(seed + plane) / 255)
                XCTAssertEqual(samples.pixels[start + 1023], Float(seed + plane) / 255)
            }
        }
    }

    func testCIFAR100UsesTheFineLabel() throws {
        let bytes = record(labels: [19, 99], seed: 1) + record(labels: [0, 42], seed: 2)
        let samples = try CIFARReader.samples(bytes: bytes, file: "train.bin", variant: .cifar100)
        XCTAssertEqual(samples.classCount, 100)
        XCTAssertEqual(samples.labels, [99, 42])
        XCTAssertEqual(samples.pixels[1], Float(1) / 255)
    }

    func testSizeNotAMultipleOfTheRecordThrowsPartialRecord() {
        let bytes = record(labels: [1], seed: 0) + record(labels: [2], seed: 0).dropLast(2)
        XCTAssertThrowsError(try CIFARReader.samples(bytes: bytes, file: "data_batch_1.bin", variant: .cifar10)) { error in
            XCTAssertEqual(error as? DatasetError, .partialRecord(file: "data_batch_1.bin", fileBytes: 6144, recordBytes: 3073))
            XCTAssertTrue("\(error)".contains("3071 bytes left over"), "\(error)")
        }
    }

    func testCIFAR10FileReadAsCIFAR100ThrowsPartialRecord() {
        XCTAssertThrowsError(try CIFARReader.samples(bytes: record(labels: [1], seed: 0), file: "test.bin", variant: .cifar100)) { error in
            XCTAssertEqual(error as? DatasetError, .partialRecord(file: "test.bin", fileBytes: 3073, recordBytes: 3074))
        }
    }

    func testEmptyFileThrowsTruncated() {
        XCTAssertThrowsError(try CIFARReader.samples(bytes: [], file: "test_batch.bin", variant: .cifar10)) { error in
            XCTAssertEqual(error as? DatasetError, .truncated(file: "test_batch.bin", expectedBytes: 3073, actualBytes: 0))
        }
    }

    func testLabelOutOfRangeThrows() {
        let bytes = record(labels: [1], seed: 0) + record(labels: [10], seed: 0)
        XCTAssertThrowsError(try CIFARReader.samples(bytes: bytes, file: "batch", variant: .cifar10)) { error in
            XCTAssertEqual(error as? DatasetError, .labelOutOfRange(file: "batch", index: 1, label: 10, classCount: 10))
        }
    }

    func testCIFAR10DatasetReadsTheFiveBatchesInOrderFromTheArchiveFolder() throws {
        let directory = try TempDirectory()
        for batch in 1 ... 5 {
            try directory.write(record(labels: [UInt8(batch)], seed: 0) + record(labels: [0], seed: 0),
                                to: "cifar-10-batches-bin/data_batch_\(batch).bin")
        }
        try directory.write(record(labels: [7], seed: 0), to: "cifar-10-batches-bin/test_batch.bin")
        let dataset = try CIFARReader.dataset(.cifar10, directory: directory.path)
        XCTAssertEqual(dataset.name, "cifar10")
        XCTAssertEqual(dataset.source, directory.path("cifar-10-batches-bin"))
        XCTAssertEqual(dataset.train.labels, [1, 0, 2, 0, 3, 0, 4, 0, 5, 0])
        XCTAssertEqual(dataset.test.labels, [7])
        XCTAssertEqual(dataset.train.pixels.count, 10 * 3072)
    }

    func testCIFAR100DatasetReadsFilesInTheGivenDirectory() throws {
        let directory = try TempDirectory()
        try directory.write(record(labels: [0, 5], seed: 0), to: "train.bin")
        try directory.write(record(labels: [0, 6], seed: 0), to: "test.bin")
        let dataset = try CIFARReader.dataset(.cifar100, directory: directory.path)
        XCTAssertEqual(dataset.train.labels, [5])
        XCTAssertEqual(dataset.test.labels, [6])
        XCTAssertEqual(dataset.classCount, 100)
    }

    func testMissingBatchThrowsNotFoundNamingTheFilesAndFolders() throws {
        let directory = try TempDirectory()
        try directory.write(record(labels: [0], seed: 0), to: "data_batch_1.bin")
        XCTAssertThrowsError(try CIFARReader.dataset(.cifar10, directory: directory.path)) { error in
            guard case let DatasetError.notFound("cifar10", missing, searched, _)? = error as? DatasetError else { return XCTFail("\(error)") }
            XCTAssertTrue(missing.contains("test_batch.bin"))
            XCTAssertEqual(searched, [directory.path, directory.path("cifar-10-batches-bin")])
        }
    }
}
