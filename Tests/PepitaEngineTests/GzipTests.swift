import PepitaEngine
import TestSupport
import XCTest

final class GzipTests: XCTestCase {
    /// Bytes that do not compress to nothing and span several 256 KiB inflate chunks.
    private let payload: [UInt8] = (0 ..< 700_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }

    func testPlainFileIsReturnedUnchanged() throws {
        let directory = try TempDirectory()
        let bytes: [UInt8] = [0, 1, 2, 0x1f, 0xff]
        let file = try directory.write(bytes, to: "plain.bin")
        XCTAssertEqual(try Gzip.contentsOfFile(atPath: file), bytes)
    }

    func testGzippedFileIsInflatedRegardlessOfItsName() throws {
        let directory = try TempDirectory()
        let file = try directory.writeGzipped(payload, to: "named-without-extension")
        XCTAssertEqual(try Gzip.contentsOfFile(atPath: file), payload)
    }

    func testEmptyGzipFileInflatesToNothing() throws {
        let directory = try TempDirectory()
        let file = try directory.writeGzipped([], to: "empty.gz")
        XCTAssertEqual(try Gzip.contentsOfFile(atPath: file), [])
    }

    func testConcatenatedMembersInflateToTheConcatenation() throws {
        let directory = try TempDirectory()
        try directory.writeGzipped([1, 2, 3], to: "a.gz")
        try directory.writeGzipped([4, 5], to: "b.gz")
        let joined = try directory.read("a.gz") + directory.read("b.gz")
        XCTAssertEqual(try Gzip.decompress(joined, file: "joined.gz"), [1, 2, 3, 4, 5])
    }

    func testTruncatedStreamThrowsCorruptGzip() throws {
        let directory = try TempDirectory()
        try directory.writeGzipped(payload, to: "full.gz")
        let compressed = try directory.read("full.gz")
        for kept in [10, compressed.count / 2, compressed.count - 4, compressed.count - 1] {
            let file = try directory.write(Array(compressed[..<kept]), to: "cut.gz")
            XCTAssertThrowsError(try Gzip.contentsOfFile(atPath: file), "kept \(kept) bytes") { error in
                guard case DatasetError.corruptGzip(file, _)? = error as? DatasetError else {
                    return XCTFail("kept \(kept) bytes: \(error)")
                }
            }
        }
    }

    func testDamagedChecksumThrowsCorruptGzip() throws {
        let directory = try TempDirectory()
        try directory.writeGzipped(payload, to: "full.gz")
        var compressed = try directory.read("full.gz")
        compressed[compressed.count - 6] ^= 0xff  // inside the CRC-32 of the trailer
        XCTAssertThrowsError(try Gzip.decompress(compressed, file: "damaged.gz")) { error in
            guard case DatasetError.corruptGzip("damaged.gz", _)? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }

    func testNonGzipBytesAfterTheStreamThrow() throws {
        let directory = try TempDirectory()
        try directory.writeGzipped([1, 2, 3], to: "a.gz")
        let withGarbage = try directory.read("a.gz") + [0x00, 0x42]
        XCTAssertThrowsError(try Gzip.decompress(withGarbage, file: "a.gz")) { error in
            guard case DatasetError.corruptGzip? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }

    func testOutputAboveTheLimitThrowsTooLarge() throws {
        let directory = try TempDirectory()
        let file = try directory.writeGzipped(payload, to: "big.gz")
        XCTAssertThrowsError(try Gzip.contentsOfFile(atPath: file, maxBytes: 1000)) { error in
            XCTAssertEqual(error as? DatasetError, .tooLarge(file: file, limitBytes: 1000))
        }
        XCTAssertEqual(try Gzip.contentsOfFile(atPath: file, maxBytes: payload.count).count, payload.count)
    }

    func testPlainFileAboveTheLimitThrowsTooLarge() throws {
        let directory = try TempDirectory()
        let file = try directory.write([UInt8](repeating: 7, count: 100), to: "plain.bin")
        XCTAssertThrowsError(try Gzip.contentsOfFile(atPath: file, maxBytes: 99)) { error in
            XCTAssertEqual(error as? DatasetError, .tooLarge(file: file, limitBytes: 99))
        }
    }

    func testMissingFileAndDirectoryThrowUnreadable() throws {
        let directory = try TempDirectory()
        for path in [directory.path("absent.gz"), directory.path] {
            XCTAssertThrowsError(try Gzip.contentsOfFile(atPath: path)) { error in
                guard case DatasetError.unreadable(path, _)? = error as? DatasetError else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }
}
