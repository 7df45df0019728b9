/// The words after a subcommand, consumed option by option. Whatever is left
/// when a command has read all it knows is an error naming the first unknown word.
struct Arguments {
    private var words: [String]

    init(_ words: [String]) {
        // Accept --name=value as well as --name value.
        self.words = words.flatMap { word -> [String] in
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                return [String(word[..<equals]), String(word[word.index(after: equals)...])]
            }
            return [word]
        }
    }

    var wantsHelp: Bool { words.contains("--help") || words.contains("-h") }

    /// Removes `--name` and returns whether it was there.
    mutating func flag(_ name: String) -> Bool {
        guard let index = words.firstIndex(of: name) else { return false }
        words.remove(at: index)
        return true
    }

    /// Removes `--name VALUE` and returns VALUE, or nil when absent.
    mutating func string(_ name: String) throws -> String? {
        guard let index = words.firstIndex(of: name) else { return nil }
        guard index + 1 < words.count else { throw UsageError("\(name) needs a value") }
        let value = words[index + 1]
        words.removeSubrange(index...(index + 1))
        if words.contains(name) { throw UsageError("\(name) given more than once") }
        return value
    }

    mutating func integer(_ name: String) throws -> Int? {
        guard let text = try string(name) else { return nil }
        guard let value = Int(text) else { throw UsageError("\(name) must be a whole number, got '\(text)'") }
        return value
    }

    mutating func number(_ name: String) throws -> Double? {
        guard let text = try string(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw UsageError("\(name) must be a number, got '\(text)'") }
        return value
    }

    /// A comma-separated list of whole numbers; `none` (or empty) is the empty list.
    mutating func integerList(_ name: String) throws -> [Int]? {
        guard let text = try string(name) else { return nil }
        if text == "none" || text.isEmpty { return [] }
        return try text.split(separator: ",").map { part in
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw UsageError("\(name) must be whole numbers separated by commas (or 'none'), got '\(text)'")
            }
            return value
        }
    }

    /// Removes and returns the first word that is not an option (call after the options are read).
    mutating func positional(_ what: String) throws -> String {
        guard let index = words.firstIndex(where: { !$0.hasPrefix("-") }) else { throw UsageError("needs \(what)") }
        return words.remove(at: index)
    }

    /// The first option word left, other than those in `allowed`.
    func firstRemainingOption(except allowed: Set<String>) -> String? {
        words.first { $0.hasPrefix("-") && !allowed.contains($0) }
    }

    /// Fails on the first word no option consumed.
    func finish() throws {
        if let first = words.first {
            throw UsageError(first.hasPrefix("-") ? "unknown option '\(first)'" : "unexpected argument '\(first)'")
        }
    }
}

/// A command-line mistake; printed as one line, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import Foundation
