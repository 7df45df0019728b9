import CKernels
import XCTest

/// `ck_run_parts`, the helper-thread pool every threaded kernel runs on.
final class RunPartsTests: XCTestCase {
    func testEveryPartRunsOnceBeforeTheCallReturnsWhenPartCountsChangeFromCallToCall() {
        // Calls of 2, 3 and 4 parts back to back: a helper late from a smaller
        // call must not claim a part of a larger one (it would run twice, and
        // the call could return while a part still runs). Each part counts its
        // runs in its own slot; a call checks the counts as soon as it returns
        // (a part still running then, or again, leaves a count other than 1).
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        defer { counts.deallocate() }
        let body: ck_part_body = { context, part in
            let counts = context!.assumingMemoryBound(to: Int.self)
            // A little work, so that parts overlap the next call's start.
            var spin = 0
            for i in 0..<200 { spin &+= i }
            counts[part] += 1 + spin - spin
        }
        var mismatches = 0, ran = 0
        for call in 0..<100_000 {
            let parts = 2 + call % 3
            counts.initialize(repeating: 0, count: 8)
            if ck_run_parts(parts, body, counts) == 0 { continue }
            ran += 1
            for part in 0..<8 where counts[part] != (part < parts ? 1 : 0) { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertGreaterThan(ran, 0)
    }
}
