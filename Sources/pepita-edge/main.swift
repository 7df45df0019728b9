import Foundation
import PepitaEngine
import CKernels
import Quantized

/// `pepita-edge <subcommand> [options]`. Each subcommand parses its options,
/// calls the libraries and formats the result; errors are one line on stderr.
let version = "0.1.0"

let usage = """
pepita-edge \(version) — what it costs to learn on the chip: PEPITA vs backprop.

USAGE: pepita-edge <subcommand> [options]

SUBCOMMANDS:
  train     train one model with one learning rule, writing a run directory
  eval      accuracy of a trained run (or a directory of weights) on a dataset
  compare   train PEPITA and BP on the same model and data, side by side
  golden    one fixed-point training step with every tensor written out (RTL test vectors)
  cost      what training costs on a chip: counts, storage, energy, latency per rule (no data read)
  profiles  list, show or validate the hardware profiles cost prices on
  network   export an engine model as a network description, or show one's layers
  bench     kernel throughput against this machine's peak, and training epoch times

Run `pepita-edge <subcommand> --help` for its options.
OPTIONS:
  --version   print the version and the kernel path (instruction set) in use

ENVIRONMENT:
  PEPITA_KERNELS  force a kernel path: scalar, avx2 or avx512 [the best this CPU has]
  --help      print this help
"""

func standardError(_ line: String) {
    // Best effort: a closed or full stderr must not turn a message into a crash.
    try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
}

// Training allocates the same few-megabyte buffers every step: keep freed
// memory in the heap rather than map and unmap it each time.
ck_keep_freed_memory()

var words = Array(CommandLine.arguments.dropFirst())
let subcommand = words.isEmpty ? "--help" : words.removeFirst()
do {
    // A forced kernel path must name one this CPU has: fail here, in one line,
    // rather than fall back silently.
    try KernelPath.select(KernelPath.fromEnvironment())
    switch subcommand {
    case "train": try TrainCommand.run(Arguments(words))
    case "eval": try EvalCommand.run(Arguments(words))
    case "compare": try CompareCommand.run(Arguments(words))
    case "golden": try GoldenCommand.run(Arguments(words))
    case "cost": try CostCommand.run(Arguments(words))
    case "profiles": try ProfilesCommand.run(words)
    case "network": try NetworkCommand.run(words)
    case "bench": try BenchCommand.run(Arguments(words))
    case "--version", "version": print("pepita-edge \(version) (kernels: \(KernelPath.active.rawValue))")
    case "--help", "-h", "help": print(usage)
    default: throw UsageError("unknown subcommand '\(subcommand)' (try: train, eval, compare, golden, cost, profiles, network, bench, --help)")
    }
} catch let error as KernelPathError {
    standardError("pepita-edge: \(error.description)")
    exit(2)
} catch let error as UsageError {
    standardError("pepita-edge: \(error.description)")
    exit(2)
} catch let error as Interrupted {
    standardError("pepita-edge: \(error.description)")
    exit(128 + error.signal)
} catch let error as Diverged {
    standardError("pepita-edge: \(error.description)")
    exit(3)
} catch {
    standardError("pepita-edge: \(String(describing: error))")
    exit(1)
}
