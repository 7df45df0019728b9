import Foundation

/// A precision config file that cannot be used; the message names the file and key.
public struct PrecisionConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var key: String
    public var problem: String
    public var description: String { "\(file): \(key): \(problem)" }
}

extension PrecisionConfig {
    /// Reads a config from JSON. Every key is checked: unknown keys, wrong
    /// types and impossible formats are errors naming the key (as a path like
    /// `roles.weights.bits`). A fixed-point file either lists all seven roles
    /// or names a `"base"` preset and overrides some of them:
    ///
    /// ```json
    /// { "name": "int8-wide-input", "base": "int8",
    ///   "roles": { "modulatedInput": { "bits": 16, "fractionalBits": 14, "rounding": "nearest-even" } } }
    /// ```
    /// Role keys: `bits` (2-16), `fractionalBits` (static scaling only),
    /// `signed` (default true), `scaling` (`static` | `dynamic`, default static),
    /// `rounding` (`nearest-even` | `nearest-away` | `truncate` | `stochastic`).
    /// Top-level keys: `name`, `base`, `arithmetic` (`fixed-point` | `float32`),
    /// `roles`, `accumulatorOverflow` (`saturate` | `wrap`), `accumulatorBits`
    /// (16-64, default 32), `pepitaDifference` (`activations` | `accumulators`), `softmax`
    /// (`integer` | `float`), `scalars` (`multiply-shift` | `power-of-two`).
    public init(json data: Data, file: String) throws {
        func fail(_ key: String, _ problem: String) -> PrecisionConfigError {
            PrecisionConfigError(file: file, key: key, problem: problem)
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data), case let .object(top) = value else {
            throw fail("(file)", "not a JSON object")
        }
        let topKeys: Set = ["name", "base", "arithmetic", "roles", "accumulatorOverflow", "accumulatorBits", "softmax", "scalars", "pepitaDifference"]
        if let unknown = top.keys.sorted().first(where: { !topKeys.contains($0) }) {
            throw fail(unknown, "unknown key (known: \(topKeys.sorted().joined(separator: ", ")))")
        }
        func string(_ dictionary: [String: JSONValue], _ key: String, path: String) throws -> String? {
            guard let value = dictionary[key] else { return nil }
            guard case let .string(text) = value else { throw fail(path, "must be a string") }
            return text
        }
        func choice<T: RawRepresentable>(_ dictionary: [String: JSONValue], _ key: String, path: String, _ type: T.Type,
                                         options: [String]) throws -> T? where T.RawValue == String {
            guard let text = try string(dictionary, key, path: path) else { return nil }
            guard let value = T(rawValue: text) else {
                throw fail(path, "'\(text)' is not one of \(options.joined(separator: ", "))")
            }
            return value
        }

        var config: PrecisionConfig
        if let base = try string(top, "base", path: "base") {
            guard let preset = PrecisionConfig.preset(named: base) else {
                throw fail("base", "unknown preset '\(base)' (known: \(PrecisionConfig.presetNames.joined(separator: ", ")))")
            }
            config = preset
        } else {
            config = PrecisionConfig(name: "", arithmetic: .fixedPoint, roles: [:])
        }
        config.name = try string(top, "name", path: "name") ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        if let arithmetic = try choice(top, "arithmetic", path: "arithmetic", Arithmetic.self, options: ["fixed-point", "float32"]) {
            config.arithmetic = arithmetic
        }
        if let policy = try choice(top, "accumulatorOverflow", path: "accumulatorOverflow", AccumulatorPolicy.self, options: ["saturate", "wrap"]) {
            config.accumulatorOverflow = policy
        }
        if let value = top["accumulatorBits"] {
            guard case let .number(number) = value, let bits = Int(exactly: number), (16...64).contains(bits) else {
                throw fail("accumulatorBits", "must be a whole number 16...64")
            }
            config.accumulatorBits = bits
        }
        if let softmax = try choice(top, "softmax", path: "softmax", SoftmaxMode.self, options: ["integer", "float"]) {
            config.softmax = softmax
        }
        if let difference = try choice(top, "pepitaDifference", path: "pepitaDifference", PepitaDifference.self,
                                       options: ["activations", "accumulators"]) {
            config.pepitaDifference = difference
        }
        if let scalars = try choice(top, "scalars", path: "scalars", ScalarMode.self, options: ["multiply-shift", "power-of-two"]) {
            config.scalars = scalars
        }
        if let rolesValue = top["roles"] {
            guard case let .object(roles) = rolesValue else { throw fail("roles", "must be an object") }
            for (name, value) in roles.sorted(by: { $0.key < $1.key }) {
                let path = "roles.\(name)"
                guard let role = TensorRole(rawValue: name) else {
                    throw fail(path, "unknown role (known: \(TensorRole.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                guard case let .object(fields) = value else { throw fail(path, "must be an object") }
                config.roles[role] = try Self.roleFormat(fields, path: path, fail: fail)
            }
        }
        if config.arithmetic == .fixedPoint {
            for role in [TensorRole.weights, .optimiserState] where config.roles[role]?.scaling == .dynamic {
                throw fail("roles.\(role.rawValue).scaling", "must be static: \(role.rawValue) persist across batches")
            }
            if let missing = TensorRole.allCases.first(where: { config.roles[$0] == nil }) {
                throw fail("roles.\(missing.rawValue)", "missing (list all seven roles or give a \"base\" preset)")
            }
        }
        self = config
    }

    private static func roleFormat(_ fields: [String: JSONValue], path: String,
                                   fail: (String, String) -> PrecisionConfigError) throws -> RoleFormat {
        let known: Set = ["bits", "fractionalBits", "signed", "scaling", "rounding"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("\(path).\(unknown)", "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = fields[key] else { return nil }
            guard case let .number(number) = value, let whole = Int(exactly: number) else {
                throw fail("\(path).\(key)", "must be a whole number")
            }
            return whole
        }
        guard let bits = try integer("bits") else { throw fail("\(path).bits", "missing") }
        guard (2...16).contains(bits) else { throw fail("\(path).bits", "must be 2...16, got \(bits)") }
        var signed = true
        if let value = fields["signed"] {
            guard case let .bool(flag) = value else { throw fail("\(path).signed", "must be true or false") }
            signed = flag
        }
        if !signed && bits > 15 {
            throw fail("\(path).bits", "unsigned formats hold at most 15 bits (codes are stored as int16), got \(bits)")
        }
        var scaling = RoleFormat.Scaling.static
        if let value = fields["scaling"] {
            guard case let .string(text) = value, let parsed = RoleFormat.Scaling(rawValue: text) else {
                throw fail("\(path).scaling", "must be \"static\" or \"dynamic\"")
            }
            scaling = parsed
        }
        var rounding = RoundingMode.nearestEven
        if let value = fields["rounding"] {
            guard case let .string(text) = value, let parsed = RoundingMode(rawValue: text) else {
                throw fail("\(path).rounding", "must be one of \(RoundingMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            rounding = parsed
        }
        let fractionalBits = try integer("fractionalBits")
        switch (scaling, fractionalBits) {
        case (.static, nil):
            throw fail("\(path).fractionalBits", "missing (required with static scaling)")
        case (.dynamic, .some):
            throw fail("\(path).fractionalBits", "not allowed with dynamic scaling (the exponent is computed per batch)")
        case let (.static, .some(fraction)):
            guard (-16...30).contains(fraction) else { throw fail("\(path).fractionalBits", "must be -16...30, got \(fraction)") }
        default:
            break
        }
        return RoleFormat(bits: bits, fractionalBits: fractionalBits, signed: signed, scaling: scaling, rounding: rounding)
    }

    /// The largest config file read (1 MiB).
    public static let maxFileBytes = 1 << 20

    /// A preset name, or the path of a JSON file.
    public static func load(_ nameOrPath: String) throws -> PrecisionConfig {
        if let preset = preset(named: nameOrPath) { return preset }
        guard FileManager.default.fileExists(atPath: nameOrPath) else {
            throw PrecisionConfigError(file: nameOrPath, key: "(file)",
                                       problem: "not a preset (\(presetNames.joined(separator: ", "))) and no such file")
        }
        // A config is a few hundred bytes; checking the size first keeps a wrong
        // path (a dataset, a device) from being read into memory whole.
        let size = (try? FileManager.default.attributesOfItem(atPath: nameOrPath))?[.size] as? Int ?? 0
        guard size <= maxFileBytes else {
            throw PrecisionConfigError(file: nameOrPath, key: "(file)", problem: "\(size) bytes is larger than the \(maxFileBytes)-byte limit for a precision config")
        }
        guard let data = FileManager.default.contents(atPath: nameOrPath) else {
            throw PrecisionConfigError(file: nameOrPath, key: "(file)", problem: "cannot be read")
        }
        return try PrecisionConfig(json: data, file: nameOrPath)
    }
}

/// A JSON document as plain data, so a reader can check every key and type
/// itself (JSONDecoder alone silently ignores unknown keys). Shared by the
/// strict readers of precision configs and hardware profiles.
public enum JSONValue: Decodable, Equatable, Sendable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let items = try? container.decode([JSONValue].self) { self = .array(items) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}
