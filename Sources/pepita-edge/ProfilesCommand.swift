import Foundation
import HWModel
import PepitaEngine

/// Where hardware profiles are found by name. A name is a file stem:
/// `horowitz-45nm` is `horowitz-45nm.json` in the first of these directories
/// that has it:
/// 1. `./profiles` (the repository root as working directory, as in the README);
/// 2. `$PEPITA_EDGE_PROFILES`;
/// 3. the `profiles` folder of the SwiftPM checkout the executable was built in
///    (a folder holding `Package.swift`, up to five levels above the executable),
///    so `swift run` and the tests find the shipped profiles from anywhere.
/// Anything with a `/` or ending in `.json` is a path instead.
enum ProfileCatalog {
    static let environmentVariable = "PEPITA_EDGE_PROFILES"

    /// The existing search directories, in order, without repeats.
    static var searchDirectories: [String] {
        var candidates = [FileManager.default.currentDirectoryPath + "/profiles"]
        if let directory = ProcessInfo.processInfo.environment[environmentVariable], !directory.isEmpty {
            candidates.append(directory)
        }
        if let checkout = checkoutProfiles { candidates.append(checkout) }
        var seen = Set<String>()
        return candidates.filter { directory in
            var isDirectory: ObjCBool = false
            let standardised = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
                  seen.insert(standardised).inserted else { return false }
            return true
        }
    }

    /// `<checkout>/profiles` when the executable sits in a SwiftPM build folder of a checkout.
    static var checkoutProfiles: String? {
        guard var directory = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() else { return nil }
        for _ in 0..<5 {
            directory.deleteLastPathComponent()
            let profiles = directory.appendingPathComponent("profiles").path
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: profiles) {
                return profiles
            }
        }
        return nil
    }

    /// Every `*.json` in the search directories by stem, the first directory's winning on a clash.
    static func entries() -> [(name: String, path: String)] {
        var found: [(name: String, path: String)] = []
        for directory in searchDirectories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files.sorted() where file.hasSuffix(".json") {
                let name = String(file.dropLast(5))
                if !found.contains(where: { $0.name == name }) { found.append((name, directory + "/" + file)) }
            }
        }
        return found
    }

    static func isPath(_ text: String) -> Bool { text.contains("/") || text.hasSuffix(".json") }

    /// The file a name or path refers to; a name that is not found is a usage error listing the known names.
    static func path(of nameOrPath: String) throws -> String {
        if isPath(nameOrPath) { return nameOrPath }
        if let entry = entries().first(where: { $0.name == nameOrPath }) { return entry.path }
        let known = entries().map(\.name)
        let searched = searchDirectories.isEmpty ? "no profiles directory found: run from the repository root or set \(environmentVariable)"
                                                 : "searched \(searchDirectories.joined(separator: ", "))"
        throw UsageError("unknown profile '\(nameOrPath)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", "))); \(searched)")
    }

    /// Reads and validates the profile `nameOrPath` names.
    static func load(_ nameOrPath: String) throws -> (profile: HardwareProfile, path: String) {
        let file = try path(of: nameOrPath)
        guard FileManager.default.fileExists(atPath: file) else {
            throw UsageError("profile file '\(file)' does not exist")
        }
        return (try HardwareProfile(contentsOf: URL(fileURLWithPath: file)), file)
    }
}

/// `pepita-edge profiles list|show|validate`: the hardware profiles the cost model prices on.
enum ProfilesCommand {
    static let help = """
    USAGE: pepita-edge profiles list [--format F] [--out PATH]
           pepita-edge profiles show NAME|FILE [--format F] [--out PATH]
           pepita-edge profiles validate NAME|FILE...

    Hardware profiles are JSON files in which every number carries its source
    (profiles/*.json; see Sources/HWModel/README.md). A NAME is a file stem,
    looked up in ./profiles, then in $PEPITA_EDGE_PROFILES, then in the profiles
    folder of the checkout the executable was built in; anything with a '/' or
    ending in .json is a file.

      list       every profile found: name, clock, MAC precisions, memories, description
      show       every field of one profile with its source
      validate   one line per file: ok, or the field that is wrong; exits 1 if any is wrong

    OPTIONS:
      --format F   table | json | csv | md [table]
      --out PATH   write the result to PATH instead of stdout
    """

