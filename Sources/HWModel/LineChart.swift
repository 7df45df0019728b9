import Foundation

/// A line chart as SVG: one polyline with point markers per series (e.g. test
/// accuracy per epoch, per rule). `layout()` maps every point to the plot (the
/// geometry the tests check); `svg()` only writes it.
public struct LineChart: Equatable, Sendable {
    public struct Series: Equatable, Sendable {
        public var name: String
        /// Points in data units; drawn in the given order.
        public var points: [SVGPoint]

        public init(name: String, points: [SVGPoint]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// The y axis' range; nil: from 0 to the ticks above the largest y.
    public var yRange: ClosedRange<Double>?
    public var width: Double
    public var plotHeight: Double

    public init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil,
                width: Double = 980, plotHeight: Double = 260) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yRange = yRange
        self.width = width
        self.plotHeight = plotHeight
    }

    public struct Layout: Equatable, Sendable {
        public var width: Double
        public var height: Double
        public var plot: SVGRect
        /// Each series' points in SVG coordinates.
        public var lines: [[SVGPoint]]
        public var xTicks: [SVGLabel]
        public var yTicks: [SVGLabel]
        public var legend: [LegendEntry]
    }

    /// The data's x range (0...1 without points; widened by 1 around a single x).
    var xRange: ClosedRange<Double> {
        let xs = series.flatMap(\.points).map(\.x)
        guard let low = xs.min(), let high = xs.max() else { return 0...1 }
        return low < high ? low...high : (low - 1)...(high + 1)
    }

    public func layout() -> Layout {
        let plot = SVGRect(x: BarChart.leftMargin, y: BarChart.topMargin,
                           width: width - BarChart.leftMargin - BarChart.rightMargin, height: plotHeight)
        let yValues: [Double]
        if let yRange {
            let step = (yRange.upperBound - yRange.lowerBound) / 5
            yValues = (0...5).map { yRange.lowerBound + Double($0) * step }
        } else {
            yValues = SVG.ticks(upTo: series.flatMap(\.points).map(\.y).max() ?? 0)
        }
        let yLow = yValues.first!, yHigh = yValues.last!
        let x = xRange
        func map(_ point: SVGPoint) -> SVGPoint {
            SVGPoint(x: plot.x + (point.x - x.lowerBound) / (x.upperBound - x.lowerBound) * plot.width,
                     y: plot.maxY - (point.y - yLow) / (yHigh - yLow) * plot.height)
        }
        // Whole-number x ticks (epochs), at most about 10.
        let span = x.upperBound - x.lowerBound
        let xStep = max(1, SVG.ticks(upTo: span, count: 10).dropFirst().first ?? 1)
        var xTicks: [SVGLabel] = []
        var tick = (x.lowerBound / xStep).rounded(.up) * xStep
        while tick <= x.upperBound + 1e-9 {
            xTicks.append(SVGLabel(text: SVG.number(tick), x: map(SVGPoint(x: tick, y: yLow)).x, y: plot.maxY + 14, anchor: "middle"))
            tick += xStep
        }
        let yTicks = yValues.map { SVGLabel(text: SVG.number($0), x: plot.x - 6, y: map(SVGPoint(x: x.lowerBound, y: $0)).y, anchor: "end") }
        let legend = LegendEntry.layout(series.map(\.name), left: plot.x, top: plot.maxY + 40, width: plot.width)
        return Layout(width: width, height: legend.bottom + 8, plot: plot, lines: series.map { $0.points.map(map) },
                      xTicks: xTicks, yTicks: yTicks, legend: legend.entries)
    }

    public func svg() -> String {
        let layout = layout()
        let plot = layout.plot
        var lines = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(SVG.coordinate(layout.width))\" height=\"\(SVG.coordinate(layout.height))\" "
                     + "viewBox=\"0 0 \(SVG.coordinate(layout.width)) \(SVG.coordinate(layout.height))\" role=\"img\" aria-label=\"\(SVG.escape(title))\" "
                     + "font-family=\"sans-serif\">"]
        lines.append(SVGLabel(text: title, x: plot.x, y: 18, anchor: "start").svg(size: 13, weight: "bold"))
        for tick in layout.yTicks {
            lines.append("<line x1=\"\(SVG.coordinate(plot.x))\" y1=\"\(SVG.coordinate(tick.y))\" x2=\"\(SVG.coordinate(plot.maxX))\" "
                         + "y2=\"\(SVG.coordinate(tick.y))\" stroke=\"#ddd\"/>")
            lines.append(SVGLabel(text: tick.text, x: tick.x, y: tick.y + 4, anchor: "end").svg(size: 10))
        }
        for tick in layout.xTicks { lines.append(tick.svg(size: 10)) }
        let middle = plot.y + plot.height / 2
        lines.append("<text x=\"14\" y=\"\(SVG.coordinate(middle))\" text-anchor=\"middle\" font-size=\"11\" "
                     + "transform=\"rotate(-90 14 \(SVG.coordinate(middle)))\">\(SVG.escape(yLabel))</text>")
        lines.append(SVGLabel(text: xLabel, x: plot.x + plot.width / 2, y: plot.maxY + 30, anchor: "middle").svg())
        lines.append("<rect x=\"\(SVG.coordinate(plot.x))\" y=\"\(SVG.coordinate(plot.y))\" width=\"\(SVG.coordinate(plot.width))\" "
                     + "height=\"\(SVG.coordinate(plot.height))\" fill=\"none\" stroke=\"#333\"/>")
        for (index, points) in layout.lines.enumerated() {
            let colour = SVG.colour(index)
            let path = points.map { "\(SVG.coordinate($0.x)),\(SVG.coordinate($0.y))" }.joined(separator: " ")
            lines.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            for (point, value) in zip(points, series[index].points) {
                lines.append("<circle cx=\"\(SVG.coordinate(point.x))\" cy=\"\(SVG.coordinate(point.y))\" r=\"2.5\" fill=\"\(colour)\">"
                             + "<title>\(SVG.escape(series[index].name)): \(SVG.number(value.x)), \(SVG.number(value.y))</title></circle>")
            }
        }
        for entry in layout.legend { lines.append(entry.svg()) }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }
}
