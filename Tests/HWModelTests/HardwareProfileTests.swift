import Foundation
import HWModel
import XCTest

/// `HardwareProfile`: the shipped profiles load and validate; every kind of bad
/// file is an error naming the field path.
final class HardwareProfileTests: XCTestCase {
    static let shippedNames = ["horowitz-45nm", "cortex-m4", "int8-edge-accelerator"]

    func testTheShippedProfilesLoadAndCarryASourceForEveryNumber() throws {
        for name in Self.shippedNames {
            let profile = try TestNetworks.shippedProfile(name)
            XCTAssertEqual(profile.name, name)
            var numbers = [profile.clockHz, profile.otherOperationsPerCycle]
            numbers += profile.operations.map(\.energyPicojoules) + profile.computeThroughput.map(\.macsPerCycle)
            numbers += profile.memories.flatMap { [$0.sizeBytes, $0.readEnergyPicojoulesPerByte, $0.writeEnergyPicojoulesPerByte,
                                                   $0.bandwidthBytesPerCycle] }
            for number in numbers { XCTAssertFalse(number.source.isEmpty, "\(name): \(number.value)") }
            // Everything the cost model prices for float32, int8 and int16 is there.
            for precision in [NumericPrecision.int8, .int16, .fp32] {
                XCTAssertNotNil(profile.energyPicojoules(.mac, precision), "\(name) mac \(precision)")
                XCTAssertNotNil(profile.macsPerCycle(precision), "\(name) throughput \(precision)")
            }
            for kind in [OperationKind.add, .multiply, .compare, .exp, .divide] {
                for precision in [NumericPrecision.int32, .fp32] {
                    XCTAssertNotNil(profile.energyPicojoules(kind, precision), "\(name) \(kind) \(precision)")
                }
            }
            XCTAssertNotNil(profile.offChipMemory, name)
        }
    }

    func testHorowitzProfileHasThePublishedFigures() throws {
        let profile = try TestNetworks.shippedProfile("horowitz-45nm")
        XCTAssertEqual(profile.energyPicojoules(.add, .int8), 0.03)
        XCTAssertEqual(profile.energyPicojoules(.add, .int32), 0.1)
        XCTAssertEqual(profile.energyPicojoules(.add, .fp16), 0.4)
        XCTAssertEqual(profile.energyPicojoules(.add, .fp32), 0.9)
        XCTAssertEqual(profile.energyPicojoules(.multiply, .int8), 0.2)
        XCTAssertEqual(profile.energyPicojoules(.multiply, .int32), 3.1)
        XCTAssertEqual(profile.energyPicojoules(.multiply, .fp16), 1.1)
        XCTAssertEqual(profile.energyPicojoules(.multiply, .fp32), 3.7)
        XCTAssertEqual(profile.memories.map { $0.readEnergyPicojoulesPerByte.value * 8 }, [10, 20, 100, 1300])
    }

    func testProfilesRoundTripThroughJSON() throws {
        for name in Self.shippedNames {
            let profile = try TestNetworks.shippedProfile(name)
            XCTAssertEqual(try HardwareProfile(json: try JSONEncoder().encode(profile), file: "x.json"), profile)
        }
    }

    // MARK: validation errors