    /// `words` are everything after `profiles`: the action, its operands and the options, in any order.
    static func run(_ words: [String]) throws {
        let (positional, options) = splitOperands(words, valuedOptions: ["--format", "--out"])
        var arguments = Arguments(options)
        if arguments.wantsHelp { print(help); return }
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()
        guard let action = positional.first else { throw UsageError("profiles needs an action: list, show NAME or validate FILE...") }
        let operands = Array(positional.dropFirst())
        switch action {
        case "list":
            if let extra = operands.first { throw UsageError("unexpected argument '\(extra)' (profiles list takes no names)") }
            try OutputFormat.emit(list(format: format), to: outPath)
        case "show":
            guard operands.count == 1 else { throw UsageError("profiles show takes one NAME or FILE, got \(operands.count)") }
            let (profile, path) = try ProfileCatalog.load(operands[0])
            try OutputFormat.emit(show(profile, path: path, format: format), to: outPath)
        case "validate":
            guard !operands.isEmpty else { throw UsageError("profiles validate needs at least one FILE (or NAME)") }
            try validate(operands, outPath: outPath)
        default:
            throw UsageError("unknown profiles action '\(action)' (try: list, show, validate)")
        }
    }

    struct ListEntry: Codable {
        var name: String
        var file: String
        var description: String
        var clockHz: Double?
        var macPrecisions: [String]
        var memories: [String]
        /// Set when the file does not load; the other fields are then empty.
        var error: String?
    }

    static func list(format: OutputFormat) throws -> String {
        let entries = ProfileCatalog.entries().map { entry -> ListEntry in
            do {
                let profile = try HardwareProfile(contentsOf: URL(fileURLWithPath: entry.path))
                return ListEntry(name: entry.name, file: entry.path, description: profile.description,
                                 clockHz: profile.clockHz.value,
                                 macPrecisions: profile.computeThroughput.map(\.precision.rawValue),
                                 memories: profile.memories.map { "\($0.name) \(bytesText($0.sizeBytes.value))\($0.onChip ? "" : " off-chip")" })
            } catch {
                return ListEntry(name: entry.name, file: entry.path, description: "", clockHz: nil, macPrecisions: [],
                                 memories: [], error: String(describing: error))
            }
        }
        if format == .json { return try jsonText(entries) }
        if entries.isEmpty {
            throw UsageError("no profiles found: run from the repository root (./profiles) or set \(ProfileCatalog.environmentVariable)")
        }
        let table = TextTable(
            header: ["name", "clock", "MAC precisions", "memories", "description", "file"],
            rows: entries.map { entry in
                [entry.name, entry.clockHz.map(clockText) ?? "-", entry.macPrecisions.joined(separator: " "),
                 entry.memories.joined(separator: ", "),
                 entry.error.map { "INVALID: " + $0 } ?? (format == .table ? abbreviated(entry.description, to: 60) : entry.description),
                 entry.file]
            })
        return format.render(table)
    }

    /// One row per number of the profile: where it sits in the file, what it is, value, unit, source.
    static func fieldTable(_ profile: HardwareProfile) -> TextTable {
        func row(_ field: String, _ what: String, _ number: SourcedValue, _ unit: String) -> [String] {
            [field, what, plainNumber(number.value), unit, number.source]
        }
        var rows = [row("clockHz", "clock", profile.clockHz, "Hz"),
                    row("otherOperationsPerCycle", "non-MAC throughput", profile.otherOperationsPerCycle, "operations/cycle")]
        if let randomBit = profile.randomBitEnergyPicojoules {
            rows.append(row("randomBitEnergyPicojoules", "random bit (stochastic rounding)", randomBit, "pJ"))
        }
        for (index, operation) in profile.operations.enumerated() {
            rows.append(row("operations[\(index)].energyPicojoules", "\(operation.kind.rawValue) \(operation.precision.rawValue)",
                            operation.energyPicojoules, "pJ"))
        }
        for (index, entry) in profile.computeThroughput.enumerated() {
            rows.append(row("computeThroughput[\(index)].macsPerCycle", "MACs \(entry.precision.rawValue)", entry.macsPerCycle, "MACs/cycle"))
        }
        for (index, memory) in profile.memories.enumerated() {
            let path = "memories[\(index)]", what = memory.name + (memory.onChip ? " (on chip)" : " (off chip)")
            rows.append(row("\(path).sizeBytes", "\(what) size", memory.sizeBytes, "bytes"))
            rows.append(row("\(path).readEnergyPicojoulesPerByte", "\(what) read", memory.readEnergyPicojoulesPerByte, "pJ/byte"))
            rows.append(row("\(path).writeEnergyPicojoulesPerByte", "\(what) write", memory.writeEnergyPicojoulesPerByte, "pJ/byte"))
            rows.append(row("\(path).bandwidthBytesPerCycle", "\(what) bandwidth", memory.bandwidthBytesPerCycle, "bytes/cycle"))
        }
        return TextTable(header: ["field", "what", "value", "unit", "source"], rows: rows)
    }

