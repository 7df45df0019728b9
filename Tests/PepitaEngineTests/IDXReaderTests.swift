@testable import PepitaEngine
import TestSupport
import XCTest

/// Builders of IDX file bytes, shared by the IDX, catalog and split tests.
enum IDXFixture {
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    /// An image file header for `count` images of `rows x columns`, then `pixels`.
    static func images(count: Int, rows: Int, columns: Int, pixels: [UInt8], magic: UInt32 = IDXReader.imagesMagic) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns)) + pixels
    }

    /// A label file holding `labels`.
    static func labels(_ labels: [UInt8], magic: UInt32 = IDXReader.labelsMagic) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
    }

    /// Writes the four MNIST-style files into `folder` of `directory` under the
    /// given name pattern (`{split}`, `{kind}`, `{dims}` replaced by e.g. `train`,
    /// `images`, `idx3`), gzipped if `gzip`.
    /// Training images have pixel value = sample index; test images 255 - index.
    static func writeSplits(in directory: TempDirectory, folder: String = ".", pattern: String = "{split}-{kind}-{dims}-ubyte",
                            gzip: Bool = false, trainCount: Int = 6, testCount: Int = 4, side: Int = 2) throws {
        func file(_ split: String, _ kind: String, _ dims: String) -> String {
            folder + "/" + pattern.replacingOccurrences(of: "{split}", with: split)
                .replacingOccurrences(of: "{kind}", with: kind).replacingOccurrences(of: "{dims}", with: dims)
        }
        let write = { (bytes: [UInt8], name: String) in
            _ = gzip ? try directory.writeGzipped(bytes, to: name + ".gz") : try directory.write(bytes, to: name)
        }
        for (split, count) in [("train", trainCount), ("t10k", testCount)] {
            let pixels = (0 ..< count).flatMap { index in
                [UInt8](repeating: UInt8(split == "train" ? index : 255 - index), count: side * side)
            }
            try write(images(count: count, rows: side, columns: side, pixels: pixels), file(split, "images", "idx3"))
            try write(labels((0 ..< count).map { UInt8($0 % 10) }), file(split, "labels", "idx1"))
        }
    }
}

final class IDXReaderTests: XCTestCase {
    func testReadsExactPixelsLabelsAndShape() throws {
        let imageBytes = IDXFixture.images(count: 2, rows: 2, columns: 3, pixels: [0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8])
        let samples = try IDXReader.samples(imageBytes: imageBytes, imagesFile: "images",
                                            labelBytes: IDXFixture.labels([7, 0]), labelsFile: "labels")
        XCTAssertEqual(samples.shape, SampleShape(channels: 1, height: 2, width: 3))
        XCTAssertEqual(samples.classCount, 10)
        XCTAssertEqual(samples.labels, [7, 0])
        XCTAssertEqual(samples.pixels, [0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8].map { Float($0) / 255 })
        XCTAssertEqual(samples.pixels[6], 1)
    }

    func testEveryByteValueScalesToByteOver255() throws {
        let bytes = (0 ... 255).map(UInt8.init)
        let samples = try IDXReader.samples(imageBytes: IDXFixture.images(count: 1, rows: 16, columns: 16, pixels: bytes), imagesFile: "images",
                                            labelBytes: IDXFixture.labels([3]), labelsFile: "labels")
        for (byte, pixel) in zip(bytes, samples.pixels) {
            XCTAssertEqual(pixel, Float(Double(byte) / 255), "byte \(byte)")
        }
    }

    func testReadsPlainAndGzippedFiles() throws {
        let directory = try TempDirectory()
        let imageBytes = IDXFixture.images(count: 3, rows: 1, columns: 2, pixels: [10, 20, 30, 40, 50, 60])
        let labelBytes = IDXFixture.labels([1, 2, 9])
        let plain = try IDXReader.samples(imagesFile: directory.write(imageBytes, to: "images"),
                                          labelsFile: directory.write(labelBytes, to: "labels"))
        let gzipped = try IDXReader.samples(imagesFile: directory.writeGzipped(imageBytes, to: "images.gz"),
                                            labelsFile: directory.writeGzipped(labelBytes, to: "labels.gz"))
        XCTAssertEqual(plain.labels, [1, 2, 9])
        XCTAssertEqual(gzipped.labels, plain.labels)
        XCTAssertEqual(gzipped.pixels, plain.pixels)
    }

