import Foundation
import TestSupport
import XCTest

/// `cost --format html --run DIR` reads a run's metrics.json the way it is
/// written: a diverged epoch's losses are the string "nan" there.
final class RunCurveCLITests: XCTestCase {
    func testAccuracyCurveOfARunWithNaNLosses() throws {
        let directory = try TempDirectory()
        let run = directory.path("run")
        let trained = try PepitaEdgeCommand.run(["train", "--run-dir", run, "--model", "fc:64-16-10", "--epochs", "2"])
        XCTAssertEqual(trained.status, 0, trained.standardError)
        let metrics = try String(contentsOfFile: run + "/metrics.json", encoding: .utf8)
        let diverged = metrics.replacingOccurrences(of: #""trainLoss" : [-0-9.e]+"#, with: #""trainLoss" : "nan""#,
                                                    options: .regularExpression)
        XCTAssertEqual(diverged.components(separatedBy: #""trainLoss" : "nan""#).count - 1, 2, "both epochs' losses are nan")
        try diverged.write(toFile: run + "/metrics.json", atomically: true, encoding: .utf8)

        let page = try PepitaEdgeCommand.run(["cost", "--model", "fc:64-16-10", "--format", "html", "--run", run])
        XCTAssertEqual(page.status, 0, page.standardError)
        XCTAssertEqual(page.standardOutput.components(separatedBy: "<polyline ").count - 1, 1, "the run's accuracy curve is drawn")
    }
}
