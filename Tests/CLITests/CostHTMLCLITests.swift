import Foundation
import TestSupport
import XCTest

/// `pepita-edge cost --format html`: one self-contained page (inline CSS and
/// SVG, no script, nothing fetched), the same bytes as the golden file for a
/// tiny network, and accuracy curves of saved runs with `--run`.
final class CostHTMLCLITests: XCTestCase {
    /// fc 64-32-10, PEPITA and BP, int8, on the 45 nm table; run from the repository root so the
    /// profile path in the page is the relative `profiles/horowitz-45nm.json` on every checkout.
    let tiny = ["cost", "--model", "fc:64-32-10", "--rule", "pepita,bp", "--precision", "int8",
                "--profile", "profiles/horowitz-45nm.json", "--format", "html"]

    private func run(_ arguments: [String]) throws -> CommandResult {
        try PepitaEdgeCommand.run(arguments, currentDirectory: CostCLITests.repositoryRoot)
    }

    func testTheTinyPageMatchesTheGoldenFileByteForByte() throws {
        let result = try run(tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
        let golden = CostCLITests.goldenDirectory + "/cost-fc-64-32-10-pepita-bp-int8-horowitz-45nm.html"
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: golden), "missing \(golden)")
        XCTAssertEqual(Data(result.standardOutput.utf8), expected,
                       "the page differs from \(golden); if the change is intended, regenerate it with: cd <repo> && pepita-edge "
                       + tiny.joined(separator: " ") + " --out \(golden)")
    }

    func testThePageIsSelfContainedAndHasEveryChart() throws {
        let directory = try TempDirectory()
        let out = directory.path + "/report.html"
        let result = try run(tiny + ["--out", out])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput, "", "--out writes the page to the file only")
        let page = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>\n"))
        XCTAssertTrue(page.hasSuffix("</html>\n"))
        for forbidden in ["<script", "<link", "<img", "src=", "href=", "@import", "url("] {
            XCTAssertFalse(page.contains(forbidden), "the page must not load anything: found \(forbidden)")
        }
        // The only URL is the SVG namespace, once per chart.
        let charts = page.components(separatedBy: "<svg xmlns=\"http://www.w3.org/2000/svg\"").count - 1
        XCTAssertEqual(page.components(separatedBy: "http").count - 1, charts)
        // Energy by phase, energy by component and latency for int8, storage by category, storage per layer.
        XCTAssertEqual(charts, 5)
        for title in ["Energy per sample, stacked by phase", "Energy per sample of each phase by component, int8",
                      "Latency per sample of each phase, int8", "Peak live storage of one step by category",
                      "Storage per layer beyond weights and velocities"] {
            XCTAssertTrue(page.contains(">" + title), title)
        }
        for heading in ["Per sample", "Energy per sample", "Latency by phase", "Peak storage", "Placement: what fits on chip, what spills",
                        "One epoch", "Inputs and assumptions"] {
            XCTAssertTrue(page.contains("<h2>\(heading)</h2>"), heading)
        }
        XCTAssertFalse(page.contains("<h2>Accuracy</h2>"), "no runs, no accuracy chart")
        // The per-sample figures are those of the text report (hand count in CostCLITests: 7,744 and 5,056 MACs).
        XCTAssertTrue(page.contains("<td class=\"n\">7,744</td>"))
        XCTAssertTrue(page.contains("<td class=\"n\">5,056</td>"))
    }

    func testRunsAddTheirAccuracyCurves() throws {
        let directory = try TempDirectory()
        let runs = directory.path + "/runs"
        let compared = try run(["compare", "--model", "fc:64-32-10", "--epochs", "2", "--run-dir", runs])
        XCTAssertEqual(compared.status, 0, compared.standardError)
        let result = try run(tiny + ["--run", runs])
        XCTAssertEqual(result.status, 0, result.standardError)
        let page = result.standardOutput
        XCTAssertTrue(page.contains("<h2>Accuracy</h2>"))
        XCTAssertEqual(page.components(separatedBy: "<polyline ").count - 1, 2, "one curve per run of compare: bp, pepita")
        XCTAssertTrue(page.contains(">bp float32</text>") && page.contains(">pepita float32</text>"), "legend names rule and precision")
        let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: runs + "/pepita-float32/metrics.json"))) as? [String: Any])
        let epochs = try XCTUnwrap(metrics["epochs"] as? [[String: Any]])
        let accuracy = try XCTUnwrap(epochs.last?["testAccuracy"] as? Double)
        XCTAssertTrue(page.contains("<title>pepita float32: 2, "), "each point carries its value")
        XCTAssertTrue(page.contains(String(format: "%.2f", 100 * accuracy)), "the compare table repeats the final accuracy")

        // One run directory works as well as compare's folder.
        let single = try run(tiny + ["--run", runs + "/bp-float32"])
        XCTAssertEqual(single.status, 0, single.standardError)
        XCTAssertEqual(single.standardOutput.components(separatedBy: "<polyline ").count - 1, 1)
    }

    func testBadRunArgumentsAreOneLineErrors() throws {
        let directory = try TempDirectory()
        let missing = try run(tiny + ["--run", directory.path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.standardError.split(separator: "\n").count, 1, missing.standardError)
        XCTAssertTrue(missing.standardError.contains("\(directory.path): no metrics.json"), missing.standardError)

        try "{ \"epochs\": 3 }".write(toFile: directory.path + "/metrics.json", atomically: true, encoding: .utf8)
        let broken = try run(tiny + ["--run", directory.path])
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.standardError.contains("metrics.json: not a metrics file of pepita-edge"), broken.standardError)
        XCTAssertEqual(broken.standardError.split(separator: "\n").count, 1, broken.standardError)

        let notHTML = try run(["cost", "--model", "fc:64-32-10", "--run", directory.path])
        XCTAssertEqual(notHTML.status, 2)
        XCTAssertTrue(notHTML.standardError.contains("--run adds accuracy curves to --format html only"), notHTML.standardError)
        let htmlElsewhere = try run(["compare", "--format", "html"])
        XCTAssertEqual(htmlElsewhere.status, 2)
        XCTAssertTrue(htmlElsewhere.standardError.contains("--format must be one of table, json, csv, md, got 'html'"),
                      htmlElsewhere.standardError)
    }
}
