import Foundation
import Quantized

/// Decoding the toolkit's own JSON files (`config.json`, `checkpoint/state.json`,
/// fixed-point sidecars) so that damage is named, not guessed around.
///
/// `JSONDecoder` alone ignores unknown keys and reports missing ones as a long
/// multi-line dump; here the file is also read as a plain tree, every key it holds
/// must be one the type writes back (a misspelt or foreign key is an error), and a
/// decoding failure becomes one line: `FILE: field a.b[2].c: problem`.
public enum StrictJSON {
    /// The largest file read: these files are a few kilobytes (a long run's
    /// metrics history stays far below), so anything bigger is not one of them.
    public static let maxBytes = 64 << 20

    /// Reads and decodes `file`.
    public static func read<Value: Codable>(_ type: Value.Type, from file: String) throws -> Value {
        try decode(type, from: readFile(file, maxBytes: maxBytes), file: file)
    }

    /// The bytes of `file`, refusing a missing file, a directory or one over `maxBytes`
    /// before reading it.
    public static func readFile(_ file: String, maxBytes: Int) throws -> Data {
        var status = stat()
        guard stat(file, &status) == 0 else {
            throw FileError(path: file, reason: "cannot read: \(AtomicFile.systemReason())")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: file, reason: "not a regular file") }
        guard Int(status.st_size) <= maxBytes else {
            throw FileError(path: file, reason: "\(status.st_size) bytes is larger than the \(maxBytes)-byte limit for this kind of file")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FileError(path: file, reason: "cannot read")
        }
        return data
    }

    /// Decodes `data` as `Value`; `file` names it in errors.
    public static func decode<Value: Codable>(_ type: Value.Type, from data: Data, file: String) throws -> Value {
        guard let tree = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw FileError(path: file, reason: "not valid JSON")
        }
        let value: Value
        do {
            value = try ReportJSON.decoder.decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw FileError(path: file, reason: describe(error))
        }
        let written = try JSONDecoder().decode(JSONValue.self, from: Data(ReportJSON.text(value).utf8))
        if let unknown = unknownKey(in: tree, comparedWith: written, path: "") {
            throw FileError(path: file, reason: "field \(unknown): unknown key")
        }
        return value
    }

    /// The first key path present (and not null) in `found` but absent from `expected`.
    static func unknownKey(in found: JSONValue, comparedWith expected: JSONValue, path: String) -> String? {
        switch (found, expected) {
        case let (.object(foundFields), .object(expectedFields)):
            for key in foundFields.keys.sorted() {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                guard let expectedChild = expectedFields[key] else {
                    if foundFields[key] == .null { continue }
                    return childPath
                }
                if let unknown = unknownKey(in: foundFields[key]!, comparedWith: expectedChild, path: childPath) { return unknown }
            }
        case let (.array(foundItems), .array(expectedItems)):
            for (index, (item, expectedItem)) in zip(foundItems, expectedItems).enumerated() {
                if let unknown = unknownKey(in: item, comparedWith: expectedItem, path: "\(path)[\(index)]") { return unknown }
            }
        default:
            break
        }
        return nil
    }

    /// One line naming the field path and what is wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey], _ last: CodingKey? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            if keys.isEmpty { return "(top level)" }
            return keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case let .keyNotFound(key, context):
            return "field \(path(context.codingPath, key)): missing"
        case let .typeMismatch(type, context):
            return "field \(path(context.codingPath)): expected \(type)"
        case let .valueNotFound(type, context):
            return "field \(path(context.codingPath)): expected \(type), found null"
        case let .dataCorrupted(context):
            return "field \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "cannot be decoded"
        }
    }
}
