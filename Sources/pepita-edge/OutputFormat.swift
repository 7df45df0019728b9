import Foundation
import PepitaEngine

/// How a command's result is printed: a human table, or machine-readable
/// JSON / CSV / Markdown, or (for `cost`) one self-contained HTML page.
/// Written to stdout, or atomically to `--out PATH`.
enum OutputFormat: String, CaseIterable {
    case table, json, csv, md, html

    /// The formats every command writes; `cost` adds `html`.
    static let textFormats: [OutputFormat] = [.table, .json, .csv, .md]

    static func parse(_ arguments: inout Arguments, allowing allowed: [OutputFormat] = textFormats) throws -> (OutputFormat, String?) {
        var format = OutputFormat.table
        if let text = try arguments.string("--format") {
            guard let value = OutputFormat(rawValue: text), allowed.contains(value) else {
                throw UsageError("--format must be one of \(allowed.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            format = value
        }
        return (format, try arguments.string("--out"))
    }

    static func emit(_ text: String, to path: String?) throws {
        if let path {
            try AtomicFile.write(text, to: path)
        } else {
            do {
                try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
            } catch {
                throw FileError(path: "standard output", reason: "write failed: \(error.localizedDescription)")
            }
        }
    }
}

/// Rows of text cells rendered as an aligned table, CSV or Markdown.
struct TextTable {
    var header: [String]
    var rows: [[String]]

    var aligned: String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
            .joined(separator: "\n") + "\n"
    }

    var csv: String {
        func escape(_ cell: String) -> String {
            cell.contains(where: { ",\"\n".contains($0) }) ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }
        return ([header] + rows).map { $0.map(escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        return ([line(header), line(header.map { _ in "---" })] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

func jsonText<Value: Encodable>(_ value: Value) throws -> String { try ReportJSON.text(value) }

func percent(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.2f", 100 * value) }
