import Foundation

/// Writes files so that a reader never sees a half-written one and an
/// interrupted write never destroys the previous version: the bytes go to a
/// temporary file in the same directory, are flushed to disk (`fsync`), the
/// temporary file is renamed over the target, and the directory is flushed so
/// the rename itself survives a power cut.
///
/// A target that exists and is not a regular file (`/dev/stdout`, `/dev/full`, a
/// FIFO) is written in place: renaming over a device node would replace it.
/// Every failure — missing directory, no permission, disk full — is a
/// `FileError` naming the target and the system's reason.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        if isSpecialFile(path) {
            try writeInPlace(data, to: path)
            return
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError(path: path, reason: "cannot create a file in \(directory): \(systemReason())")
        }
        do {
            try writeAll(data, to: descriptor, path: path)
            guard fsync(descriptor) == 0 else { throw FileError(path: path, reason: "write failed: \(systemReason())") }
            close(descriptor)
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let reason = systemReason()
            unlink(temporary)
            throw FileError(path: path, reason: "rename failed: \(reason)")
        }
        synchronizeDirectory(directory)
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func writeJSON<Value: Encodable>(_ value: Value, to path: String) throws {
        try write(ReportJSON.text(value), to: path)
    }

    /// Flushes a directory's entries (new names, renames) to disk; best effort,
    /// since some file systems do not support it on directories.
    public static func synchronizeDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// The last system error as text (`strerror(errno)`).
    static func systemReason() -> String { String(cString: strerror(errno)) }

    private static func isSpecialFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        return (status.st_mode & S_IFMT) != S_IFREG && (status.st_mode & S_IFMT) != S_IFDIR
    }

    private static func writeInPlace(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path, reason: "cannot open for writing: \(systemReason())") }
        defer { close(descriptor) }
        try writeAll(data, to: descriptor, path: path)
    }

    private static func writeAll(_ data: Data, to descriptor: Int32, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: path, reason: "write failed: \(systemReason())")
                }
                offset += written
            }
        }
    }
}

/// A file that could not be written or read as expected; names the path and why.
public struct FileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { DatasetError.singleLine("\(path): \(reason)") }
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

    /// A decoder that reads what `text` writes (non-finite numbers as strings).
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
