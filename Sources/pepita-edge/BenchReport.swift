import Foundation

/// What `bench` measured, with the machine and kernel path it ran on.
struct BenchReport: Codable {
    struct Peak: Codable {
        var kind: String
        var instruction: String
        var threads: Int
        var gigaMultiplyAddsPerSecond: Double
    }

    struct Kernel: Codable {
        var precision: String
        var layout: String
        var m: Int, n: Int, k: Int
        var threads: Int
        /// The instruction doing the multiply-adds (`fma` for float32).
        var method: String
        var medianMilliseconds: Double
        var gigaMultiplyAddsPerSecond: Double
        /// Against the peak loop of the same precision and thread count.
        var percentOfPeak: Double?
    }

    struct Epoch: Codable {
        var model: String
        var rule: String
        var precision: String
        var batch: Int
        var trainSamples: Int
        var threads: Int
        var medianSeconds: Double
        var seconds: [Double]
        var finalTrainAccuracy: Double
    }

    var schemaVersion = 1
    var version: String
    var kernelPath: String
    var cpu: String
    var avx512VNNI: Bool
    var peaks: [Peak] = []
    var kernels: [Kernel] = []
    var epochs: [Epoch] = []

    init(version: String, kernelPath: String, cpu: String, avx512VNNI: Bool) {
        self.version = version
        self.kernelPath = kernelPath
        self.cpu = cpu
        self.avx512VNNI = avx512VNNI
    }

    /// The CPU's model name from /proc/cpuinfo ("unknown" elsewhere).
    static var cpuName: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    func rendered(_ format: OutputFormat) -> String {
        func number(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        let peakTable = TextTable(
            header: ["peak loop", "instruction", "threads", "GMAC/s", "GFLOP/s"],
            rows: peaks.map { [$0.kind, $0.instruction, String($0.threads), number($0.gigaMultiplyAddsPerSecond),
                               number(2 * $0.gigaMultiplyAddsPerSecond)] })
        let kernelTable = TextTable(
            header: ["precision", "layout", "m x n x k", "threads", "method", "median ms", "GMAC/s", "GFLOP/s", "% of peak"],
            rows: kernels.map { [$0.precision, $0.layout, "\($0.m)x\($0.n)x\($0.k)", String($0.threads), $0.method,
                                 number($0.medianMilliseconds, 3), number($0.gigaMultiplyAddsPerSecond),
                                 number(2 * $0.gigaMultiplyAddsPerSecond), $0.percentOfPeak.map { number($0) } ?? "-"] })
        let epochTable = TextTable(
            header: ["model", "rule", "precision", "batch", "train samples", "threads", "median s/epoch", "runs"],
            rows: epochs.map { [$0.model, $0.rule, $0.precision, String($0.batch), String($0.trainSamples),
                                String($0.threads), number($0.medianSeconds, 3), String($0.seconds.count)] })
        let tables = [peakTable, kernelTable, epochTable].filter { !$0.rows.isEmpty }
        switch format {
        case .csv: return tables.map(\.csv).joined(separator: "\n")
        case .md: return tables.map(\.markdown).joined(separator: "\n")
        default:
            return "pepita-edge \(version), kernel path \(kernelPath), CPU \(cpu)\n\n"
                + tables.map(\.aligned).joined(separator: "\n")
        }
    }
}
