import Foundation
@testable import PepitaEngine
import TestSupport
import XCTest

/// `AtomicDirectory` on paths as users type them: relative, one character, trailing slashes.
final class AtomicDirectoryTests: XCTestCase {
    func testTheParentOfAOneCharacterPathIsTheCurrentDirectory() {
        // NSString.deletingLastPathComponent traps on "x" in swift-corelibs-foundation.
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "x"), ".")
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "x/"), ".")
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "/x"), "/")
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "/"), "/")
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "a//b/"), "a")
        XCTAssertEqual(AtomicDirectory.parentDirectory(of: "/tmp/a/b"), "/tmp/a")
    }

    func testCreatingAOneCharacterRelativeDirectory() throws {
        let directory = try TempDirectory()
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicDirectory.create("x")
        try AtomicDirectory.replace("x") { staging in try AtomicFile.write("new\n", to: staging + "/file") }
        XCTAssertEqual(try String(contentsOfFile: directory.path("x/file"), encoding: .utf8), "new\n")
    }
}
