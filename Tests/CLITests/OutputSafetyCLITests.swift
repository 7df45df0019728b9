import Foundation
import TestSupport
import XCTest

/// End-to-end: existing runs are not overwritten without `--force`, and paths
/// that cannot be written (read-only, not a directory, a full disk) give one
/// line naming the path and exit 1.
final class OutputSafetyCLITests: XCTestCase {
    private let tiny = ["--model", "fc:64-8-10", "--epochs", "1"]

    func testAnExistingRunIsKeptUnlessForceIsGiven() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--run-dir", run] + tiny).status, 0)
        let marker = run + "/checkpoint/from-the-first-run"
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: Data()), "marker written")
        let metrics = try Data(contentsOf: URL(fileURLWithPath: run + "/metrics.csv"))

        let refused = try PepitaEdgeCommand.run(["train", "--run-dir", run, "--seed", "2"] + tiny)
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.standardError, "pepita-edge: \(run): already holds a run (config.json exists); choose another --run-dir, pass --force to overwrite it, or --resume it\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/metrics.csv")), metrics, "refused run left the old one alone")

        let forced = try PepitaEdgeCommand.run(["train", "--run-dir", run, "--seed", "2", "--force"] + tiny)
        XCTAssertEqual(forced.status, 0, forced.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "--force starts from a clean run directory")
    }

    func testANonEmptyDirectoryThatIsNotARunIsRefused() throws {
        let directory = try TempDirectory()
        try directory.write([1], to: "notes.txt")
        let result = try PepitaEdgeCommand.run(["train", "--run-dir", directory.path] + tiny)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.hasSuffix("exists and is not empty; choose another --run-dir or pass --force\n"), result.standardError)
    }

    func testUnwritableRunDirectoriesGiveOneLine() throws {
        let directory = try TempDirectory()
        try directory.write([1], to: "a-file")
        var cases = [(directory.path("a-file/run"), "a-file: exists and is not a directory")]
        if geteuid() == 0 {
            // root ignores permission bits; sysfs refuses new entries even to root.
            cases.append(("/sys/pepita-edge-test/run", "cannot create directory: "))
        } else {
            let readOnly = directory.path("read-only")
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o555])
            cases.append((readOnly + "/run", "cannot create directory: Permission denied"))
        }
        for (path, problem) in cases {
            let result = try PepitaEdgeCommand.run(["train", "--run-dir", path] + tiny)
            XCTAssertEqual(result.status, 1, path)
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
            XCTAssertTrue(result.standardError.contains(problem), result.standardError)
        }
    }

    func testAFullDiskIsAnErrorNotACrash() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let result = try PepitaEdgeCommand.run(["train", "--out", "/dev/full"] + tiny)
        XCTAssertEqual(result.status, 1, result.standardError)
        let last = String(try XCTUnwrap(result.standardError.split(separator: "\n").last))
        XCTAssertEqual(last, "pepita-edge: /dev/full: write failed: No space left on device")
        var status = stat()
        XCTAssertEqual(stat("/dev/full", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/full is still the device, not replaced by a file")
    }

    func testARunDirectoryInUseByAnotherProcessIsRefused() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--run-dir", run, "--epochs", "2"] + tiny.dropLast(2)).status, 0)
        // Hold the lock as another pepita-edge would: flock on RUN/.lock.
        let descriptor = open(run + "/.lock", O_RDWR | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        XCTAssertEqual(flock(descriptor, LOCK_EX | LOCK_NB), 0)
        for arguments in [["train", "--resume", run, "--epochs", "3"], ["train", "--run-dir", run, "--force"] + tiny] {
            let result = try PepitaEdgeCommand.run(arguments)
            XCTAssertEqual(result.status, 1, result.standardError)
            XCTAssertEqual(result.standardError, "pepita-edge: \(run): in use by another pepita-edge process (it holds .lock); wait for it or stop it first\n")
        }
        close(descriptor)
        let resumed = try PepitaEdgeCommand.run(["train", "--resume", run, "--epochs", "3"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
    }

    func testOneCharacterRelativeRunDirectories() throws {
        let directory = try TempDirectory()
        let trained = try PepitaEdgeCommand.run(["train", "--run-dir", "x"] + tiny, currentDirectory: directory.path)
        XCTAssertFalse(trained.terminatedBySignal, trained.standardError)
        XCTAssertEqual(trained.status, 0, trained.standardError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path("x/weights/W0.npy")))
        let compared = try PepitaEdgeCommand.run(["compare", "--run-dir", "r"] + tiny, currentDirectory: directory.path)
        XCTAssertFalse(compared.terminatedBySignal, compared.standardError)
        XCTAssertEqual(compared.status, 0, compared.standardError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path("r/bp-float32/weights/W0.npy")))
        let resumed = try PepitaEdgeCommand.run(["train", "--resume", "x", "--epochs", "2"], currentDirectory: directory.path)
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
    }
}
