import Foundation

/// Writes files so that a reader never sees a half-written one and an
/// interrupted write never destroys the previous version: the bytes go to a
/// temporary file in the same directory, are flushed to disk, and the
/// temporary file is renamed over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw FileError(path: path, reason: "cannot create a file in \(directory) (missing directory or no permission)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileError(path: path, reason: "write failed: \(error.localizedDescription)")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileError(path: path, reason: "rename failed: \(reason)")
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func writeJSON<Value: Encodable>(_ value: Value, to path: String) throws {
        try write(ReportJSON.text(value), to: path)
    }
}

/// A file that could not be written or read as expected; names the path and why.
public struct FileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// The JSON every output of the toolkit uses: pretty, key-sorted, a trailing
/// newline, and non-finite numbers as the strings "nan", "inf", "-inf"
/// (plain JSON has no way to write them).
public enum ReportJSON {
    public static func text<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}
