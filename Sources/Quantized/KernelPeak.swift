import CKernels

/// The tight loops that measure a core's peak multiply-add rate for the
/// instruction a kernel path's GEMM uses (12 independent chains, enough to hide
/// the latency): what a kernel's throughput is compared with. Timing is the
/// caller's (the `bench` command); this only runs the work.
public enum KernelPeak: String, CaseIterable, Codable, Sendable {
    case float32, int8, int16

    var code: Int32 {
        switch self {
        case .float32: return Int32(CK_PEAK_FP32)
        case .int8: return Int32(CK_PEAK_INT8)
        case .int16: return Int32(CK_PEAK_INT16)
        }
    }

    /// Multiply-adds one iteration of the loop performs on `path`.
    public func multiplyAddsPerIteration(on path: KernelPath) -> Int {
        Int(ck_peak_operations_per_iteration(path.code, code))
    }

    /// The instruction the loop repeats on `path`, e.g. `vpdpbusd zmm`.
    public func instruction(on path: KernelPath) -> String {
        String(cString: ck_peak_instruction(path.code, code))
    }

    /// Runs `iterations` iterations on `path` (the portable loop if the CPU lacks
    /// it); the result only keeps the work from being optimised away.
    @discardableResult
    public func run(on path: KernelPath, iterations: Int) -> Double {
        ck_peak_loop(path.code, code, iterations)
    }
}
