import Foundation

/// One process at a time per run directory: two runs writing the same
/// checkpoint and metrics would each resume from a mix of the other's files.
///
/// The lock is an advisory `flock` on `RUN/.lock`, held for as long as the
/// returned object lives; the kernel drops it when the process ends in any way
/// (SIGKILL included), so a killed run never leaves a stale lock behind.
public final class RunDirectoryLock {
    private let descriptor: Int32

    fileprivate init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

extension RunDirectory {
    /// The name of the lock file inside a run directory.
    static let lockFileName = ".lock"

    /// Creates the directory if needed and takes its lock.
    /// - Throws: `FileError` when another process holds it, or the directory
    ///   cannot be created or written.
    public func lock() throws -> RunDirectoryLock {
        try AtomicDirectory.create(path)
        let lockPath = path + "/" + Self.lockFileName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError(path: lockPath, reason: "cannot create the lock file: \(AtomicFile.systemReason())")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw FileError(path: path, reason: "in use by another pepita-edge process (it holds \(Self.lockFileName)); wait for it or stop it first")
        }
        return RunDirectoryLock(descriptor: descriptor)
    }
}
