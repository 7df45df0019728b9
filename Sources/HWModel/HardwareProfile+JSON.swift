import Foundation
import Quantized

/// A profile that cannot be used; one line naming the file and the field path,
/// e.g. `cortex-m4.json: memories[1].readEnergyPicojoulesPerByte: must be > 0`.
public struct HardwareProfileError: Error, Equatable, CustomStringConvertible {
    public var file: String
    /// `memories[1].readEnergyPicojoulesPerByte`, `clockHz.source`, `(file)`.
    public var path: String
    public var problem: String

    public init(file: String, path: String, problem: String) {
        self.file = file
        self.path = path
        self.problem = problem
    }

    public var description: String { file.isEmpty ? "\(path): \(problem)" : "\(file): \(path): \(problem)" }
}

extension HardwareProfile {
    /// Reads and validates a profile. Every key is checked: unknown keys,
    /// missing keys and wrong types are errors naming the path; then
    /// `validate()` checks the values.
    public init(json data: Data, file: String) throws {
        guard let tree = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw HardwareProfileError(file: file, path: "(file)", problem: "not valid JSON")
        }
        do {
            try ProfileSchema.profile.check(tree, path: "")
            self = try JSONDecoder().decode(HardwareProfile.self, from: data)
            try validate()
        } catch var error as HardwareProfileError {
            error.file = file
            throw error
        } catch {
            throw HardwareProfileError(file: file, path: "(file)", problem: "cannot be decoded: \(error)")
        }
    }

    /// The largest profile file read (1 MiB).
    public static let maxFileBytes = 1 << 20

    /// Reads a profile file (see `init(json:file:)`); errors name the file by its last path component.
    public init(contentsOf url: URL) throws {
        // Profiles are a few kilobytes; the size is checked before reading so a
        // wrong path (a dataset, a device) is not read into memory whole.
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int ?? 0
        guard size <= Self.maxFileBytes else {
            throw HardwareProfileError(file: url.lastPathComponent, path: "(file)", problem: "\(size) bytes is larger than the \(Self.maxFileBytes)-byte limit for a profile")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw HardwareProfileError(file: url.lastPathComponent, path: "(file)", problem: "cannot be read")
        }
        try self.init(json: data, file: url.lastPathComponent)
    }

    /// The largest value each kind of number may take, so that every product and
    /// quotient the pricing forms stays finite and `MemoryLevel.capacityBytes`
    /// converts to an `Int` with room to add: sizes at most 2^50 bytes (1 PiB),
    /// clocks at most 10^12 Hz, rates (MACs, other operations, bytes per cycle)
    /// at most 10^9 and at least 10^-6 per cycle (they divide counts), energies at
    /// most 10^9 pJ (1 mJ) per operation or byte.
    public enum Limits {
        public static let largestSizeBytes = Double(1 << 50)
        public static let largestClockHz = 1e12
        public static let largestRate = 1e9
        public static let smallestRate = 1e-6
        public static let largestEnergyPicojoules = 1e9
    }

    /// Checks the values: schema version 1; a name; every number finite and
    /// > 0 with a non-empty source and within `Limits`; sizes whole bytes; no
    /// operation, precision or memory name listed twice; at least one on-chip
    /// memory and at most one off-chip.
    public func validate() throws {
        func fail(_ path: String, _ problem: String) -> HardwareProfileError {
            HardwareProfileError(file: "", path: path, problem: problem)
        }
        func check(_ number: SourcedValue, _ path: String, wholeNumber: Bool = false, smallest: Double = 0, largest: Double) throws {
            guard number.value.isFinite, number.value > 0 else { throw fail(path, "must be > 0, got \(number.value)") }
            // Whole limits print as integers (`1125899906842624`, not `1.125899906842624e+15`).
            func text(_ limit: Double) -> String { limit == limit.rounded() && limit < 9e15 ? String(Int(limit)) : String(limit) }
            if number.value > largest { throw fail(path, "must be at most \(text(largest)), got \(number.value)") }
            if number.value < smallest { throw fail(path, "must be at least \(text(smallest)), got \(number.value)") }
            if wholeNumber && number.value.rounded() != number.value { throw fail(path, "must be a whole number, got \(number.value)") }
            if number.source.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("\(path).source", "must name where the number comes from") }
        }
        guard schemaVersion == 1 else { throw fail("schemaVersion", "must be 1, got \(schemaVersion)") }
        if name.isEmpty { throw fail("name", "must not be empty") }
        try check(clockHz, "clockHz", smallest: Limits.smallestRate, largest: Limits.largestClockHz)
        try check(otherOperationsPerCycle, "otherOperationsPerCycle", smallest: Limits.smallestRate, largest: Limits.largestRate)
        if let randomBitEnergyPicojoules { try check(randomBitEnergyPicojoules, "randomBitEnergyPicojoules", largest: Limits.largestEnergyPicojoules) }
        if operations.isEmpty { throw fail("operations", "must list at least one operation") }
        for (index, operation) in operations.enumerated() {
            try check(operation.energyPicojoules, "operations[\(index)].energyPicojoules", largest: Limits.largestEnergyPicojoules)
            if operations[..<index].contains(where: { $0.kind == operation.kind && $0.precision == operation.precision }) {
                throw fail("operations[\(index)]", "\(operation.kind.rawValue) at \(operation.precision.rawValue) is listed twice")
            }
        }
        if computeThroughput.isEmpty { throw fail("computeThroughput", "must list at least one precision") }
        for (index, entry) in computeThroughput.enumerated() {
            try check(entry.macsPerCycle, "computeThroughput[\(index)].macsPerCycle", smallest: Limits.smallestRate, largest: Limits.largestRate)
            if computeThroughput[..<index].contains(where: { $0.precision == entry.precision }) {
                throw fail("computeThroughput[\(index)].precision", "\(entry.precision.rawValue) is listed twice")
            }
        }
        for (index, memory) in memories.enumerated() {
            let path = "memories[\(index)]"
            if memory.name.isEmpty { throw fail("\(path).name", "must not be empty") }
            if memories[..<index].contains(where: { $0.name == memory.name }) {
                throw fail("\(path).name", "'\(memory.name)' is listed twice")
            }
            try check(memory.sizeBytes, "\(path).sizeBytes", wholeNumber: true, largest: Limits.largestSizeBytes)
            try check(memory.readEnergyPicojoulesPerByte, "\(path).readEnergyPicojoulesPerByte", largest: Limits.largestEnergyPicojoules)
            try check(memory.writeEnergyPicojoulesPerByte, "\(path).writeEnergyPicojoulesPerByte", largest: Limits.largestEnergyPicojoules)
            try check(memory.bandwidthBytesPerCycle, "\(path).bandwidthBytesPerCycle", smallest: Limits.smallestRate, largest: Limits.largestRate)
        }
        if onChipMemories.isEmpty { throw fail("memories", "must list at least one on-chip level (onChip: true)") }
        if memories.filter({ !$0.onChip }).count > 1 {
            throw fail("memories", "at most one off-chip level (onChip: false) is supported")
        }
    }
}

