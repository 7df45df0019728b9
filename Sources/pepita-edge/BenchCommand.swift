import Dispatch
import Foundation
import PepitaEngine
import Quantized

enum BenchCommand {
    static let help = """
    USAGE: pepita-edge bench [options]

    How fast this machine trains: the peak multiply-add rate of one and two cores
    (tight loops of the instruction each kernel uses), the matrix-product kernels
    at the training shape 64x784x1024 in the three layouts training uses (X W^T,
    dY^T X, dY W) in float32, int8 and int16 with the % of peak each reaches, and
    full training epochs (PEPITA and BP; float32, int16, int8; fc 784-1024-10 with
    batch 64 and Net1conv1fcXL with batch 50, on Fashion-MNIST). Every figure is
    the median of the repetitions, except the peaks (the best of 9). Epochs are
    timed round-robin (one epoch of every configuration, then the next round),
    so that a slow spell of a shared machine falls on all of them alike. The
    kernel path (PEPITA_KERNELS, default the best this CPU has) is printed first.

    OPTIONS:
      --kernels-only         peaks and kernels, no training epochs
      --epochs-only          training epochs only
      --threads LIST         thread counts, e.g. 1,2 [kernels: 1 and all cores; epochs: all cores]
      --repetitions N        epochs timed per configuration [3]
      --models LIST          fc, conv [fc,conv]
      --rules LIST           pepita, bp [pepita,bp]
      --precisions LIST      float32, int16, int8 [float32,int16,int8]
      --train-samples N      cut the training set to its first N samples [all 60000]
      --data-dir DIR         Fashion-MNIST directory [/usr/share/datasets/fashion-mnist]
      --format F             table | json | csv | md [table]
      --out PATH             write the result to PATH instead of stdout
    """

    static let models = ["fc": ("fc:784-1024-10", 64), "conv": ("Net1conv1fcXL", 50)]

    static func run(_ input: Arguments) throws {
        var arguments = input
        if arguments.wantsHelp { print(help); return }
        let kernelsOnly = arguments.flag("--kernels-only"), epochsOnly = arguments.flag("--epochs-only")
        if kernelsOnly && epochsOnly { throw UsageError("--kernels-only and --epochs-only exclude each other") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadList = try arguments.string("--threads").map { try positiveList($0, option: "--threads") }
        let repetitions = try arguments.integer("--repetitions") ?? 3
        if repetitions < 1 { throw UsageError("--repetitions must be at least 1, got \(repetitions)") }
        let modelNames = try list(arguments.string("--models") ?? "fc,conv", option: "--models", known: ["fc", "conv"])
        let rules = try list(arguments.string("--rules") ?? "pepita,bp", option: "--rules", known: ["pepita", "bp"])
            .map { try TrainingOptions.parseRule($0) }
        let precisions = try list(arguments.string("--precisions") ?? "float32,int16,int8", option: "--precisions",
                                  known: ["float32", "int16", "int8"])
        let trainSamples = try arguments.integer("--train-samples")
        if let trainSamples, trainSamples < 1 { throw UsageError("--train-samples must be at least 1, got \(trainSamples)") }
        let dataDirectory = try arguments.string("--data-dir")
        let (format, outPath) = try OutputFormat.parse(&arguments)
        try arguments.finish()

        let path = KernelPath.active
        standardError("bench: kernel path \(path.rawValue) on \(BenchReport.cpuName)")
        var report = BenchReport(version: version, kernelPath: path.rawValue, cpu: BenchReport.cpuName,
                                 avx512VNNI: KernelPath.avx512.isSupported)
        if !epochsOnly {
            let threads = threadList ?? Array(Set([1, cores])).sorted()
            report.peaks = KernelBenchmark.peaks(path: path, threads: threads)
            report.kernels = KernelBenchmark.kernels(path: path, threads: threads, peaks: report.peaks)
        }
        if !kernelsOnly {
            var dataset = try DatasetCatalog.load(name: "fashion-mnist", dataDirectory: dataDirectory)
            if let trainSamples { dataset = dataset.keepingFirst(trainSamples) }
            var configurations: [EpochBenchmark.Configuration] = []
            for threads in threadList ?? [cores] {
                for model in modelNames {
                    for precision in precisions {
                        for rule in rules {
                            configurations.append(.init(model: models[model]!, rule: rule, precision: precision,
                                                        threads: threads))
                        }
                    }
                }
            }
            report.epochs = try EpochBenchmark.run(configurations, dataset: dataset, repetitions: repetitions)
        }
        let text = format == .json ? try jsonText(report) : report.rendered(format)
        try OutputFormat.emit(text, to: outPath)
    }

    private static func list(_ text: String, option: String, known: [String]) throws -> [String] {
        let items = text.split(separator: ",").map(String.init)
        if items.isEmpty { throw UsageError("\(option) needs at least one of: \(known.joined(separator: ", "))") }
        for item in items where !known.contains(item) {
            throw UsageError("\(option): unknown '\(item)' (known: \(known.joined(separator: ", ")))")
        }
        return items
    }

    private static func positiveList(_ text: String, option: String) throws -> [Int] {
        let items = text.split(separator: ",").map { Int($0) }
        guard !items.isEmpty, items.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw UsageError("\(option) must be a comma-separated list of positive whole numbers, got '\(text)'")
        }
        return items.map { $0! }
    }
}

extension Dataset {
    /// The same dataset with only the first `count` training samples.
    func keepingFirst(_ count: Int) -> Dataset {
        let kept = min(count, train.count), width = train.shape.featureCount
        let samples = LabelledSamples(shape: train.shape, classCount: train.classCount,
                                      pixels: Array(train.pixels[0 ..< kept * width]), labels: Array(train.labels[0 ..< kept]))
        return Dataset(name: name, source: source, train: samples, test: test, validation: validation)
    }
}