    /// The shipped Horowitz file as a mutable JSON tree.
    private func horowitzTree() throws -> [String: Any] {
        let data = try Data(contentsOf: TestNetworks.profilesDirectory.appendingPathComponent("horowitz-45nm.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    private func loadError(_ tree: [String: Any]) -> String? {
        do {
            _ = try HardwareProfile(json: try JSONSerialization.data(withJSONObject: tree), file: "bad.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func editingMemory(_ index: Int, _ tree: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var memories = tree["memories"] as! [[String: Any]]
        edit(&memories[index])
        tree["memories"] = memories
    }

    func testAMissingFieldIsNamed() throws {
        var tree = try horowitzTree()
        tree["clockHz"] = nil
        XCTAssertEqual(loadError(tree), "bad.json: clockHz: missing")

        tree = try horowitzTree()
        editingMemory(2, &tree) { $0["bandwidthBytesPerCycle"] = nil }
        XCTAssertEqual(loadError(tree), "bad.json: memories[2].bandwidthBytesPerCycle: missing")

        tree = try horowitzTree()
        editingMemory(0, &tree) { memory in
            var size = memory["sizeBytes"] as! [String: Any]
            size["source"] = nil
            memory["sizeBytes"] = size
        }
        XCTAssertEqual(loadError(tree), "bad.json: memories[0].sizeBytes.source: missing")
    }

    func testANegativeEnergyIsNamed() throws {
        var tree = try horowitzTree()
        var operations = tree["operations"] as! [[String: Any]]
        operations[3]["energyPicojoules"] = ["value": -0.4, "source": "typo"]
        tree["operations"] = operations
        XCTAssertEqual(loadError(tree), "bad.json: operations[3].energyPicojoules: must be > 0, got -0.4")

        tree = try horowitzTree()
        editingMemory(1, &tree) { $0["readEnergyPicojoulesPerByte"] = ["value": 0, "source": "x"] }
        XCTAssertEqual(loadError(tree), "bad.json: memories[1].readEnergyPicojoulesPerByte: must be > 0, got 0.0")
    }

    func testARandomBitEnergyIsOptionalAndChecked() throws {
        var tree = try horowitzTree()
        tree["randomBitEnergyPicojoules"] = ["value": 0.25, "source": "test figure"]
        let data = try JSONSerialization.data(withJSONObject: tree)
        XCTAssertEqual(try HardwareProfile(json: data, file: "ok.json").randomBitEnergyPicojoules,
                       SourcedValue(0.25, source: "test figure"))
        XCTAssertNil(try TestNetworks.shippedProfile("horowitz-45nm").randomBitEnergyPicojoules)
        tree["randomBitEnergyPicojoules"] = ["value": -1, "source": "typo"]
        XCTAssertEqual(loadError(tree), "bad.json: randomBitEnergyPicojoules: must be > 0, got -1.0")
    }

    /// Every number the pricing converts to an `Int` or multiplies has an upper
    /// bound (and every rate that divides a count a lower one), named with its field.
    func testNumbersTooLargeToPriceAreNamed() throws {
        var tree = try horowitzTree()
        editingMemory(0, &tree) { $0["sizeBytes"] = ["value": 1e19, "source": "typo"] }
        XCTAssertEqual(loadError(tree), "bad.json: memories[0].sizeBytes: must be at most 1125899906842624, got 1e+19")

        tree = try horowitzTree()
        tree["clockHz"] = ["value": 1e300, "source": "typo"]
        XCTAssertEqual(loadError(tree), "bad.json: clockHz: must be at most 1000000000000, got 1e+300")

        tree = try horowitzTree()
        tree["otherOperationsPerCycle"] = ["value": 1e-300, "source": "typo"]
        XCTAssertEqual(loadError(tree), "bad.json: otherOperationsPerCycle: must be at least 1e-06, got 1e-300")

        tree = try horowitzTree()
        tree["randomBitEnergyPicojoules"] = ["value": 1e300, "source": "typo"]
        XCTAssertEqual(loadError(tree), "bad.json: randomBitEnergyPicojoules: must be at most 1000000000, got 1e+300")

        tree = try horowitzTree()
        var operations = tree["operations"] as! [[String: Any]]
        operations[2]["energyPicojoules"] = ["value": 1e300, "source": "typo"]
        tree["operations"] = operations
        XCTAssertEqual(loadError(tree), "bad.json: operations[2].energyPicojoules: must be at most 1000000000, got 1e+300")

        tree = try horowitzTree()
        var throughput = tree["computeThroughput"] as! [[String: Any]]
        throughput[1]["macsPerCycle"] = ["value": 1e300, "source": "typo"]
        tree["computeThroughput"] = throughput
        XCTAssertEqual(loadError(tree), "bad.json: computeThroughput[1].macsPerCycle: must be at most 1000000000, got 1e+300")

        for field in ["readEnergyPicojoulesPerByte", "writeEnergyPicojoulesPerByte", "bandwidthBytesPerCycle"] {
            tree = try horowitzTree()
            editingMemory(1, &tree) { $0[field] = ["value": 1e300, "source": "typo"] }
            XCTAssertEqual(loadError(tree), "bad.json: memories[1].\(field): must be at most 1000000000, got 1e+300")
        }
    }

    func testAZeroBandwidthIsNamed() throws {
        var tree = try horowitzTree()
        editingMemory(3, &tree) { $0["bandwidthBytesPerCycle"] = ["value": 0, "source": "assumption"] }
        XCTAssertEqual(loadError(tree), "bad.json: memories[3].bandwidthBytesPerCycle: must be > 0, got 0.0")
    }

    func testAnUnknownKeyIsNamed() throws {
        var tree = try horowitzTree()
        editingMemory(0, &tree) { $0["latencyCycles"] = 2 }
        XCTAssertEqual(loadError(tree), "bad.json: memories[0].latencyCycles: unknown key (known: bandwidthBytesPerCycle, "
                       + "name, onChip, readEnergyPicojoulesPerByte, sizeBytes, writeEnergyPicojoulesPerByte)")
        tree = try horowitzTree()
        tree["vendor"] = "ACME"
        XCTAssertTrue(loadError(tree)?.hasPrefix("bad.json: vendor: unknown key") ?? false)
    }

    func testWrongTypesAndImpossibleValuesAreNamed() throws {
        var tree = try horowitzTree()
        tree["clockHz"] = ["value": "1 GHz", "source": "x"]
        XCTAssertEqual(loadError(tree), "bad.json: clockHz.value: must be a number")

        tree = try horowitzTree()
        var operations = tree["operations"] as! [[String: Any]]
        operations[0]["precision"] = "int4"
        tree["operations"] = operations
        XCTAssertEqual(loadError(tree), "bad.json: operations[0].precision: must be one of int8, int16, int32, fp16, fp32")

        tree = try horowitzTree()
        operations = tree["operations"] as! [[String: Any]]
        operations[1] = operations[0]
        tree["operations"] = operations
        XCTAssertEqual(loadError(tree), "bad.json: operations[1]: add at int8 is listed twice")

        tree = try horowitzTree()
        editingMemory(2, &tree) { $0["onChip"] = false }
        XCTAssertEqual(loadError(tree), "bad.json: memories: at most one off-chip level (onChip: false) is supported")

        tree = try horowitzTree()
        editingMemory(0, &tree) { $0["sizeBytes"] = ["value": 8192.5, "source": "x"] }
        XCTAssertEqual(loadError(tree), "bad.json: memories[0].sizeBytes: must be a whole number, got 8192.5")

        tree = try horowitzTree()
        tree["clockHz"] = ["value": 1e9, "source": " "]
        XCTAssertEqual(loadError(tree), "bad.json: clockHz.source: must name where the number comes from")

        XCTAssertEqual("\(HardwareProfileErrorProbe.notJSON())", "bad.json: (file): not valid JSON")
    }
}

private enum HardwareProfileErrorProbe {
    static func notJSON() -> Error {
        do { _ = try HardwareProfile(json: Data("{".utf8), file: "bad.json") } catch { return error }
        return HardwareProfileError(file: "", path: "", problem: "loaded")
    }
}