    static func show(_ profile: HardwareProfile, path: String, format: OutputFormat) throws -> String {
        let table = fieldTable(profile)
        switch format {
        case .json: return try jsonText(profile)
        case .csv: return table.csv
        case .md:
            let notes = (profile.notes ?? []).map { "- \($0)\n" }.joined()
            return "**\(profile.name)** (`\(path)`, schema version \(profile.schemaVersion))\n\n\(profile.description)\n\n"
                + (notes.isEmpty ? "" : notes + "\n") + table.markdown
        case .table, .html:
            let notes = (profile.notes ?? []).map { "  note: \($0)\n" }.joined()
            return "\(profile.name) (\(path), schema version \(profile.schemaVersion))\n  \(profile.description)\n"
                + notes + "\n" + table.aligned
        }
    }

    /// Prints `FILE: ok` or `FILE: field: problem` per file on stdout; any bad file makes the command fail.
    static func validate(_ operands: [String], outPath: String?) throws {
        var lines: [String] = []
        var bad = 0
        for operand in operands {
            do {
                let (profile, path) = try ProfileCatalog.load(operand)
                lines.append("\(path): ok (\(profile.name): \(profile.operations.count) operation energies, \(profile.computeThroughput.count) MAC rates, \(profile.memories.count) memories)")
            } catch let error as HardwareProfileError {
                bad += 1
                lines.append("\(operand): \(error.path): \(error.problem)")
            } catch {
                bad += 1
                lines.append("\(operand): \(String(describing: error))")
            }
        }
        try OutputFormat.emit(lines.joined(separator: "\n") + "\n", to: outPath)
        if bad > 0 { throw ProfileValidationFailure(bad: bad, of: operands.count) }
    }

    struct ProfileValidationFailure: Error, CustomStringConvertible {
        var bad: Int
        var of: Int
        var description: String { "\(bad) of \(of) profile file(s) invalid (see above)" }
    }
}

/// Words not starting with `-` (and not the value of one of `valuedOptions`) are operands; the rest options.
func splitOperands(_ words: [String], valuedOptions: Set<String>) -> (operands: [String], options: [String]) {
    var operands: [String] = [], options: [String] = []
    var index = 0
    while index < words.count {
        let word = words[index]
        if word.hasPrefix("-") {
            options.append(word)
            if valuedOptions.contains(word), index + 1 < words.count {
                options.append(words[index + 1])
                index += 1
            }
        } else {
            operands.append(word)
        }
        index += 1
    }
    return (operands, options)
}

/// `1 GHz`, `168 MHz`.
func clockText(_ hertz: Double) -> String {
    for (scale, unit) in [(1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")] where hertz >= scale {
        return plainNumber(hertz / scale) + " " + unit
    }
    return plainNumber(hertz) + " Hz"
}

/// `8 KiB`, `1 MiB`, `1.5 GiB`, or bytes.
func bytesText(_ bytes: Double) -> String {
    for (scale, unit) in [(1_073_741_824.0, "GiB"), (1_048_576.0, "MiB"), (1024.0, "KiB")] where bytes >= scale {
        return String(format: "%.4g", bytes / scale) + " " + unit
    }
    return plainNumber(bytes) + " B"
}

func abbreviated(_ text: String, to length: Int) -> String {
    guard text.count > length else { return text }
    let cut = text.prefix(length)
    return String(cut[..<(cut.lastIndex(of: " ") ?? cut.endIndex)]) + " ..."
}

extension OutputFormat {
    /// `table` aligned, `csv`, `md`; JSON is written by the caller.
    func render(_ table: TextTable) -> String {
        switch self {
        case .csv: return table.csv
        case .md: return table.markdown
        case .table, .json, .html: return table.aligned
        }
    }
}
