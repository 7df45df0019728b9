import CZlib
import Foundation

/// A fresh, empty directory for one test's files, deleted with everything in it
/// when the object is released. Keep it in a local `let` for the test's duration.
public final class TempDirectory {
    /// Absolute path of the directory.
    public let path: String

    public init(prefix: String = "pepita-edge-test") throws {
        let name = "\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The absolute path of `name` (which may contain `/`) inside the directory.
    public func path(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Writes `bytes` to `name`, creating intermediate folders; returns the path.
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = path(name)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Writes `bytes` gzip-compressed to `name` with zlib's own gzip file writer
    /// (`gzopen`/`gzwrite`), independent of the inflate code under test; returns the path.
    @discardableResult
    public func writeGzipped(_ bytes: [UInt8], to name: String) throws -> String {
        let file = try write([], to: name)
        guard let gz = gzopen(file, "wb9") else { throw CocoaError(.fileWriteUnknown) }
        let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        guard gzclose(gz) == Z_OK, bytes.isEmpty || Int(written) == bytes.count else {
            throw CocoaError(.fileWriteUnknown)
        }
        return file
    }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}