    func testTruncatedImageFileThrowsTruncated() throws {
        let directory = try TempDirectory()
        let complete = IDXFixture.images(count: 3, rows: 2, columns: 2, pixels: [UInt8](repeating: 1, count: 12))
        let images = try directory.write(Array(complete.dropLast(5)), to: "images")
        let labels = try directory.write(IDXFixture.labels([0, 1, 2]), to: "labels")
        XCTAssertThrowsError(try IDXReader.samples(imagesFile: images, labelsFile: labels)) { error in
            XCTAssertEqual(error as? DatasetError, .truncated(file: images, expectedBytes: 28, actualBytes: 23))
            XCTAssertTrue("\(error)".hasPrefix(images + ": truncated"), "\(error)")
        }
    }

    func testFileShorterThanItsHeaderThrowsTruncated() {
        XCTAssertThrowsError(try IDXReader.parseImages(IDXFixture.bigEndian(IDXReader.imagesMagic) + [0, 0], file: "images")) { error in
            XCTAssertEqual(error as? DatasetError, .truncated(file: "images", expectedBytes: 16, actualBytes: 6))
        }
    }

    func testBytesBeyondTheHeaderSizeThrowTrailingBytes() {
        let bytes = IDXFixture.labels([1, 2]) + [3]
        XCTAssertThrowsError(try IDXReader.parseLabels(bytes, file: "labels", classCount: 10)) { error in
            XCTAssertEqual(error as? DatasetError, .trailingBytes(file: "labels", expectedBytes: 10, actualBytes: 11))
        }
    }

    func testLabelFileGivenAsImagesThrowsBadMagic() {
        XCTAssertThrowsError(try IDXReader.samples(imageBytes: IDXFixture.labels([1]), imagesFile: "swapped",
                                                   labelBytes: IDXFixture.labels([1]), labelsFile: "labels")) { error in
            XCTAssertEqual(error as? DatasetError, .badMagic(file: "swapped", found: 0x801, expected: 0x803))
            XCTAssertTrue("\(error)".contains("0x00000801"), "\(error)")
        }
    }

    func testLabelOutOfRangeThrowsNamingTheSample() {
        XCTAssertThrowsError(try IDXReader.samples(imageBytes: IDXFixture.images(count: 3, rows: 1, columns: 1, pixels: [0, 0, 0]), imagesFile: "images",
                                                   labelBytes: IDXFixture.labels([9, 10, 1]), labelsFile: "labels")) { error in
            XCTAssertEqual(error as? DatasetError, .labelOutOfRange(file: "labels", index: 1, label: 10, classCount: 10))
        }
    }

    func testImageCountDifferentFromLabelCountThrowsCountMismatch() {
        XCTAssertThrowsError(try IDXReader.samples(imageBytes: IDXFixture.images(count: 2, rows: 1, columns: 1, pixels: [0, 0]), imagesFile: "images",
                                                   labelBytes: IDXFixture.labels([1, 2, 3]), labelsFile: "labels")) { error in
            XCTAssertEqual(error as? DatasetError, .countMismatch(imagesFile: "images", images: 2, labelsFile: "labels", labels: 3))
        }
    }

    func testHugeHeaderIsRejectedWithoutAllocating() {
        let claimsFourBillion = IDXFixture.images(count: Int(UInt32.max), rows: 28, columns: 28, pixels: [1, 2, 3])
        XCTAssertThrowsError(try IDXReader.parseImages(claimsFourBillion, file: "images")) { error in
            XCTAssertEqual(error as? DatasetError, .truncated(file: "images", expectedBytes: Int(UInt32.max) * 784 + 16, actualBytes: 19))
        }
        let overflowing = IDXFixture.images(count: Int(UInt32.max), rows: Int(UInt32.max), columns: Int(UInt32.max), pixels: [])
        XCTAssertThrowsError(try IDXReader.parseImages(overflowing, file: "images")) { error in
            guard case DatasetError.badHeader("images", _)? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }

    func testZeroImageDimensionOrCountThrowsBadHeader() {
        for (count, rows) in [(2, 0), (0, 8)] {
            XCTAssertThrowsError(try IDXReader.parseImages(IDXFixture.images(count: count, rows: rows, columns: 5, pixels: []), file: "images")) { error in
                guard case DatasetError.badHeader("images", _)? = error as? DatasetError else { return XCTFail("\(error)") }
            }
        }
    }
}
