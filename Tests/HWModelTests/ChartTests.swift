import HWModel
import XCTest

/// `BarChart`, `LineChart` and `SVG`: the geometry of what the HTML report draws.
final class ChartTests: XCTestCase {
    func testTicksAreOneTwoFiveStepsReachingTheMaximum() {
        XCTAssertEqual(SVG.ticks(upTo: 7), [0, 2, 4, 6, 8])
        XCTAssertEqual(SVG.ticks(upTo: 10), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(SVG.ticks(upTo: 0.93), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        XCTAssertEqual(SVG.ticks(upTo: 2300), [0, 500, 1000, 1500, 2000, 2500])
        XCTAssertEqual(SVG.ticks(upTo: 0), [0, 1])
        for maximum in [0.013, 1, 3.7, 99, 1234.5, 9.9e7] {
            let ticks = SVG.ticks(upTo: maximum)
            XCTAssertGreaterThanOrEqual(ticks.last!, maximum)
            XCTAssertLessThanOrEqual(ticks.count, 11, "\(maximum)")
        }
    }

    func testNumbersAndTextAreWrittenStably() {
        XCTAssertEqual(SVG.number(1250), "1250")
        XCTAssertEqual(SVG.number(0.25), "0.25")
        XCTAssertEqual(SVG.number(3.14159), "3.142")
        XCTAssertEqual(SVG.number(0.6000000000000001), "0.6")
        XCTAssertEqual(SVG.coordinate(12.34), "12.3")
        XCTAssertEqual(SVG.coordinate(40.0), "40")
        XCTAssertEqual(SVG.escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;")
    }

    /// Two groups (phases), two bars (rules) each, two series stacked: totals 6 and 8 put
    /// the axis top at 8, so a value v is v / 8 of the plot's height, stacked without gaps.
    func testBarsAreStackedToScaleInsideThePlot() {
        let chart = BarChart(title: "energy", valueLabel: "pJ", series: ["MACs", "memory"], groups: [
            BarChart.Group(label: "forward", bars: [BarChart.Bar(label: "pepita", values: [2, 4]),
                                                    BarChart.Bar(label: "bp", values: [3, 5])]),
            BarChart.Group(label: "update", bars: [BarChart.Bar(label: "pepita", values: [1, 0])]),
        ], width: 400, plotHeight: 200)
        XCTAssertEqual(chart.axisTop, 8)
        let layout = chart.layout()
        let plot = layout.plot
        XCTAssertEqual(plot, SVGRect(x: 78, y: 34, width: 400 - 78 - 16, height: 200))
        XCTAssertEqual(layout.ticks.map(\.value), [0, 2, 4, 6, 8])
        XCTAssertEqual(layout.ticks.first!.y, plot.maxY)
        XCTAssertEqual(layout.ticks.last!.y, plot.y)

        // The zero value draws nothing: 5 segments.
        XCTAssertEqual(layout.segments.map(\.value), [2, 4, 3, 5, 1])
        for segment in layout.segments {
            XCTAssertEqual(segment.rect.height, segment.value / 8 * 200, accuracy: 1e-9)
            XCTAssertGreaterThanOrEqual(segment.rect.x, plot.x)
            XCTAssertLessThanOrEqual(segment.rect.maxX, plot.maxX)
        }
        // Stacked: the first series sits on the axis, the second on top of it.
        XCTAssertEqual(layout.segments[0].rect.maxY, plot.maxY, accuracy: 1e-9)
        XCTAssertEqual(layout.segments[1].rect.maxY, layout.segments[0].rect.y, accuracy: 1e-9)
        // bp's bar reaches the top of the axis (3 + 5 = 8).
        XCTAssertEqual(layout.segments[3].rect.y, plot.y, accuracy: 1e-9)

        // Bars of a group do not overlap and stay inside their group's share of the width.
        let groupWidth = plot.width / 2
        for (g, bars) in layout.bars.enumerated() {
            for bar in bars {
                XCTAssertGreaterThanOrEqual(bar.x, plot.x + Double(g) * groupWidth)
                XCTAssertLessThanOrEqual(bar.maxX, plot.x + Double(g + 1) * groupWidth)
            }
            for (left, right) in zip(bars, bars.dropFirst()) { XCTAssertLessThan(left.maxX, right.x) }
        }
        // The lone bar of the second group is centred in it.
        let lone = layout.bars[1][0]
        XCTAssertEqual((lone.x + lone.maxX) / 2, plot.x + 1.5 * groupWidth, accuracy: 1e-9)
        XCTAssertEqual(layout.groupLabels.map(\.text), ["forward", "update"])
        XCTAssertEqual(layout.legend.map(\.series), ["MACs", "memory"])
        XCTAssertGreaterThan(layout.height, layout.legend.last!.swatch.maxY)

        let svg = chart.svg()
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertEqual(svg.components(separatedBy: "<rect ").count - 1, 5 + 2, "5 segments and 2 legend swatches")
        XCTAssertTrue(svg.contains("<title>forward, bp: memory: 5 (total 8)</title>"))
    }

    /// Accuracy 0.5, 0.7, 0.8 over epochs 1...3 on a 0...1 axis: x spans the plot, y is the fraction of its height.
    func testLinePointsMapToThePlot() {
        let chart = LineChart(title: "accuracy", xLabel: "epoch", yLabel: "test accuracy %", series: [
            LineChart.Series(name: "pepita", points: [SVGPoint(x: 1, y: 0.5), SVGPoint(x: 2, y: 0.7), SVGPoint(x: 3, y: 0.8)]),
            LineChart.Series(name: "bp", points: [SVGPoint(x: 1, y: 0.6), SVGPoint(x: 3, y: 1)]),
        ], yRange: 0...1, width: 400, plotHeight: 100)
        let layout = chart.layout()
        let plot = layout.plot
        XCTAssertEqual(layout.lines.count, 2)
        let pepita = layout.lines[0]
        XCTAssertEqual(pepita[0].x, plot.x, accuracy: 1e-9)
        XCTAssertEqual(pepita[1].x, plot.x + plot.width / 2, accuracy: 1e-9)
        XCTAssertEqual(pepita[2].x, plot.maxX, accuracy: 1e-9)
        XCTAssertEqual(pepita[0].y, plot.maxY - 50, accuracy: 1e-9)
        XCTAssertEqual(pepita[2].y, plot.maxY - 80, accuracy: 1e-9)
        XCTAssertEqual(layout.lines[1][1].y, plot.y, accuracy: 1e-9)
        XCTAssertEqual(layout.xTicks.map(\.text), ["1", "2", "3"])
        XCTAssertEqual(layout.yTicks.map(\.text), ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        XCTAssertEqual(layout.legend.map(\.series), ["pepita", "bp"])
        let svg = chart.svg()
        XCTAssertEqual(svg.components(separatedBy: "<polyline ").count - 1, 2)
        XCTAssertEqual(svg.components(separatedBy: "<circle ").count - 1, 5)
    }

    /// Without a range the y axis runs from 0 to the tick above the largest value; 100 epochs get ticks every 10.
    func testLineChartAxesFollowTheData() {
        let points = (1...100).map { SVGPoint(x: Double($0), y: Double($0) * 0.9) }
        let layout = LineChart(title: "t", xLabel: "epoch", yLabel: "y", series: [LineChart.Series(name: "a", points: points)]).layout()
        XCTAssertEqual(layout.yTicks.map(\.text), ["0", "20", "40", "60", "80", "100"])
        XCTAssertEqual(layout.xTicks.map(\.text), ["10", "20", "30", "40", "50", "60", "70", "80", "90", "100"])
        XCTAssertEqual(layout.lines[0].last!.y, layout.plot.maxY - 0.9 * layout.plot.height, accuracy: 1e-9)
    }
}
