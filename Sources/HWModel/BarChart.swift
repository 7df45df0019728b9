import Foundation

/// A grouped, stacked bar chart as SVG: groups along the x axis (phases,
/// precisions, layers), bars within a group (rules), each bar a stack of
/// series (energy components, storage categories). `layout()` computes every
/// rectangle and label (the geometry the tests check); `svg()` only writes them.
public struct BarChart: Equatable, Sendable {
    public struct Bar: Equatable, Sendable {
        public var label: String
        /// One value per series, in `series` order; zero or negative values draw nothing.
        public var values: [Double]

        public init(label: String, values: [Double]) {
            self.label = label
            self.values = values
        }

        public var total: Double { values.reduce(0) { $0 + max(0, $1) } }
    }

    public struct Group: Equatable, Sendable {
        public var label: String
        public var bars: [Bar]

        public init(label: String, bars: [Bar]) {
            self.label = label
            self.bars = bars
        }
    }

    public var title: String
    /// The value axis' label with its unit, e.g. `energy per sample (µJ)`.
    public var valueLabel: String
    public var series: [String]
    public var groups: [Group]
    public var width: Double
    public var plotHeight: Double

    public init(title: String, valueLabel: String, series: [String], groups: [Group], width: Double = 980, plotHeight: Double = 220) {
        self.title = title
        self.valueLabel = valueLabel
        self.series = series
        self.groups = groups
        self.width = width
        self.plotHeight = plotHeight
    }

    static let leftMargin = 78.0, rightMargin = 16.0, topMargin = 34.0
    /// Widest bar, and the share of a group's width its bars take.
    static let maxBarWidth = 36.0, groupFill = 0.8

    /// One drawn piece of a bar.
    public struct Segment: Equatable, Sendable {
        public var group: Int
        public var bar: Int
        public var series: Int
        public var value: Double
        public var rect: SVGRect
    }

    public struct Layout: Equatable, Sendable {
        public var width: Double
        public var height: Double
        public var plot: SVGRect
        /// Tick values and their y.
        public var ticks: [(value: Double, y: Double)]
        public var segments: [Segment]
        /// The x extent of every bar (also of empty ones), group by group.
        public var bars: [[SVGRect]]
        /// Under each bar, rotated -60 degrees about its anchor.
        public var barLabels: [SVGLabel]
        public var groupLabels: [SVGLabel]
        public var legend: [LegendEntry]

        public static func == (a: Layout, b: Layout) -> Bool {
            a.width == b.width && a.height == b.height && a.plot == b.plot && a.ticks.map(\.value) == b.ticks.map(\.value)
                && a.ticks.map(\.y) == b.ticks.map(\.y) && a.segments == b.segments && a.bars == b.bars
                && a.barLabels == b.barLabels && a.groupLabels == b.groupLabels && a.legend == b.legend
        }
    }

    /// The value at the top of the axis: the last tick at or above the tallest bar.
    public var axisTop: Double {
        SVG.ticks(upTo: groups.flatMap(\.bars).map(\.total).max() ?? 0).last!
    }

