import Foundation

/// Replaces a whole directory at once, so a reader (or a resumed run) sees either
/// the complete old contents or the complete new ones, never a mix — what a
/// checkpoint of several files needs.
///
/// The new contents are written into a sibling directory (`fill`), flushed, and the
/// two are swapped with Linux's `renameat2(RENAME_EXCHANGE)`, one atomic step. Where
/// that call is missing (macOS, old kernels, some file systems) the old directory is
/// renamed to `NAME.previous` and the new one into place: a crash between the two
/// renames leaves `NAME.previous` complete, and `readablePath(_:)` falls back to it.
public enum AtomicDirectory {
    /// Writes `path` anew: `fill` receives an empty staging directory to write
    /// into (every file in it should already be flushed, as `AtomicFile` does).
    public static func replace(_ path: String, fill: (String) throws -> Void) throws {
        let manager = FileManager.default
        let staging = path + ".partial"
        let previous = path + ".previous"
        try? manager.removeItem(atPath: staging)
        try create(staging)
        try fill(staging)
        AtomicFile.synchronizeDirectory(staging)
        let parent = parentDirectory(of: path)
        if manager.fileExists(atPath: path) {
            if exchange(staging, path) {
                try? manager.removeItem(atPath: staging)
                AtomicFile.synchronizeDirectory(parent)
                return
            }
            try? manager.removeItem(atPath: previous)
            guard rename(path, previous) == 0 else {
                throw FileError(path: path, reason: "cannot move aside: \(AtomicFile.systemReason())")
            }
        }
        guard rename(staging, path) == 0 else {
            throw FileError(path: path, reason: "cannot move into place: \(AtomicFile.systemReason())")
        }
        AtomicFile.synchronizeDirectory(parent)
        try? manager.removeItem(atPath: previous)
    }

    /// Creates `path` and any missing parents (`mkdir -p`); an error names the
    /// component that failed and the system's reason (`Not a directory`,
    /// `Permission denied`, `Read-only file system`).
    public static func create(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw FileError(path: path, reason: "exists and is not a directory") }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FileError(path: path, reason: "cannot create directory: \(AtomicFile.systemReason())")
        }
    }

    /// The directory holding `path`, as `dirname(1)` gives it: `.` for a bare name
    /// (`x`), `/` for a top-level one, trailing and doubled slashes ignored.
    /// (`NSString.deletingLastPathComponent` traps on some one-component paths in
    /// swift-corelibs-foundation, so it is not used on paths from the command line.)
    static func parentDirectory(of path: String) -> String {
        var name = Substring(path)
        while name.count > 1 && name.hasSuffix("/") { name.removeLast() }
        guard let slash = name.lastIndex(of: "/") else { return "." }
        var parent = name[..<slash]
        while parent.hasSuffix("/") { parent.removeLast() }
        return parent.isEmpty ? "/" : String(parent)
    }

    /// `path` if it exists, else `path.previous` left by an interrupted fallback swap.
    public static func readablePath(_ path: String) -> String {
        let previous = path + ".previous"
        if !FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: previous) {
            return previous
        }
        return path
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`, looked up at run
    /// time (the C library may not declare it); false when unavailable or refused.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
        #else
        return false
        #endif
    }
}
