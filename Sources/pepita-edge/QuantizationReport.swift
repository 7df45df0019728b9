import Foundation
import PepitaEngine
import Quantized

/// The console summary of a fixed-point epoch's statistics, one line per
/// tensor role, on stderr (the same numbers are in metrics.json).
enum QuantizationReport {
    static func print(_ metrics: EpochMetrics, precision: PrecisionConfig) {
        guard let counters = metrics.quantization else { return }
        let table = TextTable(
            header: ["role (epoch \(metrics.epoch))", "format", "narrowed", "saturated %", "rounded to 0 %", "max |x|", "acc. overflows"],
            rows: counters.keys.sorted().map { role in
                let c = counters[role]!
                func share(_ part: Int) -> String { c.elements == 0 ? "-" : String(format: "%.3f", 100 * Double(part) / Double(c.elements)) }
                return [role.rawValue, precision[role].summary, String(c.elements), share(c.saturations),
                        share(c.roundedToZero), String(format: "%.4g", c.maxAbsValue), String(c.accumulatorOverflows)]
            })
        standardError(table.aligned.trimmingCharacters(in: .newlines))
    }

    /// One line on stderr when an epoch's integer sums left the accumulator's range:
    /// with `wrap` the run computed with wrapped (wrong) sums, with `saturate` with
    /// clamped ones; either way it is said, never silent (counts per role are in
    /// metrics.json).
    static func warnAboutOverflows(_ metrics: EpochMetrics, precision: PrecisionConfig) {
        guard let counters = metrics.quantization else { return }
        let overflowing = counters.keys.sorted().filter { counters[$0]!.accumulatorOverflows > 0 }
        guard !overflowing.isEmpty else { return }
        let total = overflowing.reduce(0) { $0 + counters[$1]!.accumulatorOverflows }
        let action = precision.accumulatorOverflow == .wrap ? "wrapped" : "saturated"
        let roles = overflowing.map { "\($0.rawValue) \(counters[$0]!.accumulatorOverflows)" }.joined(separator: ", ")
        standardError("warning: epoch \(metrics.epoch): \(total) sums overflowed the \(precision.accumulatorBits)-bit accumulator and were \(action) (\(roles))")
    }
}
