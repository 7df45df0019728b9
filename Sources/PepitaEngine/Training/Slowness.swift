/// Convergence "slowness" of a test-accuracy curve, as in the PEPITA paper.
///
/// As the reference notebook (`plot_compute_slowness.ipynb`) does it: the
/// chance level (1 / classes) is put in front of the curve, the first
/// `fitEpochs` points are kept (chance point included), and
/// `acc(t) = accMax * t / (a + t)` is fitted by least squares over `a`, with
/// `accMax = max(curve)` and `t = 0, 1, 2, ...` (the chance point sits at
/// `t = 0`, where the model is 0 whatever `a`, so it does not move the fit).
/// `a` is the slowness: the epoch at which the fit reaches half of `accMax`.
/// Smaller is faster. The reference uses scipy's local `curve_fit` from
/// `a = 0.5`; this scans `log a` over [-6, 8] and refines the best point, so it
/// finds the global least-squares minimum.
public enum Slowness {
    public static func fit(testAccuracies: [Double], chance: Double, fitEpochs: Int? = nil) -> Double? {
        var curve = [chance] + testAccuracies
        if let fitEpochs { curve = Array(curve.prefix(fitEpochs)) }
        guard curve.count >= 2, let best = curve.max(), best > 0 else { return nil }
        func squaredError(_ a: Double) -> Double {
            var total = 0.0
            for (index, accuracy) in curve.enumerated() {
                let t = Double(index)
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
