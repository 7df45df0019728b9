import Foundation
import TestSupport
import XCTest

/// End-to-end: `pepita-edge cost` and `pepita-edge profiles` on the shipped
/// profiles. Profiles are passed as absolute paths built from this file's
/// location, since the test process need not run in the repository root.
final class CostCLITests: XCTestCase {
    /// `<repo>/Tests/CLITests/CostCLITests.swift` -> `<repo>`.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static let shippedProfiles = ["cortex-m4", "horowitz-45nm", "int8-edge-accelerator"]

    static func profilePath(_ name: String) -> String { repositoryRoot + "/profiles/" + name + ".json" }

    /// A 64-32-10 network (8x8 digits), int8, on the Horowitz 45 nm table.
    let tiny = ["--model", "fc:64-32-10", "--precision", "int8", "--profile", CostCLITests.profilePath("horowitz-45nm")]

    private func run(_ arguments: [String], in directory: String? = nil) throws -> CommandResult {
        try PepitaEdgeCommand.run(arguments, currentDirectory: directory)
    }

    private func jsonObject(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    private func perSampleMACs(_ report: [String: Any]) throws -> (total: Double, byPhase: [String: Double]) {
        let perSample = try XCTUnwrap(report["perSample"] as? [String: Any])
        let phases = try XCTUnwrap(report["perSampleByPhase"] as? [[String: Any]])
        var byPhase: [String: Double] = [:]
        for entry in phases {
            let figures = try XCTUnwrap(entry["figures"] as? [String: Any])
            byPhase[try XCTUnwrap(entry["phase"] as? String)] = try XCTUnwrap(figures["macs"] as? Double)
        }
        return (try XCTUnwrap(perSample["macs"] as? Double), byPhase)
    }

    func testEveryRuleOnATinyNetworkHasTheHandCountedMACsPerSample() throws {
        let result = try run(["cost", "--rule", "all", "--format", "json"] + tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
        let document = try jsonObject(result.standardOutput)
        XCTAssertEqual(document["schemaVersion"] as? Int, 1)
        XCTAssertEqual(document["tool"] as? String, "pepita-edge")
        let reports = try XCTUnwrap(document["reports"] as? [[String: Any]])
        XCTAssertEqual(reports.count, 5)
        let rules = try reports.map { try XCTUnwrap(($0["inputs"] as? [String: Any])?["rule"] as? String) }
        XCTAssertEqual(rules, ["pepita", "pepita-sign", "bp", "fa", "dfa"])

        // One sample through 64 -> 32 -> 10.
        let forward = 64.0 * 32 + 32 * 10        // 2,368: x·W0^T, then h1·W1^T
        let projection = 10.0 * 64               // 640: e·F^T, F is 64 x 10
        let update = 32.0 * 64 + 10 * 32         // 2,368: (h1 - h1_mod)^T x_mod, e_mod^T h1_mod
        let pepita = forward + projection + forward + update            // 7,744
        let delta = 10.0 * 32                    // 320: delta1·W1 (FA: ·B1; DFA: e·D0, 10 x 32)
        let gradient = 32.0 * 64 + 10 * 32       // 2,368: delta1^T x, delta2^T h1
        let backprop = forward + delta + gradient                       // 5,056
        XCTAssertEqual(pepita, 7744)
        XCTAssertEqual(backprop, 5056)

        for (rule, report) in zip(rules, reports) {
            let macs = try perSampleMACs(report)
            if rule.hasPrefix("pepita") {
                XCTAssertEqual(macs.total, pepita, rule)
                XCTAssertEqual(macs.byPhase, ["forward": forward, "errorProjection": projection, "modulatedForward": forward,
                                              "update": update, "optimiser": 0], rule)
            } else {
                XCTAssertEqual(macs.total, backprop, rule)
                XCTAssertEqual(macs.byPhase, ["forward": forward, "backwardDelta": delta, "weightGradient": gradient,
                                              "optimiser": 0], rule)
            }
        }
    }

    func testMarkdownStatesItsInputsAndAssumptionsAndThePepitaToBPRatio() throws {
        let result = try run(["cost", "--rule", "pepita,bp", "--format", "md"] + tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
        let text = result.standardOutput
        for expected in ["**Inputs and assumptions**", "- **model**: fc:64-32-10", "- **precision int8**", "- **profile**: horowitz-45nm",
                         "- **batch**: 64", "- **schedule (pepita, pepita-sign)**", "- **schedule (bp, fa, dfa)**",
                         "- **dataflow**", "- **pricing**", "- **roofline**", "- **placement**", "MACs vs BP", "energy vs BP", "peak vs BP"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected):\n\(text)")
        }
        // PEPITA / BP MACs: 7,744 / 5,056 = 1.53; BP against itself 1.00.
        let pepitaRow = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("| pepita | int8 | 2,368 |") })
        XCTAssertTrue(pepitaRow.contains("| 7,744 |") && pepitaRow.contains("| 1.53 |"), String(pepitaRow))
        let bpRow = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("| bp | int8 | 2,368 |") })
        XCTAssertTrue(bpRow.contains("| 5,056 |") && bpRow.hasSuffix("| 1.00 | 1.00 | 1.00 |"), String(bpRow))
    }

    func testCSVOfOnePepitaStepMatchesTheGoldenFileByteForByte() throws {
        let result = try run(["cost", "--rule", "pepita", "--format", "csv"] + tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
        let golden = Self.goldenDirectory + "/cost-fc-64-32-10-pepita-int8-horowitz-45nm.csv"
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: golden), "missing \(golden)")
        XCTAssertEqual(Data(result.standardOutput.utf8), expected,
                       "got:\n\(result.standardOutput)expected:\n\(String(decoding: expected, as: UTF8.self))")
    }

    func testDefaultsComeFromTheModelFamilyAndTheDatasetTable() throws {
        let profile = Self.profilePath("int8-edge-accelerator")
        for (arguments, network, batch, samples) in [
            (["--dataset", "mnist"], "fc:784-1024-10", 64, 60_000 as Int?),
            (["--model", "Net1conv1fcXL", "--dataset", "fashion-mnist"], "Net1conv1fcXL", 50, 60_000),
            (["--model", "Net1conv1fcXL_cif", "--dataset", "cifar100"], "Net1conv1fcXL_cif", 50, 50_000),
            (["--model", "fc", "--input", "3x4x4", "--classes", "5", "--batch", "8"], "fc:48-1024-5", 8, nil),
        ] {
            let result = try run(["cost", "--rule", "pepita", "--profile", profile, "--format", "json"] + arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.standardError)")
            let report = try XCTUnwrap((try jsonObject(result.standardOutput)["reports"] as? [[String: Any]])?.first)
            let inputs = try XCTUnwrap(report["inputs"] as? [String: Any])
            XCTAssertEqual((inputs["network"] as? [String: Any])?["name"] as? String, network, "\(arguments)")
            XCTAssertEqual(inputs["batch"] as? Int, batch, "\(arguments)")
            XCTAssertEqual(inputs["samplesPerEpoch"] as? Int, samples, "\(arguments)")
            XCTAssertEqual(report["perEpoch"] == nil, samples == nil, "\(arguments)")
        }
    }

    func testTheShippedProfilesShowAndValidate() throws {
        for name in Self.shippedProfiles {
            let show = try run(["profiles", "show", Self.profilePath(name)])
            XCTAssertEqual(show.status, 0, show.standardError)
            for expected in ["clockHz", "operations[0].energyPicojoules", "memories[0].sizeBytes", "source"] {
                XCTAssertTrue(show.standardOutput.contains(expected), "\(name) lacks \(expected)")
            }
            let json = try run(["profiles", "show", name, "--format", "json"], in: Self.repositoryRoot)
            XCTAssertEqual(json.status, 0, json.standardError)
            XCTAssertEqual(try jsonObject(json.standardOutput)["name"] as? String, name)
        }
        let validate = try run(["profiles", "validate"] + Self.shippedProfiles.map(Self.profilePath))
        XCTAssertEqual(validate.status, 0, validate.standardOutput + validate.standardError)
        let lines = validate.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, validate.standardOutput)
        XCTAssertTrue(lines.allSatisfy { $0.contains(": ok") }, validate.standardOutput)
    }

    func testProfilesListFromTheRepositoryRootNamesEveryShippedProfile() throws {
        let result = try run(["profiles", "list"], in: Self.repositoryRoot)
        XCTAssertEqual(result.status, 0, result.standardError)
        for name in Self.shippedProfiles { XCTAssertTrue(result.standardOutput.contains(name), result.standardOutput) }
        XCTAssertTrue(result.standardOutput.contains("1 GHz"), result.standardOutput)
    }

    func testABrokenProfileFailsValidationNamingTheField() throws {
        let directory = try TempDirectory()
        let text = try XCTUnwrap(FileManager.default.contents(atPath: Self.profilePath("horowitz-45nm")))
        var profile = try XCTUnwrap(try JSONSerialization.jsonObject(with: text) as? [String: Any])
        var memories = try XCTUnwrap(profile["memories"] as? [[String: Any]])
        memories[1]["readEnergyPicojoulesPerByte"] = ["value": -2.5, "source": "a typo"]
        profile["memories"] = memories
        let broken = try directory.write([UInt8](try JSONSerialization.data(withJSONObject: profile)), to: "broken.json")

        let validate = try run(["profiles", "validate", Self.profilePath("cortex-m4"), broken])
        XCTAssertNotEqual(validate.status, 0)
        let lines = validate.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, validate.standardOutput)
        XCTAssertTrue(lines[0].contains(": ok"), validate.standardOutput)
        XCTAssertTrue(lines[1].contains("memories[1].readEnergyPicojoulesPerByte") && lines[1].contains("-2.5"), validate.standardOutput)
        XCTAssertEqual(validate.standardError.split(separator: "\n").count, 1, validate.standardError)

        let cost = try run(["cost", "--model", "fc:64-32-10", "--profile", broken])
        XCTAssertNotEqual(cost.status, 0)
        XCTAssertEqual(cost.standardError.split(separator: "\n").count, 1, cost.standardError)
        XCTAssertTrue(cost.standardError.contains("memories[1].readEnergyPicojoulesPerByte"), cost.standardError)
        XCTAssertEqual(cost.standardOutput, "")
    }

    func testBadInputsGiveOneLineOnStderrAndANonZeroExit() throws {
        let cases: [([String], String)] = [
            (["cost", "--profile", "no-such-chip"], "no-such-chip"),
            (["cost", "--profile", "/nowhere/chip.json"], "/nowhere/chip.json"),
            (["cost", "--rule", "magic"], "magic"),
            (["cost", "--rule", "pepita,backprop"], "backprop"),
            (["cost", "--precision", "int4"], "int4"),
            (["cost", "--model", "resnet"], "resnet"),
            (["cost", "--model", "fc:100-10"], "100"),
            (["cost", "--dataset", "imagenet"], "imagenet"),
            (["cost", "--input", "1x8", "--classes", "10"], "--input"),
            (["cost", "--input", "1x8x8"], "--classes"),
            (["cost", "--batch", "0"], "--batch"),
            (["cost", "--bogus"], "--bogus"),
            (["profiles", "show", "no-such-chip"], "no-such-chip"),
            (["profiles", "frobnicate"], "frobnicate"),
        ]
        for (arguments, named) in cases {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments) succeeded")
            XCTAssertLessThan(result.status, 128, "\(arguments) died from a signal")
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(named), "\(arguments): \(result.standardError)")
            XCTAssertEqual(result.standardOutput, "", "\(arguments) printed to stdout")
        }
    }

    func testHelpAndOut() throws {
        for arguments in [["cost", "--help"], ["profiles", "--help"]] {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 0)
            XCTAssertTrue(result.standardOutput.contains("USAGE"), "\(arguments)")
        }
        let directory = try TempDirectory()
        let out = directory.path("cost.md")
        let result = try run(["cost", "--format", "md", "--out", out] + tiny)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput, "")
        XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).contains("**Inputs and assumptions**"))
    }
}
