import Foundation
@testable import PepitaEngine
import TestSupport
import XCTest

final class NPYTests: XCTestCase {
    func testHeaderIsVersionOnePaddedToSixtyFourBytes() throws {
        let directory = try TempDirectory()
        try NPY.write([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3], to: directory.path("a.npy"))
        let bytes = try directory.read("a.npy")
        XCTAssertEqual(Array(bytes[0 ..< 8]), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: bytes[10 ..< 10 + headerLength], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 24)
        XCTAssertEqual(Array(bytes[(10 + headerLength)...].prefix(4)), [0, 0, 0x80, 0x3f])  // 1.0f little-endian
    }

    func testOneDimensionalShapeIsWrittenAsPythonOneTuple() throws {
        let directory = try TempDirectory()
        try NPY.write([1, 2, 3] as [Int32], shape: [3], to: directory.path("v.npy"))
        let header = String(decoding: try directory.read("v.npy").dropFirst(10).dropLast(12), as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (3,), }"), header)
    }

    func testFloatRoundTripsExactly() throws {
        let values: [Float] = [0, -0, 1, -1.5, .pi, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, 1e-30]
        let array = try roundTrip { try NPY.write(values, shape: [3, 3], to: $0) }
        XCTAssertEqual(array, NPYArray(shape: [3, 3], values: values, descr: "<f4"))
        XCTAssertEqual(array.values.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testInt8RoundTripsEveryValue() throws {
        let values = (Int8.min ... Int8.max).map { $0 }
        let array = try roundTrip { try NPY.write(values, shape: [256], to: $0) }
        XCTAssertEqual(array, NPYArray(shape: [256], values: values.map(Float.init), descr: "|i1"))
    }

    func testInt16RoundTripsInFourDimensions() throws {
        let values: [Int16] = (0 ..< 24).map { (index: Int) -> Int16 in Int16(index * 2731 - 32768) }
        let array = try roundTrip { try NPY.write(values, shape: [2, 3, 2, 2], to: $0) }
        XCTAssertEqual(array, NPYArray(shape: [2, 3, 2, 2], values: values.map(Float.init), descr: "<i2"))
    }

    func testInt32RoundTripsExtremes() throws {
        let values: [Int32] = [.min, -1, 0, 1, 16_777_216, .max]
        let array = try roundTrip { try NPY.write(values, shape: [2, 3], to: $0) }
        XCTAssertEqual(array.descr, "<i4")
        XCTAssertEqual(array.values, values.map(Float.init))
    }

    func testZeroDimensionalAndEmptyArraysRoundTrip() throws {
        XCTAssertEqual(try roundTrip { try NPY.write([7] as [Float], shape: [], to: $0) },
                       NPYArray(shape: [], values: [7], descr: "<f4"))
        XCTAssertEqual(try roundTrip { try NPY.write([] as [Float], shape: [0, 5], to: $0) },
                       NPYArray(shape: [0, 5], values: [], descr: "<f4"))
    }

    func testReaderConvertsTheDtypesTheWriterDoesNotProduce() throws {
        let cases: [(String, [UInt8])] = [
            ("<f8", bytes(of: [Double(0.5), -2].map(\.bitPattern))),
            ("<i8", bytes(of: [Int64(-3), 1 << 40].map { UInt64(bitPattern: $0) })),
            ("|u1", [0, 255]),
        ]
        for (descr, data) in cases {
            let array = try NPY.parse(file(descr: descr, shape: "(2,)", data: data), file: descr)
            XCTAssertEqual(array.shape, [2], descr)
            XCTAssertEqual(array.descr, descr)
            XCTAssertEqual(array.values, ["<f8": [0.5, -2], "<i8": [-3, 1_099_511_627_776], "|u1": [0, 255]][descr], descr)
        }
    }

    func testReaderAcceptsVersionTwoAndPythonTwoLongIntegers() throws {
        let header = "{'descr': '<i2', 'fortran_order': False, 'shape': (1L, 2L), }\n"
        let preamble: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0] + bytes(of: [UInt32(header.utf8.count)])
        let bytes: [UInt8] = preamble + Array(header.utf8) + [1, 0, 0xff, 0xff]
        XCTAssertEqual(try NPY.parse(bytes, file: "v2"), NPYArray(shape: [1, 2], values: [1, -1], descr: "<i2"))
    }

    func testRejectsFortranOrderBigEndianAndUnknownDtypes() {
        assertRejects(file(descr: "<f4", shape: "(2, 2)", data: [UInt8](repeating: 0, count: 16), fortran: true), .fortranOrder(file: "x.npy"))
        assertRejects(file(descr: ">f4", shape: "(1,)", data: [0, 0, 0, 0]), .bigEndian(file: "x.npy", descr: ">f4"))
        assertRejects(file(descr: "<c8", shape: "(1,)", data: [UInt8](repeating: 0, count: 8)), .unsupportedDType(file: "x.npy", descr: "<c8"))
        assertRejects(file(descr: "<U3", shape: "(1,)", data: [UInt8](repeating: 0, count: 12)), .unsupportedDType(file: "x.npy", descr: "<U3"))
    }

    func testAcceptsFortranOrderForOneDimension() throws {
        XCTAssertEqual(try NPY.parse(file(descr: "|i1", shape: "(2,)", data: [1, 2], fortran: true), file: "x").values, [1, 2])
    }

    func testRejectsDataThatDoesNotMatchTheShape() {
        assertRejects(file(descr: "<f4", shape: "(2, 3)", data: [UInt8](repeating: 0, count: 20)),
                      .sizeMismatch(file: "x.npy", shape: [2, 3], expectedBytes: 24, actualBytes: 20))
        assertRejects(file(descr: "<f4", shape: "(2,)", data: [UInt8](repeating: 0, count: 9)),
                      .sizeMismatch(file: "x.npy", shape: [2], expectedBytes: 8, actualBytes: 9))
    }

    func testRejectsHugeShapesWithoutAllocating() {
        assertRejects(file(descr: "<f4", shape: "(4000000000, 1000)", data: [0, 0, 0, 0]),
                      .sizeMismatch(file: "x.npy", shape: [4_000_000_000, 1000], expectedBytes: 16_000_000_000_000, actualBytes: 4))
        XCTAssertThrowsError(try NPY.parse(file(descr: "<f4", shape: "(4000000000, 4000000000)", data: []), file: "x.npy")) { error in
            guard case NPYError.malformedHeader("x.npy", _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
    }

    func testRejectsMalformedFiles() {
        let valid = file(descr: "<f4", shape: "(1,)", data: [0, 0, 0, 0])
        XCTAssertThrowsError(try NPY.parse(Array("PK\u{3}\u{4}zipfile".utf8), file: "x.npy")) { error in
            XCTAssertEqual(error as? NPYError, .notNPY(file: "x.npy"))
        }
        XCTAssertThrowsError(try NPY.parse(Array(valid[0 ..< 40]), file: "x.npy")) { error in
            guard case NPYError.malformedHeader("x.npy", _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
        var version9 = valid
        version9[6] = 9
        XCTAssertThrowsError(try NPY.parse(version9, file: "x.npy")) { error in
            XCTAssertEqual(error as? NPYError, .unsupportedVersion(file: "x.npy", major: 9, minor: 0))
        }
        for header in ["{'descr': '<f4', 'shape': (1,)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "not a dict"] {
            let preamble: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0]
            let bytes: [UInt8] = preamble + Array(header.utf8) + [0, 0, 0, 0]
            XCTAssertThrowsError(try NPY.parse(bytes, file: "x.npy"), header) { error in
                guard case NPYError.malformedHeader("x.npy", _)? = error as? NPYError else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testWriteRejectsValueCountNotMatchingShape() throws {
        let directory = try TempDirectory()
        let path = directory.path("w.npy")
        XCTAssertThrowsError(try NPY.write([1, 2, 3] as [Float], shape: [2, 2], to: path)) { error in
            XCTAssertEqual(error as? NPYError, .valueCountMismatch(file: path, shape: [2, 2], valueCount: 3))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testWriteReplacesAnExistingFileAndLeavesNoTemporaryFile() throws {
        let directory = try TempDirectory()
        let path = directory.path("w.npy")
        try NPY.write([1] as [Float], shape: [1], to: path)
        try NPY.write([2, 3] as [Float], shape: [2], to: path)
        XCTAssertEqual(try NPYArray(contentsOfFile: path).values, [2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["w.npy"])
    }

    func testWriteIntoAMissingDirectoryThrowsUnwritable() {
        XCTAssertThrowsError(try NPY.write([1] as [Float], shape: [1], to: "/nonexistent/dir/w.npy")) { error in
            guard case NPYError.unwritable("/nonexistent/dir/w.npy", _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
    }

    func testReadingAMissingFileThrowsUnreadable() {
        XCTAssertThrowsError(try NPYArray(contentsOfFile: "/nonexistent/w.npy")) { error in
            guard case NPYError.unreadable("/nonexistent/w.npy", _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
    }

    // MARK: - Against numpy itself

    func testNumpyLoadsWhatTheWriterWrites() throws {
        let python = try numpyPython()
        let directory = try TempDirectory()
        try NPY.write([0.5, -1, 2, 3, 4, 5] as [Float], shape: [1, 2, 3], to: directory.path("f.npy"))
        try NPY.write([-128, 0, 127] as [Int8], shape: [3], to: directory.path("b.npy"))
        try NPY.write([-32768, 1, 2, 32767] as [Int16], shape: [1, 1, 2, 2], to: directory.path("s.npy"))
        try NPY.write([-7, 1 << 30] as [Int32], shape: [2, 1], to: directory.path("i.npy"))
        let output = try run(python, """
            import numpy as np, os
            for n in 'fbsi':
                a = np.load(os.path.join(r'\(directory.path)', n + '.npy'))
                print(n, a.dtype.str, a.shape, a.ravel().tolist())
            """)
        XCTAssertEqual(output, """
            f <f4 (1, 2, 3) [0.5, -1.0, 2.0, 3.0, 4.0, 5.0]
            b |i1 (3,) [-128, 0, 127]
            s <i2 (1, 1, 2, 2) [-32768, 1, 2, 32767]
            i <i4 (2, 1) [-7, 1073741824]

            """)
    }

    func testReaderReadsWhatNumpyWrites() throws {
        let python = try numpyPython()
        let directory = try TempDirectory()
        _ = try run(python, """
            import numpy as np, os
            d = r'\(directory.path)'
            for t in ['<f4', '<f8', '|i1', '<i2', '<i4', '<i8', '|u1']:
                np.save(os.path.join(d, t[1:] + '.npy'), np.arange(24).reshape(2, 3, 4).astype(t))
            np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.ones((2, 3), np.float32)))
            with open(os.path.join(d, 'v2.npy'), 'wb') as f:
                np.lib.format.write_array(f, np.array([1.5, 2.5], np.float32), version=(2, 0))
            """)
        for descr in ["<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1"] {
            let array = try NPYArray(contentsOfFile: directory.path(descr.dropFirst() + ".npy"))
            XCTAssertEqual(array, NPYArray(shape: [2, 3, 4], values: (0 ..< 24).map(Float.init), descr: descr))
        }
        XCTAssertEqual(try NPYArray(contentsOfFile: directory.path("v2.npy")).values, [1.5, 2.5])
        XCTAssertThrowsError(try NPYArray(contentsOfFile: directory.path("fortran.npy"))) { error in
            XCTAssertEqual(error as? NPYError, .fortranOrder(file: directory.path("fortran.npy")))
        }
    }

    // MARK: - Helpers

    private func roundTrip(_ write: (String) throws -> Void) throws -> NPYArray {
        let directory = try TempDirectory()
        let path = directory.path("array.npy")
        try write(path)
        return try NPYArray(contentsOfFile: path)
    }

    private func bytes<T: FixedWidthInteger>(of values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian, Array.init) }
    }

    /// A version 1.0 file with a hand-written header (not padded: the reader must not
    /// depend on numpy's alignment).
    private func file(descr: String, shape: String, data: [UInt8], fortran: Bool = false) -> [UInt8] {
        let header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }\n"
        let preamble: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0]
        return preamble + Array(header.utf8) + data
    }

    private func assertRejects(_ bytes: [UInt8], _ expected: NPYError, line: UInt = #line) {
        XCTAssertThrowsError(try NPY.parse(bytes, file: "x.npy"), line: line) { error in
            XCTAssertEqual(error as? NPYError, expected, line: line)
            XCTAssertTrue("\(error)".hasPrefix("x.npy: "), line: line)
        }
    }

    /// `python3` on the PATH, if it can import numpy; otherwise the test is skipped.
    private func numpyPython() throws -> String {
        guard (try? run("python3", "import numpy")) != nil else { throw XCTSkip("python3 with numpy not available") }
        return "python3"
    }

    private func run(_ python: String, _ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return String(decoding: data, as: UTF8.self)
    }
}
