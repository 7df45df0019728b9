import Dispatch
import Foundation

/// Ctrl-C (SIGINT) and SIGTERM as a request to stop between two training steps.
///
/// The signals are taken from their default action (immediate death) and handled
/// on a dispatch queue that only records which arrived; the training loop polls
/// `received` after each step, writes a checkpoint and exits with `128 + signal`
/// (130, 143), the shell's convention. A second signal while that happens exits
/// at once, for a user who really wants out.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var signalNumber: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening for SIGINT and SIGTERM.
    static func install() -> StopSignal {
        let stop = StopSignal()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [stop] in stop.record(number) }
            source.resume()
            stop.sources.append(source)
        }
        return stop
    }

    /// The first signal received, if any.
    var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signalNumber
    }

    private func record(_ number: Int32) {
        lock.lock()
        let first = signalNumber == nil
        if first { signalNumber = number }
        lock.unlock()
        if first {
            standardError("pepita-edge: \(Self.name(number)) received: finishing the current step and writing a checkpoint (send it again to quit at once)")
        } else {
            exit(128 + number)
        }
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGKILL: return "SIGKILL"
        default: return "signal \(number)"
        }
    }

    /// For the kill-and-resume tests: `PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP=STEP:SIGNAL`
    /// makes the process send itself SIGNAL (a number) once global step STEP is
    /// trained (and checkpointed, if due), then wait until the signal is seen, so
    /// the interruption falls at the same step every time.
    func testHook(afterStep step: Int) {
        guard let text = ProcessInfo.processInfo.environment["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP"] else { return }
        let parts = text.split(separator: ":").compactMap { Int32($0) }
        guard parts.count == 2, Int(parts[0]) == step else { return }
        kill(getpid(), parts[1])
        for _ in 0 ..< 5000 where received == nil { usleep(1000) }
    }
}

/// Training stopped by a signal after writing what it could; exits with `128 + signal`.
struct Interrupted: Error, CustomStringConvertible {
    var signal: Int32
    var description: String
}
