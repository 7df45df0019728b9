import Dispatch
import Foundation
import PepitaEngine
import Quantized

/// Wall-clock timing for `bench`: medians over repetitions, so a noisy shared
/// machine moves the figures less than a mean would.
enum Stopwatch {
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Median seconds per call of `body` over `samples` timings, each repeating
    /// `body` enough times to last about `minimumSeconds`.
    static func medianSecondsPerCall(samples: Int = 7, minimumSeconds: Double = 0.05, _ body: () -> Void) -> Double {
        let once = seconds(body)
        let calls = max(1, Int(minimumSeconds / max(once, 1e-7)))
        return median((0..<samples).map { _ in seconds { for _ in 0..<calls { body() } } / Double(calls) })
    }
}

enum KernelBenchmark {
    static let shape = (batch: 64, inputs: 784, outputs: 1024)

    /// Peak multiply-adds per second of `threads` cores, each running the peak
    /// loop: the best of 9 timings (a peak is the best rate the machine reaches;
    /// on a shared machine a median would mix in other work).
    static func peaks(path: KernelPath, threads: [Int]) -> [BenchReport.Peak] {
        KernelPeak.allCases.flatMap { kind in
            threads.map { count in
                let iterations = 4_000_000
                let seconds = ((0..<9).map { _ in
                    Stopwatch.seconds {
                        DispatchQueue.concurrentPerform(iterations: count) { _ in kind.run(on: path, iterations: iterations) }
                    }
                }).min()!
                let multiplyAdds = Double(count * iterations * kind.multiplyAddsPerIteration(on: path))
                return BenchReport.Peak(kind: kind.rawValue, instruction: kind.instruction(on: path), threads: count,
                                        gigaMultiplyAddsPerSecond: multiplyAdds / seconds * 1e-9)
            }
        }
    }

    /// One product of the training shape: (m, n, k), whether A and B are read
    /// transposed, and its name.
    struct Layout {
        let name: String, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool
    }

    static let layouts = [
        Layout(name: "X W^T (forward)", m: shape.batch, n: shape.outputs, k: shape.inputs, transposeA: false, transposeB: true),
        Layout(name: "dY^T X (update)", m: shape.outputs, n: shape.inputs, k: shape.batch, transposeA: true, transposeB: false),
        Layout(name: "dY W (backward)", m: shape.batch, n: shape.inputs, k: shape.outputs, transposeA: false, transposeB: false),
    ]

    static func kernels(path: KernelPath, threads: [Int], peaks: [BenchReport.Peak]) -> [BenchReport.Kernel] {
        var results: [BenchReport.Kernel] = []
        var random = RandomStream(seed: 5, stream: 0)
        for precision in KernelPeak.allCases {
            for layout in layouts {
                // A is stored m x k (k x m when read transposed), B k x n (n x k).
                let aCount = layout.m * layout.k, bCount = layout.k * layout.n
                for count in threads {
                    let seconds: Double
                    var method = "fma"
                    switch precision {
                    case .float32:
                        let a = (0..<aCount).map { _ in 2 * random.nextUnitFloat() - 1 }
                        let b = (0..<bCount).map { _ in 2 * random.nextUnitFloat() - 1 }
                        seconds = medianSeconds(layout, a, b, output: Float.self) { aView, bView, c in
                            FloatGEMM.multiply(aView, bView, into: c, ldc: layout.n, threads: count)
                        }
                    case .int8, .int16:
                        let range: ClosedRange<Int16> = precision == .int8 ? -128...127 : -32768...32767
                        let a = (0..<aCount).map { _ in Int16(truncatingIfNeeded: Int(range.lowerBound) + Int(random.next() % UInt64(range.count))) }
                        let b = (0..<bCount).map { _ in Int16(truncatingIfNeeded: Int(range.lowerBound) + Int(random.next() % UInt64(range.count))) }
                        let codes = Int32(range.lowerBound)...Int32(range.upperBound)
                        method = IntegerGEMM.method(k: layout.k, aCodes: codes, bCodes: codes, path: path)
                        seconds = medianSeconds(layout, a, b, output: Int64.self) { aView, bView, c in
                            IntegerGEMM.multiply(aView, bView, into: c, ldc: layout.n, threads: count)
                        }
                    }
                    let gmacs = Double(layout.m * layout.n * layout.k) / seconds * 1e-9
                    let peak = peaks.first { $0.kind == precision.rawValue && $0.threads == count }
                    results.append(BenchReport.Kernel(
                        precision: precision.rawValue, layout: layout.name, m: layout.m, n: layout.n, k: layout.k,
                        threads: count, method: method, medianMilliseconds: seconds * 1e3,
                        gigaMultiplyAddsPerSecond: gmacs,
                        percentOfPeak: peak.map { 100 * gmacs / $0.gigaMultiplyAddsPerSecond }))
                }
            }
        }
        return results
    }

