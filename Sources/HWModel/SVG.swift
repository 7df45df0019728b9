import Foundation

/// What the SVG charts (`BarChart`, `LineChart`) share: escaping, number
/// text, axis ticks, colours and the rectangle and point types of a layout.
/// Plain strings in, plain strings out: a chart is a pure function of its data,
/// so a report is the same bytes on every machine (golden files) and needs no
/// script or external resource to display.
public enum SVG {
    /// Okabe and Ito's colour-blind-safe palette, then four more distinct colours; series cycle through it.
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                                 "#000000", "#999999", "#882255", "#44AA99", "#332288"]

    public static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// `&`, `<`, `>`, `"` and `'` as entities, for text and attribute values.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A coordinate with one decimal (`12.5`, `40`): stable text for golden files.
    public static func coordinate(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }

    /// A value to 4 significant digits without exponent below 10^9 (`0.25`, `1250`, `3.142`).
    public static func number(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1e9 || abs(value) < 1e-4 { return String(format: "%.3e", value) }
        let digits = max(0, 3 - Int(floor(log10(abs(value)))))
        var text = String(format: "%.\(digits)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Axis ticks from 0 to the first multiple of a 1-2-5 step at or above
    /// `maximum`, about `count` intervals (0 and 1 when `maximum` is not positive).
    public static func ticks(upTo maximum: Double, count: Int = 5) -> [Double] {
        guard maximum > 0, maximum.isFinite else { return [0, 1] }
        let rough = maximum / Double(max(1, count))
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough * (1 - 1e-12) }!
        let intervals = Int((maximum / step * (1 - 1e-12)).rounded(.up))
        return (0...max(1, intervals)).map { Double($0) * step }
    }
}

/// An axis-aligned rectangle in SVG user units (y grows downwards).
public struct SVGRect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }

    func svg(fill: String, title: String) -> String {
        "<rect x=\"\(SVG.coordinate(x))\" y=\"\(SVG.coordinate(y))\" width=\"\(SVG.coordinate(width))\" "
            + "height=\"\(SVG.coordinate(height))\" fill=\"\(fill)\"><title>\(SVG.escape(title))</title></rect>"
    }
}

public struct SVGPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A text label placed in a layout.
public struct SVGLabel: Equatable, Sendable {
    public var text: String
    public var x: Double
    public var y: Double
    /// `start`, `middle` or `end`.
    public var anchor: String

    func svg(size: Int = 11, weight: String? = nil) -> String {
        "<text x=\"\(SVG.coordinate(x))\" y=\"\(SVG.coordinate(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\""
            + (weight.map { " font-weight=\"\($0)\"" } ?? "") + ">\(SVG.escape(text))</text>"
    }
}

/// A colour swatch and its series name, laid out in rows under the plot.
public struct LegendEntry: Equatable, Sendable {
    public var series: String
    public var colour: String
    public var swatch: SVGRect
    public var label: SVGLabel

    /// Entries left to right, wrapping at `width`, starting at `top`; returns them and the bottom edge.
    static func layout(_ series: [String], left: Double, top: Double, width: Double) -> (entries: [LegendEntry], bottom: Double) {
        var entries: [LegendEntry] = []
        var x = left, y = top
        for (index, name) in series.enumerated() {
            let entryWidth = 18 + Double(name.count) * 6.5 + 16
            if x > left && x + entryWidth > left + width {
                x = left
                y += 18
            }
            entries.append(LegendEntry(series: name, colour: SVG.colour(index),
                                       swatch: SVGRect(x: x, y: y, width: 12, height: 12),
                                       label: SVGLabel(text: name, x: x + 17, y: y + 10, anchor: "start")))
            x += entryWidth
        }
        return (entries, series.isEmpty ? top : y + 18)
    }

    func svg() -> String { swatch.svg(fill: colour, title: series) + label.svg() }
}
