import Foundation
import PepitaEngine
import XCTest

/// `Slowness.fit`: chance level prepended at `t = 0`, epochs at `t = 1, 2, ...`
/// (as the reference notebook's `curve_fit` over `np.arange(0, n)`),
/// first `fitEpochs` points kept, least squares over `a` of
/// `acc(t) = accMax * t / (a + t)` with `accMax` pinned to the curve's maximum.
///
/// Because `accMax` is pinned to the largest point, and a curve following the
/// model never reaches its own asymptote, even a noise-free curve is not fitted
/// with zero residual: the fitted `a` is below the generating one (3.7 -> about
/// 2.9 over 100 points). So the exactness test compares against the least-squares
/// minimiser found independently here (bisection on the derivative of the
/// squared error), not against the generating `a`.
final class SlownessTests: XCTestCase {
    /// A chance point (at `t = 0`, where the model is 0 whatever `a`) followed by
    /// `accMax * t / (a + t)` at `t = 1 ..< count`.
    private func modelCurve(a: Double, accMax: Double, count: Int) -> (chance: Double, accuracies: [Double]) {
        (0.1, (1..<count).map { accMax * Double($0) / (a + Double($0)) })
    }

    /// The minimiser over `a > 0` of `sum (curve_t - best t / (a + t))^2`, `t = 0, 1, ...`,
    /// by bisection on its derivative `sum 2 (curve_t - best t / (a + t)) best t / (a + t)^2`,
    /// which runs from negative (a too small) to positive (a too large) for an increasing curve.
    private func independentLeastSquares(_ curve: [Double]) -> Double {
        let best = curve.max()!
        func slope(_ a: Double) -> Double {
            var total = 0.0
            for (index, accuracy) in curve.enumerated() {
                let t = Double(index)
                total += 2 * (accuracy - best * t / (a + t)) * best * t / ((a + t) * (a + t))
            }
            return total
        }
        var low = 1e-3, high = 1e3
        XCTAssertLessThan(slope(low), 0)
        XCTAssertGreaterThan(slope(high), 0)
        for _ in 0..<200 {
            let middle = (low * high).squareRoot()
            if slope(middle) < 0 { low = middle } else { high = middle }
        }
        return (low * high).squareRoot()
    }

    func testFitIsTheLeastSquaresMinimiserOfAModelCurve() throws {
        for count in [5, 20, 101] {
            let (chance, accuracies) = modelCurve(a: 3.7, accMax: 0.9, count: count)
            let fitted = try XCTUnwrap(Slowness.fit(testAccuracies: accuracies, chance: chance))
            let expected = independentLeastSquares([chance] + accuracies)
            XCTAssertEqual(fitted, expected, accuracy: 1e-3, "\(count) points")
        }
    }

    func testFittedSlownessApproachesTheGeneratingOneAsTheCurveLengthens() throws {
        // accMax pinned to the last point approaches the asymptote as the curve grows.
        var previous = 0.0
        for count in [10, 100, 1000] {
            let (chance, accuracies) = modelCurve(a: 3.7, accMax: 0.9, count: count)
            let fitted = try XCTUnwrap(Slowness.fit(testAccuracies: accuracies, chance: chance))
            XCTAssertGreaterThan(fitted, previous)
            XCTAssertLessThan(fitted, 3.7)
            previous = fitted
        }
        XCTAssertEqual(previous, 3.7, accuracy: 0.25, "1000 points")
    }

    func testSlowerCurveHasLargerSlowness() throws {
        let fast = modelCurve(a: 1.5, accMax: 0.9, count: 30)
        let slow = modelCurve(a: 8, accMax: 0.9, count: 30)
        let fastFit = try XCTUnwrap(Slowness.fit(testAccuracies: fast.accuracies, chance: fast.chance))
        let slowFit = try XCTUnwrap(Slowness.fit(testAccuracies: slow.accuracies, chance: slow.chance))
        XCTAssertLessThan(fastFit, slowFit)
    }

    func testCurveAtItsMaximumFromTheStartHasNearZeroSlowness() throws {
        let fitted = try XCTUnwrap(Slowness.fit(testAccuracies: [0.9, 0.9, 0.9, 0.9], chance: 0.9))
        XCTAssertLessThan(fitted, 0.01)
    }

    func testFitEpochsKeepsThatManyPointsCountingTheChancePoint() throws {
        let (chance, accuracies) = modelCurve(a: 3.7, accMax: 0.9, count: 30)
        let truncated = Slowness.fit(testAccuracies: accuracies, chance: chance, fitEpochs: 6)
        XCTAssertEqual(truncated, Slowness.fit(testAccuracies: Array(accuracies.prefix(5)), chance: chance))
        // Points past the cut do not matter, however wild.
        var wild = accuracies
        for index in 5..<wild.count { wild[index] = index.isMultiple(of: 2) ? 1 : 0 }
        XCTAssertEqual(Slowness.fit(testAccuracies: wild, chance: chance, fitEpochs: 6), truncated)
        // A cut beyond the curve's length keeps everything.
        XCTAssertEqual(Slowness.fit(testAccuracies: accuracies, chance: chance, fitEpochs: 1000),
                       Slowness.fit(testAccuracies: accuracies, chance: chance))
    }

    func testTooShortOrAllZeroCurveHasNoSlowness() {
        XCTAssertNil(Slowness.fit(testAccuracies: [], chance: 0.1), "chance point alone")
        XCTAssertNil(Slowness.fit(testAccuracies: [0.5, 0.7], chance: 0.1, fitEpochs: 1), "cut to the chance point")
        XCTAssertNil(Slowness.fit(testAccuracies: [0, 0, 0], chance: 0), "nothing to fit")
        XCTAssertNotNil(Slowness.fit(testAccuracies: [0.5], chance: 0.1), "two points are enough")
    }
}
