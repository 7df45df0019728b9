import Foundation
import TestSupport
import XCTest

/// End-to-end: `network export`, `network show` and `cost --network`.
final class NetworkCLITests: XCTestCase {
    static let repositoryRoot = CostCLITests.repositoryRoot
    static func network(_ name: String) -> String { repositoryRoot + "/networks/" + name + ".json" }
    let cortexM4 = CostCLITests.profilePath("cortex-m4")

    private func run(_ arguments: [String]) throws -> CommandResult { try PepitaEdgeCommand.run(arguments) }

    /// Every engine model's report through `--model` and through its exported description are the same JSON.
    func testExportedEngineModelsCostExactlyWhatTheModelCosts() throws {
        let directory = try TempDirectory()
        let cases: [(model: String, data: [String], samples: String)] = [
            ("fc", ["--dataset", "digits"], "1437"), ("fc:64-32-10", ["--dataset", "digits"], "1437"),
            ("Net1conv1fcXL", ["--dataset", "mnist"], "60000"), ("Net1conv1fcXL_cif", ["--dataset", "cifar10"], "50000"),
        ]
        for (model, data, samples) in cases {
            let file = directory.path("\(model).json")
            let export = try run(["network", "export", "--model", model, "--out", file] + data)
            XCTAssertEqual(export.status, 0, export.standardError)
            let priced = ["--rule", "all", "--precision", "int8,float32", "--profile", cortexM4, "--format", "json"]
            let viaModel = try run(["cost", "--model", model] + data + priced)
            let viaNetwork = try run(["cost", "--network", file, "--samples", samples] + priced)
            XCTAssertEqual(viaModel.status, 0, viaModel.standardError)
            XCTAssertEqual(viaNetwork.status, 0, viaNetwork.standardError)
            XCTAssertFalse(viaModel.standardOutput.isEmpty)
            XCTAssertEqual(viaNetwork.standardOutput, viaModel.standardOutput, model)
        }
    }

    func testEveryRuleSideBySideInEveryFormat() throws {
        let base = ["cost", "--network", Self.network("resnet8-cifar10"), "--rule", "all", "--precision", "int8", "--profile", cortexM4]
        let json = try run(base + ["--format", "json"])
        XCTAssertEqual(json.status, 0, json.standardError)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let report = try XCTUnwrap((document["networkReports"] as? [[String: Any]])?.first)
        let rules = try XCTUnwrap(report["rules"] as? [[String: Any]]).compactMap { $0["rule"] as? String }
        XCTAssertEqual(rules, ["pepita", "pepita-sign", "bp", "fa", "dfa", "pepita-ms", "ff"])

        let csv = try run(base + ["--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.standardError)
        let lines = csv.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 7)
        XCTAssertTrue(lines[0].contains("peak_bytes_kept,peak_bytes_reused"), String(lines[0]))
        XCTAssertTrue(lines[0].contains("recompute_macs_per_sample"))
        let bpRow = try XCTUnwrap(lines.first { $0.contains(",bp,") })
        XCTAssertTrue(bpRow.hasSuffix(",1,1,1,1,1"), "BP's ratios to itself: \(bpRow)")

        let markdown = try run(base + ["--format", "md"])
        XCTAssertEqual(markdown.status, 0, markdown.standardError)
        for expected in ["| pepita-ms |", "| ff |", "peak RAM kept (B)", "peak RAM reused (B)", "**Inputs and assumptions**",
                         "- **schedule (pepita-ms)**", "- **storage**"] {
            XCTAssertTrue(markdown.standardOutput.contains(expected), "missing \(expected)")
        }
        let table = try run(base)
        XCTAssertEqual(table.status, 0, table.standardError)
        XCTAssertTrue(table.standardOutput.contains("MACs vs BP"))
    }

    func testPerLayerBreaksTheCostsDownByLayer() throws {
        let result = try run(["cost", "--network", Self.network("ds-cnn-kws"), "--rule", "bp,pepita,pepita-ms", "--precision", "int8",
                              "--profile", cortexM4, "--per-layer", "--format", "csv"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 30 * 3, "one row per layer and rule")
        XCTAssertTrue(lines.contains { $0.hasPrefix("ds-cnn-kws,int8,bp,0,conv1,conv2d,64x25x5,2624,320000,") })
    }

    func testTheAutoencoderReportSaysFIsInputByOutput() throws {
        let result = try run(["cost", "--network", Self.network("fc-autoencoder-ad"), "--rule", "pepita,bp", "--precision", "int8",
                              "--profile", cortexM4])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("PEPITA's F is input size x output size = 640 x 640"), result.standardOutput)
    }

    func testABadNetworkFileIsOneLineNamingTheLayer() throws {
        let directory = try TempDirectory()
        let file = directory.path("bad.json")
        try #"{ "name": "bad", "input": { "channels": 1, "height": 8, "width": 8 }, "classes": 2, "layers": [ { "type": "conv2d", "name": "c1", "filters": 2, "kernel": 3, "stride": 0 }, { "type": "flatten" }, { "type": "dense", "units": 2 } ] }"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let result = try run(["cost", "--network", file])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.standardError, "pepita-edge: bad.json: layers[0].stride (c1): must be > 0, got 0\n")
        let show = try run(["network", "show", file])
        XCTAssertEqual(show.standardError, result.standardError)
        XCTAssertEqual(try run(["cost", "--network", file, "--model", "fc"]).status, 2)
    }

    func testShowListsLayersWithShapes() throws {
        let result = try run(["network", "show", Self.network("resnet8-cifar10")])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.hasPrefix("resnet8-cifar10: input 3x32x32, 29 layers, 78666 parameters"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("s2_shortcut"))
    }
}
