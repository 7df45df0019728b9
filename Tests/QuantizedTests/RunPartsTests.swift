import CKernels
import Foundation
import XCTest

/// `ck_run_parts`, the helper-thread pool every threaded kernel runs on.
final class RunPartsTests: XCTestCase {

    func testEveryPartRunsOnceWithItsCallsContextBeforeTheCallReturns() {
        // Calls of 2, 3 and 4 parts back to back: a helper late from a smaller
        // call must not claim a part of a larger one (it would run twice, or
        // with the next call's context, and the call could return while it
        // still ran). Two records alternate as the calls' contexts; each is
        // checked as soon as its call returns (a part still running then, or
        // again, or run for the other context, leaves a count other than 1).
        // The work between calls is kept small: a late helper is caught only
        // when the next call starts while it is still looking for a part.
        // Every 20,000th call comes after a pause longer than the helpers'
        // spin, so that calls that wake sleeping helpers are among them.
        // (On the old claims code, 300,000 calls failed 6 runs in 8.)
        // A call's record: how often each of parts 0..<8 ran.
        let size = 8
        let records = UnsafeMutablePointer<Int>.allocate(capacity: 2 * size)
        defer { records.deallocate() }
        let body: ck_part_body = { context, part in
            let record = context!.assumingMemoryBound(to: Int.self)
            // A little work of its own (tests build without optimisation), so
            // that parts overlap the next call's start.
            var work = 0
            for i in 0..<200 { work &+= i }
            record[part] += work == 19_900 ? 1 : 2
        }
        var mismatches = 0, ran = 0
        for call in 0..<300_000 {
            if call % 20_000 == 19_999 { usleep(2_000) }
            let parts = 2 + call % 3
            let record = records + (call % 2) * size
            record.update(repeating: 0, count: size)
            if ck_run_parts(parts, body, record) == 0 { continue }
            ran += 1
            for part in 0..<8 where record[part] != (part < parts ? 1 : 0) { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertGreaterThan(ran, 0)
    }

    func testAHelperTakesAPartWhileTheCallerRunsAnother() {
        // Part 0 lasts 50 ms. Whichever thread claims it (usually the caller,
        // but a helper woken by the call may get there first, and helpers
        // left by earlier calls of more parts may take both), another thread
        // claims part 1 meanwhile, so the two parts run on different threads.
        // A pool whose helper sat the call out would run both on the caller.
        // Each part records its thread.
        let threads = UnsafeMutablePointer<UInt>.allocate(capacity: 2)
        defer { threads.deallocate() }
        let body: ck_part_body = { context, part in
            if part == 0 { usleep(50_000) }
            context!.assumingMemoryBound(to: UInt.self)[part] = UInt(pthread_self())
        }
        // Two calls, each after the helpers have gone to sleep: the call must
        // wake one. (Run alone, the first call starts the pool's first helper,
        // which must take part in the call that started it.)
        for call in 0..<2 {
            usleep(2_000)
            threads.update(repeating: 0, count: 2) // no thread is 0: a part that did not run stays 0
            XCTAssertEqual(ck_run_parts(2, body, threads), 1)
            XCTAssertNotEqual(threads[0], 0, "call \(call): part 0 did not run")
            XCTAssertNotEqual(threads[1], 0, "call \(call): part 1 did not run")
            XCTAssertNotEqual(threads[0], threads[1], "call \(call): both parts ran on one thread")
        }
    }
}
