/// Convergence "slowness" of a test-accuracy curve, as in the PEPITA paper.
///
/// The chance level (1 / classes) is put in front of the curve, the first
/// `fitEpochs` points are kept, and `acc(t) = accMax * t / (a + t)` is fitted
/// by least squares over `a`, with `accMax = max(curve)` and `t = 1, 2, ...`
/// (the chance point at `t = 1`, so it takes part in the fit). `a` is the
/// slowness: the epoch count at which the fit reaches half of `accMax`.
/// Smaller is faster.
public enum Slowness {
    public static func fit(testAccuracies: [Double], chance: Double, fitEpochs: Int? = nil) -> Double? {
        var curve = [chance] + testAccuracies
        if let fitEpochs { curve = Array(curve.prefix(fitEpochs)) }
        guard curve.count >= 2, let best = curve.max(), best > 0 else { return nil }
        func squaredError(_ a: Double) -> Double {
            var total = 0.0
            for (index, accuracy) in curve.enumerated() {
                let t = Double(index + 1)
                let residual = accuracy - best * t / (a + t)
                total += residual * residual
            }
            return total
        }
        // Coarse scan in log a, then golden-section refinement around the best point.
        let logLow = -6.0, logHigh = 8.0, steps = 280
        var bestLog = logLow
        var bestError = Double.infinity
        for step in 0...steps {
            let logA = logLow + (logHigh - logLow) * Double(step) / Double(steps)
            let error = squaredError(exp(logA))
            if error < bestError { bestError = error; bestLog = logA }
        }
        let spacing = (logHigh - logLow) / Double(steps)
        var low = bestLog - spacing, high = bestLog + spacing
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<100 {
            let left = high - ratio * (high - low), right = low + ratio * (high - low)
            if squaredError(exp(left)) < squaredError(exp(right)) { high = right } else { low = left }
        }
        return exp((low + high) / 2)
    }
}

import Foundation
