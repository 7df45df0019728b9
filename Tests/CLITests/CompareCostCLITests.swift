import Foundation
import TestSupport
import XCTest

/// `pepita-edge compare --profile P`: accuracy and cost of each rule side by
/// side, in every format, with the figures `cost` gives for the same settings.
final class CompareCostCLITests: XCTestCase {
    let small = ["--model", "fc:64-32-10", "--epochs", "1", "--precision", "float32,int8"]
    let profile = CostCLITests.profilePath("horowitz-45nm")

    private func run(_ arguments: [String]) throws -> CommandResult { try PepitaEdgeCommand.run(arguments) }

    private func object(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testJSONCarriesOneCostPerRunEqualToWhatCostSays() throws {
        let result = try run(["compare", "--format", "json", "--profile", profile] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        let document = try object(result.standardOutput)
        let runs = try XCTUnwrap(document["runs"] as? [[String: Any]])
        let costs = try XCTUnwrap(document["costs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(costs.map { $0["rule"] as? String }, ["pepita", "bp", "pepita", "bp"])
        XCTAssertEqual(costs.map { $0["precision"] as? String }, ["float32", "float32", "int8", "int8"])

        // The same settings through `cost` (digits: 1,437 samples, batch 64, dropout keep 0.9).
        let priced = try run(["cost", "--model", "fc:64-32-10", "--rule", "pepita,bp", "--precision", "float32,int8",
                              "--profile", profile, "--format", "json"])
        XCTAssertEqual(priced.status, 0, priced.standardError)
        let reports = try XCTUnwrap(try object(priced.standardOutput)["reports"] as? [[String: Any]])
        for (cost, report) in zip(costs, reports) {
            let perSample = try XCTUnwrap(report["perSample"] as? [String: Any])
            XCTAssertEqual(cost["macsPerSample"] as? Double, perSample["macs"] as? Double)
            XCTAssertEqual(cost["energyPicojoulesPerSample"] as? Double, perSample["energyPicojoules"] as? Double)
            XCTAssertEqual(cost["latencyCyclesPerSample"] as? Double, perSample["latencyCycles"] as? Double)
            let storage = try XCTUnwrap(report["storage"] as? [String: Any])
            XCTAssertEqual(cost["peakStorageBytes"] as? Int, storage["peakBytes"] as? Int)
        }
        // Hand count (CostCLITests): 7,744 and 5,056 MACs per sample, a ratio of 1.5316...
        XCTAssertEqual(costs[0]["macsPerSample"] as? Double, 7744)
        XCTAssertEqual(try XCTUnwrap(costs[0]["macsVsBP"] as? Double), 7744.0 / 5056, accuracy: 1e-12)
        XCTAssertEqual(costs[1]["energyVsBP"] as? Double, 1)
    }

    func testEveryTextFormatHasTheCostColumns() throws {
        for (format, expected) in [("table", "energy vs BP"), ("md", "| energy vs BP |"), ("csv", ",energy_vs_bp,")] {
            let result = try run(["compare", "--format", format, "--profile", profile, "--rules", "pepita"] + small)
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains(expected), "\(format): \(result.standardOutput)")
        }
        // CSV cells are raw numbers: 7744 MACs, no thousands separators.
        let csv = try run(["compare", "--format", "csv", "--profile", profile, "--rules", "pepita"] + small)
        let row = try XCTUnwrap(csv.standardOutput.split(separator: "\n").dropFirst().first)
        XCTAssertTrue(row.contains(",7744,"), String(row))
        // BP was not compared but is priced for the ratio: 7744 / 5056.
        XCTAssertTrue(row.contains(",1.53164557,"), String(row))
    }

    func testWithoutAProfileTheTableHasNoCostColumns() throws {
        let result = try run(["compare"] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        let header = try XCTUnwrap(result.standardOutput.split(separator: "\n").first)
        XCTAssertTrue(header.hasSuffix("last-layer error"), String(header))
    }

    func testABadProfileStopsBeforeTraining() throws {
        let result = try run(["compare", "--profile", "no-such-chip", "--epochs", "50"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
        XCTAssertTrue(result.standardError.contains("unknown profile 'no-such-chip'"), result.standardError)
    }
}
