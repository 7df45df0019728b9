import Foundation
import Quantized
import XCTest

/// `PrecisionConfig`: the built-in presets, JSON config files (all roles, or a
/// base preset with overrides), Codable round trips, and errors that name the
/// offending key as a path (`roles.weights.bits`).
final class PrecisionConfigTests: XCTestCase {
    private func parse(_ json: String, file: String = "test.json") throws -> PrecisionConfig {
        try PrecisionConfig(json: Data(json.utf8), file: file)
    }

    /// A role object as JSON text.
    private func role(_ fields: String = #""bits": 8, "fractionalBits": 6"#) -> String { "{ \(fields) }" }

    /// A complete config listing all seven roles, with `weights` replaced by `weights`.
    private func allRoles(weights: String? = nil, extra: String = "") -> String {
        let roles = TensorRole.allCases.map { role in
            "\"\(role.rawValue)\": \(role == .weights ? (weights ?? self.role()) : self.role())"
        }
        return "{ \"name\": \"custom\", \"roles\": { \(roles.joined(separator: ", ")) } \(extra) }"
    }

    private func assertError(_ json: String, key: String, mentions phrase: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(json, file: "bad.json"), json, file: file, line: line) { error in
            guard let error = error as? PrecisionConfigError else {
                return XCTFail("\(type(of: error)): \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: line)
            XCTAssertEqual(error.file, "bad.json", file: file, line: line)
            let message = String(describing: error)
            XCTAssertTrue(message.contains("bad.json") && message.contains(key), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            if let phrase {
                XCTAssertTrue(message.contains(phrase), "'\(message)' lacks '\(phrase)'", file: file, line: line)
            }
        }
    }

    // MARK: Presets

    func testEveryPresetLoadsWithAllSevenRolesExceptFloat32WhichHasNone() throws {
        XCTAssertEqual(PrecisionConfig.presetNames, ["float32", "int16", "int16-stochastic", "int8", "int8-stochastic"])
        for name in PrecisionConfig.presetNames {
            let config = try PrecisionConfig.load(name)
            XCTAssertEqual(config, PrecisionConfig.preset(named: name))
            XCTAssertEqual(config.name, name)
            if name == "float32" {
                XCTAssertTrue(config.isFloat)
                XCTAssertTrue(config.roles.isEmpty)
            } else {
                XCTAssertEqual(config.arithmetic, .fixedPoint, name)
                XCTAssertEqual(Set(config.roles.keys), Set(TensorRole.allCases), name)
                XCTAssertEqual(config.accumulatorOverflow, .saturate, name)
                XCTAssertEqual(config.softmax, .integer, name)
                XCTAssertEqual(config.scalars, .multiplyShift, name)
                for (role, format) in config.roles {
                    XCTAssertEqual(format.bits, name.hasPrefix("int16") ? 16 : 8, "\(name), \(role)")
                    XCTAssertTrue(format.signed, "\(name), \(role)")
                    XCTAssertEqual(format.fractionalBits == nil, format.scaling == .dynamic, "\(name), \(role)")
                }
                // State that persists across batches has a static format.
                XCTAssertEqual(config[.weights].scaling, .static, name)
                XCTAssertEqual(config[.optimiserState].scaling, .static, name)
            }
        }
        XCTAssertNil(PrecisionConfig.preset(named: "int4"))
    }

    func testInt16StochasticIsInt16WithStochasticWeightsAndVelocityOnly() throws {
        let plain = try XCTUnwrap(PrecisionConfig.preset(named: "int16"))
        let stochastic = try XCTUnwrap(PrecisionConfig.preset(named: "int16-stochastic"))
        for role in TensorRole.allCases {
            var expected = plain[role]
            if role == .weights || role == .optimiserState { expected.rounding = .stochastic }
            XCTAssertEqual(stochastic[role], expected, "\(role)")
        }
    }

    func testPresetFormatsAreTheDocumentedOnes() {
        let int16 = PrecisionConfig.preset(named: "int16")!
        XCTAssertEqual(int16[.weights].format(forMaxAbs: 0).description, "Q1.14")
        XCTAssertEqual(int16[.modulatedInput].format(forMaxAbs: 0).description, "Q1.14")
        XCTAssertEqual(int16[.optimiserState].format(forMaxAbs: 0).description, "Q-2.17")
        let int8 = PrecisionConfig.preset(named: "int8")!
        XCTAssertEqual(int8[.weights].format(forMaxAbs: 0).description, "Q0.7")
        XCTAssertEqual(int8[.modulatedInput].format(forMaxAbs: 0).description, "Q1.6")
        XCTAssertEqual(int8[.optimiserState].format(forMaxAbs: 0).description, "Q-3.10")
        let stochastic = PrecisionConfig.preset(named: "int8-stochastic")!
        for role in [TensorRole.weights, .modulatedInput, .updates, .optimiserState] {
            XCTAssertEqual(stochastic[role].rounding, .stochastic, "\(role)")
            XCTAssertEqual(stochastic[role].bits, int8[role].bits, "\(role)")
            XCTAssertEqual(stochastic[role].fractionalBits, int8[role].fractionalBits, "\(role)")
        }
        for role in [TensorRole.activations, .errors, .projection] {
            XCTAssertEqual(stochastic[role], int8[role], "\(role)")
        }
    }

    func testDynamicFormatIsTheFinestThatHoldsTheLargestMagnitude() {
        let dynamic = RoleFormat.dynamic(8)
        XCTAssertEqual(dynamic.format(forMaxAbs: 1).fractionalBits, 6, "127 / 64 >= 1 > 127 / 128")
        XCTAssertEqual(dynamic.format(forMaxAbs: 127.0 / 64).fractionalBits, 6)
        XCTAssertEqual(dynamic.format(forMaxAbs: 127.0 / 64 + 0.001).fractionalBits, 5)
        XCTAssertEqual(dynamic.format(forMaxAbs: 0).fractionalBits, 30)
        XCTAssertEqual(RoleFormat.fixed(8, 3).format(forMaxAbs: 1000).fractionalBits, 3, "static ignores the data")
    }

    // MARK: JSON

    func testJSONListingAllRolesIsReadRoleByRole() throws {
        let json = """
        { "name": "mixed", "arithmetic": "fixed-point", "accumulatorOverflow": "wrap", "softmax": "float",
          "scalars": "power-of-two",
          "roles": {
            "weights": { "bits": 12, "fractionalBits": 10, "rounding": "nearest-away" },
            "activations": { "bits": 8, "scaling": "dynamic", "rounding": "truncate" },
            "errors": { "bits": 16, "scaling": "dynamic", "signed": true },
            "projection": { "bits": 8, "fractionalBits": 9, "scaling": "static" },
            "modulatedInput": { "bits": 8, "fractionalBits": 8, "signed": false },
            "updates": { "bits": 16, "scaling": "dynamic", "rounding": "stochastic" },
            "optimiserState": { "bits": 16, "fractionalBits": -2 }
          } }
        """
        let config = try parse(json)
        XCTAssertEqual(config.name, "mixed")
        XCTAssertEqual(config.arithmetic, .fixedPoint)
        XCTAssertEqual(config.accumulatorOverflow, .wrap)
        XCTAssertEqual(config.softmax, .float)
        XCTAssertEqual(config.scalars, .powerOfTwo)
        XCTAssertEqual(config.roles, [
            .weights: RoleFormat(bits: 12, fractionalBits: 10, rounding: .nearestAway),
            .activations: RoleFormat(bits: 8, fractionalBits: nil, scaling: .dynamic, rounding: .truncate),
            .errors: .dynamic(16),
            .projection: .fixed(8, 9),
            .modulatedInput: RoleFormat(bits: 8, fractionalBits: 8, signed: false),
            .updates: .dynamic(16, rounding: .stochastic),
            .optimiserState: .fixed(16, -2),
        ])
        XCTAssertEqual(config[.modulatedInput].format(forMaxAbs: 0).description, "UQ0.8")
    }

    func testDefaultsAreSignedStaticNearestEvenSaturatingIntegerSoftmaxMultiplyShift() throws {
        let config = try parse(allRoles(), file: "/some/where/my-config.json")
        XCTAssertEqual(config.name, "custom")
        XCTAssertEqual(config.accumulatorOverflow, .saturate)
        XCTAssertEqual(config.softmax, .integer)
        XCTAssertEqual(config.scalars, .multiplyShift)
        for role in TensorRole.allCases { XCTAssertEqual(config[role], RoleFormat(bits: 8, fractionalBits: 6), "\(role)") }
        let unnamed = try parse(allRoles().replacingOccurrences(of: "\"name\": \"custom\", ", with: ""),
                                file: "/some/where/my-config.json")
        XCTAssertEqual(unnamed.name, "my-config", "without a name, the file's name")
    }

    func testBasePresetWithOneOverrideChangesOnlyThatRole() throws {
        let json = """
        { "name": "int8-wide-input", "base": "int8",
          "roles": { "modulatedInput": { "bits": 16, "fractionalBits": 14, "rounding": "nearest-even" } } }
        """
        let config = try parse(json)
        let int8 = PrecisionConfig.preset(named: "int8")!
        XCTAssertEqual(config.name, "int8-wide-input")
        XCTAssertEqual(config[.modulatedInput], .fixed(16, 14))
        for role in TensorRole.allCases where role != .modulatedInput {
            XCTAssertEqual(config[role], int8[role], "\(role) comes from the base")
        }
        XCTAssertEqual(config.accumulatorOverflow, int8.accumulatorOverflow)
        XCTAssertEqual(config.arithmetic, .fixedPoint)
        XCTAssertEqual(try parse(#"{ "base": "int16", "scalars": "power-of-two" }"#).roles,
                       PrecisionConfig.preset(named: "int16")!.roles, "a base alone gives all its roles")
    }

    func testCodableRoundTripKeepsEveryField() throws {
        var custom = PrecisionConfig.preset(named: "int8-stochastic")!
        custom.name = "custom"
        custom.accumulatorOverflow = .wrap
        custom.softmax = .float
        custom.scalars = .powerOfTwo
        custom.roles[.errors] = RoleFormat(bits: 12, fractionalBits: nil, signed: false, scaling: .dynamic, rounding: .truncate)
        for config in PrecisionConfig.presetNames.map({ PrecisionConfig.preset(named: $0)! }) + [custom] {
            let data = try JSONEncoder().encode(config)
            XCTAssertEqual(try JSONDecoder().decode(PrecisionConfig.self, from: data), config, config.name)
        }
    }

    func testWhatJSONEncoderWritesIsAValidConfigFile() throws {
        // A run's config.json holds the resolved precision; a user can hand it back to --precision.
        for name in ["int16", "int8", "int8-stochastic"] {
            let config = PrecisionConfig.preset(named: name)!
            XCTAssertEqual(try PrecisionConfig(json: JSONEncoder().encode(config), file: "\(name).json"), config, name)
        }
    }

    // MARK: Errors naming the key

    func testNotAJSONObjectIsAnErrorAboutTheFile() {
        assertError("[1, 2]", key: "(file)", mentions: "not a JSON object")
        assertError("{ not json", key: "(file)")
        assertError("", key: "(file)")
    }

    func testUnknownTopLevelKeyIsNamed() {
        assertError(allRoles(extra: #", "rols": {}"#), key: "rols", mentions: "unknown key")
    }

    func testUnknownRoleIsNamedWithItsPath() {
        assertError(#"{ "base": "int8", "roles": { "biases": { "bits": 8, "fractionalBits": 6 } } }"#,
                    key: "roles.biases", mentions: "unknown role")
    }

    func testUnknownRoleKeyIsNamedWithItsPath() {
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "exponent": 3"#)),
                    key: "roles.weights.exponent", mentions: "unknown key")
    }

    func testBitsOutsideTwoToSixteenAreRejected() {
        for bits in [1, 17, 0, -8, 32] {
            assertError(allRoles(weights: role("\"bits\": \(bits), \"fractionalBits\": 0")), key: "roles.weights.bits",
                        mentions: "\(bits)")
        }
        XCTAssertNoThrow(try parse(allRoles(weights: role(#""bits": 2, "fractionalBits": 0"#))))
        XCTAssertNoThrow(try parse(allRoles(weights: role(#""bits": 16, "fractionalBits": 0"#))))
    }

    func testBitsThatAreNotAWholeNumberAreRejected() {
        for bits in ["1.5", "\"8\"", "true", "null", "[8]"] {
            assertError(allRoles(weights: role("\"bits\": \(bits), \"fractionalBits\": 6")), key: "roles.weights.bits",
                        mentions: "whole number")
        }
        assertError(allRoles(weights: role(#""fractionalBits": 6"#)), key: "roles.weights.bits", mentions: "missing")
    }

    func testStaticScalingNeedsFractionalBitsAndDynamicForbidsThem() {
        assertError(allRoles(weights: role(#""bits": 8"#)), key: "roles.weights.fractionalBits", mentions: "static")
        assertError(allRoles(weights: role(#""bits": 8, "scaling": "static""#)), key: "roles.weights.fractionalBits")
        assertError(allRoles(weights: role(#""bits": 8, "scaling": "dynamic", "fractionalBits": 6"#)),
                    key: "roles.weights.fractionalBits", mentions: "dynamic")
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6.5"#)), key: "roles.weights.fractionalBits",
                    mentions: "whole number")
    }

    func testFractionalBitsOutsideMinusSixteenToThirtyAreRejected() {
        for fraction in [-17, 31, 100] {
            assertError(allRoles(weights: role("\"bits\": 8, \"fractionalBits\": \(fraction)")),
                        key: "roles.weights.fractionalBits", mentions: "-16...30")
        }
        for fraction in [-16, 30] {
            XCTAssertNoThrow(try parse(allRoles(weights: role("\"bits\": 8, \"fractionalBits\": \(fraction)"))), "\(fraction)")
        }
    }

    func testBadRoundingScalingAndSignedAreNamed() {
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "rounding": "round-half-up""#)),
                    key: "roles.weights.rounding", mentions: "nearest-even")
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "rounding": 1"#)), key: "roles.weights.rounding")
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "scaling": "per-channel""#)),
                    key: "roles.weights.scaling", mentions: "dynamic")
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "signed": "yes""#)), key: "roles.weights.signed")
        assertError(allRoles(weights: role(#""bits": 8, "fractionalBits": 6, "signed": 1"#)), key: "roles.weights.signed")
    }

    func testUnsignedSixteenBitFormatsAreRejectedBecauseCodesAreStoredAsInt16() {
        assertError(allRoles(weights: role(#""bits": 16, "fractionalBits": 8, "signed": false"#)), key: "roles.weights.bits",
                    mentions: "unsigned")
        XCTAssertNoThrow(try parse(allRoles(weights: role(#""bits": 15, "fractionalBits": 8, "signed": false"#))))
    }

    func testMissingRoleWithoutBaseIsNamed() {
        let withoutUpdates = allRoles().replacingOccurrences(of: "\"updates\": \(role()), ", with: "")
        XCTAssertFalse(withoutUpdates.contains("updates"))
        assertError(withoutUpdates, key: "roles.updates", mentions: "missing")
        assertError(#"{ "name": "empty" }"#, key: "roles.weights", mentions: "missing")
    }

    func testUnknownBasePresetIsNamed() {
        assertError(#"{ "base": "int4" }"#, key: "base", mentions: "int4")
        assertError(#"{ "base": 8 }"#, key: "base")
    }

    func testBadTopLevelChoicesAreNamed() {
        assertError(allRoles(extra: #", "accumulatorOverflow": "clip""#), key: "accumulatorOverflow", mentions: "wrap")
        assertError(allRoles(extra: #", "softmax": "exact""#), key: "softmax", mentions: "integer")
        assertError(allRoles(extra: #", "scalars": "float""#), key: "scalars", mentions: "power-of-two")
        assertError(allRoles(extra: #", "arithmetic": "bfloat16""#), key: "arithmetic")
        assertError(#"{ "base": "int8", "roles": [] }"#, key: "roles", mentions: "object")
        assertError(#"{ "base": "int8", "roles": { "weights": 8 } }"#, key: "roles.weights", mentions: "object")
    }

    func testLoadOfANonexistentPathNamesThePath() throws {
        let path = NSTemporaryDirectory() + "/no-such-precision-\(UUID().uuidString).json"
        XCTAssertThrowsError(try PrecisionConfig.load(path)) { error in
            let error = error as? PrecisionConfigError
            XCTAssertEqual(error?.file, path)
            XCTAssertEqual(error?.key, "(file)")
            XCTAssertTrue(String(describing: error!).contains(path))
        }
    }

    func testLoadReadsAFile() throws {
        let path = NSTemporaryDirectory() + "/precision-\(UUID().uuidString).json"
        try Data(#"{ "base": "int16", "roles": { "weights": { "bits": 16, "fractionalBits": 12 } } }"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try PrecisionConfig.load(path)
        XCTAssertEqual(config[.weights], .fixed(16, 12))
        XCTAssertEqual(config.name, (path as NSString).lastPathComponent.replacingOccurrences(of: ".json", with: ""))
    }
}