    /// Median seconds of one `multiply(A, B, C)` with `a` and `b` read as `layout` says, into a zeroed `m x n` output.
    private static func medianSeconds<Element, Output: Numeric>(
        _ layout: Layout, _ a: [Element], _ b: [Element], output: Output.Type,
        multiply: (StridedView<Element>, StridedView<Element>, UnsafeMutablePointer<Output>) -> Void
    ) -> Double {
        var c = [Output](repeating: 0, count: layout.m * layout.n)
        return a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    let (aView, bView) = views(layout, aBuffer.baseAddress!, bBuffer.baseAddress!)
                    return Stopwatch.medianSecondsPerCall { multiply(aView, bView, cBuffer.baseAddress!) }
                }
            }
        }
    }

    private static func views<Element>(_ layout: Layout, _ a: UnsafePointer<Element>, _ b: UnsafePointer<Element>)
        -> (StridedView<Element>, StridedView<Element>) {
        let aView = layout.transposeA ? StridedView.transposeOf(a, storedRows: layout.k, storedColumns: layout.m)
            : StridedView.rowMajor(a, rows: layout.m, columns: layout.k)
        let bView = layout.transposeB ? StridedView.transposeOf(b, storedRows: layout.n, storedColumns: layout.k)
            : StridedView.rowMajor(b, rows: layout.k, columns: layout.n)
        return (aView, bView)
    }
}

enum EpochBenchmark {
    /// One configuration `bench` times epochs of.
    struct Configuration {
        var model: (name: String, batch: Int)
        var rule: RuleKind
        var precision: String
        var threads: Int
    }

    /// Median training seconds (evaluation excluded) of `repetitions` epochs
    /// of each configuration, timed round-robin: one epoch of every
    /// configuration, then the next round, so that a slow spell of a shared
    /// machine falls on every configuration alike rather than on whichever
    /// ran then (each configuration keeps training its own network).
    static func run(_ configurations: [Configuration], dataset: Dataset, repetitions: Int) throws -> [BenchReport.Epoch] {
        let trainers = try configurations.map { configuration in
            let architecture = try Architecture.named(configuration.model.name, input: dataset.shape,
                                                      classCount: dataset.classCount)
            let config = TrainingConfig(
                model: architecture.name, rule: configuration.rule, dataset: dataset.name, epochs: repetitions,
                batchSize: configuration.model.batch, learningRate: 0.01, decayEpochs: [60, 90],
                lastLayerError: architecture.defaultLastLayerError, threads: configuration.threads,
                precision: PrecisionConfig.preset(named: configuration.precision)!)
            return try Trainer(config: config, dataset: dataset)
        }
        var seconds = [[Double]](repeating: [], count: configurations.count)
        for round in 1...repetitions {
            for index in configurations.indices { seconds[index].append(trainers[index].trainEpoch().trainSeconds) }
            standardError("bench: round \(round) of \(repetitions) timed (\(configurations.count) configurations)")
        }
        return configurations.indices.map { index in
            let configuration = configurations[index], trainer = trainers[index]
            let median = Stopwatch.median(seconds[index])
            standardError(String(format: "bench: %@ %@ %@, %d threads: %.3f s per epoch (median of %d)",
                                 trainer.config.model, configuration.rule.rawValue, configuration.precision,
                                 configuration.threads, median, repetitions))
            return BenchReport.Epoch(model: trainer.config.model, rule: configuration.rule.rawValue,
                                     precision: configuration.precision, batch: configuration.model.batch,
                                     trainSamples: dataset.train.count, threads: configuration.threads,
                                     medianSeconds: median, seconds: seconds[index],
                                     finalTrainAccuracy: trainer.history.last?.trainAccuracy ?? 0)
        }
    }
}