    public func layout() -> Layout {
        let plot = SVGRect(x: Self.leftMargin, y: Self.topMargin, width: width - Self.leftMargin - Self.rightMargin, height: plotHeight)
        let tickValues = SVG.ticks(upTo: groups.flatMap(\.bars).map(\.total).max() ?? 0)
        let top = tickValues.last!
        func y(_ value: Double) -> Double { plot.maxY - value / top * plot.height }

        let groupWidth = groups.isEmpty ? plot.width : plot.width / Double(groups.count)
        let mostBars = max(1, groups.map(\.bars.count).max() ?? 1)
        let slot = groupWidth * Self.groupFill / Double(mostBars)
        let barWidth = min(Self.maxBarWidth, slot * 0.85)
        let longestLabel = groups.flatMap(\.bars).map(\.label.count).max() ?? 0
        // A label rotated -60 degrees drops about sin(60) * its length (5 units a character) below the axis.
        let labelBand = 12 + Double(longestLabel) * 5 * 0.87

        var segments: [Segment] = [], bars: [[SVGRect]] = [], barLabels: [SVGLabel] = [], groupLabels: [SVGLabel] = []
        for (g, group) in groups.enumerated() {
            let groupX = plot.x + Double(g) * groupWidth
            let firstSlot = groupX + (groupWidth - Double(group.bars.count) * slot) / 2
            var groupBars: [SVGRect] = []
            for (b, bar) in group.bars.enumerated() {
                let x = firstSlot + Double(b) * slot + (slot - barWidth) / 2
                groupBars.append(SVGRect(x: x, y: plot.y, width: barWidth, height: plot.height))
                var base = 0.0
                for (s, value) in bar.values.enumerated() where value > 0 {
                    let rect = SVGRect(x: x, y: y(base + value), width: barWidth, height: y(base) - y(base + value))
                    segments.append(Segment(group: g, bar: b, series: s, value: value, rect: rect))
                    base += value
                }
                barLabels.append(SVGLabel(text: bar.label, x: x + barWidth / 2 + 3, y: plot.maxY + 8, anchor: "end"))
            }
            bars.append(groupBars)
            groupLabels.append(SVGLabel(text: group.label, x: groupX + groupWidth / 2, y: plot.maxY + labelBand + 14, anchor: "middle"))
        }
        let legend = LegendEntry.layout(series, left: plot.x, top: plot.maxY + labelBand + 26, width: plot.width)
        return Layout(width: width, height: legend.bottom + 8, plot: plot, ticks: tickValues.map { ($0, y($0)) },
                      segments: segments, bars: bars, barLabels: barLabels, groupLabels: groupLabels, legend: legend.entries)
    }

    public func svg() -> String {
        let layout = layout()
        let plot = layout.plot
        var lines = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(SVG.coordinate(layout.width))\" height=\"\(SVG.coordinate(layout.height))\" "
                     + "viewBox=\"0 0 \(SVG.coordinate(layout.width)) \(SVG.coordinate(layout.height))\" role=\"img\" aria-label=\"\(SVG.escape(title))\" "
                     + "font-family=\"sans-serif\">"]
        lines.append(SVGLabel(text: title, x: plot.x, y: 18, anchor: "start").svg(size: 13, weight: "bold"))
        for tick in layout.ticks {
            lines.append("<line x1=\"\(SVG.coordinate(plot.x))\" y1=\"\(SVG.coordinate(tick.y))\" x2=\"\(SVG.coordinate(plot.maxX))\" "
                         + "y2=\"\(SVG.coordinate(tick.y))\" stroke=\"#ddd\"/>")
            lines.append(SVGLabel(text: SVG.number(tick.value), x: plot.x - 6, y: tick.y + 4, anchor: "end").svg(size: 10))
        }
        let middle = plot.y + plot.height / 2
        lines.append("<text x=\"14\" y=\"\(SVG.coordinate(middle))\" text-anchor=\"middle\" font-size=\"11\" "
                     + "transform=\"rotate(-90 14 \(SVG.coordinate(middle)))\">\(SVG.escape(valueLabel))</text>")
        for segment in layout.segments {
            let bar = groups[segment.group].bars[segment.bar]
            let name = "\(series[segment.series]): "
            lines.append(segment.rect.svg(fill: SVG.colour(segment.series),
                                          title: "\(groups[segment.group].label), \(bar.label): \(name)\(SVG.number(segment.value)) "
                                              + "(total \(SVG.number(bar.total)))"))
        }
        lines.append("<line x1=\"\(SVG.coordinate(plot.x))\" y1=\"\(SVG.coordinate(plot.maxY))\" x2=\"\(SVG.coordinate(plot.maxX))\" "
                     + "y2=\"\(SVG.coordinate(plot.maxY))\" stroke=\"#333\"/>")
        for label in layout.barLabels {
            lines.append("<text x=\"\(SVG.coordinate(label.x))\" y=\"\(SVG.coordinate(label.y))\" text-anchor=\"end\" font-size=\"9\" "
                         + "transform=\"rotate(-60 \(SVG.coordinate(label.x)) \(SVG.coordinate(label.y)))\">\(SVG.escape(label.text))</text>")
        }
        for label in layout.groupLabels { lines.append(label.svg(size: 11, weight: "bold")) }
        for entry in layout.legend { lines.append(entry.svg()) }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }
}