/// The shape of a profile file, checked key by key before decoding (JSONDecoder
/// alone would ignore unknown keys and report type errors without a path).
indirect enum ProfileSchema {
    /// Keys, each with its schema and whether it is required.
    case object([String: (schema: ProfileSchema, required: Bool)])
    case array(ProfileSchema)
    case number
    case integer
    case string
    case bool
    case oneOf([String])

    static let sourced = ProfileSchema.object(["value": (.number, true), "source": (.string, true)])

    static let profile = ProfileSchema.object([
        "schemaVersion": (.integer, true),
        "name": (.string, true),
        "description": (.string, true),
        "notes": (.array(.string), false),
        "clockHz": (sourced, true),
        "otherOperationsPerCycle": (sourced, true),
        "randomBitEnergyPicojoules": (sourced, false),
        "operations": (.array(.object([
            "kind": (.oneOf(OperationKind.allCases.map(\.rawValue)), true),
            "precision": (.oneOf(NumericPrecision.allCases.map(\.rawValue)), true),
            "energyPicojoules": (sourced, true),
        ])), true),
        "computeThroughput": (.array(.object([
            "precision": (.oneOf(NumericPrecision.allCases.map(\.rawValue)), true),
            "macsPerCycle": (sourced, true),
        ])), true),
        "memories": (.array(.object([
            "name": (.string, true),
            "onChip": (.bool, true),
            "sizeBytes": (sourced, true),
            "readEnergyPicojoulesPerByte": (sourced, true),
            "writeEnergyPicojoulesPerByte": (sourced, true),
            "bandwidthBytesPerCycle": (sourced, true),
        ])), true),
    ])

    func check(_ value: JSONValue, path: String) throws {
        func fail(_ problem: String) -> HardwareProfileError {
            HardwareProfileError(file: "", path: path.isEmpty ? "(file)" : path, problem: problem)
        }
        switch (self, value) {
        case let (.object(fields), .object(members)):
            if let unknown = members.keys.sorted().first(where: { fields[$0] == nil }) {
                throw HardwareProfileError(file: "", path: path.isEmpty ? unknown : "\(path).\(unknown)",
                                           problem: "unknown key (known: \(fields.keys.sorted().joined(separator: ", ")))")
            }
            for key in fields.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let member = members[key] {
                    try fields[key]!.schema.check(member, path: child)
                } else if fields[key]!.required {
                    throw HardwareProfileError(file: "", path: child, problem: "missing")
                }
            }
        case (.object, _): throw fail("must be an object")
        case let (.array(element), .array(items)):
            for (index, item) in items.enumerated() { try element.check(item, path: "\(path)[\(index)]") }
        case (.array, _): throw fail("must be an array")
        case (.number, .number): return
        case (.number, _): throw fail("must be a number")
        case let (.integer, .number(number)) where number.rounded() == number: return
        case (.integer, _): throw fail("must be an integer")
        case (.string, .string): return
        case (.string, _): throw fail("must be a string")
        case (.bool, .bool): return
        case (.bool, _): throw fail("must be true or false")
        case let (.oneOf(options), .string(text)) where options.contains(text): return
        case let (.oneOf(options), _): throw fail("must be one of \(options.joined(separator: ", "))")
        }
    }
}
