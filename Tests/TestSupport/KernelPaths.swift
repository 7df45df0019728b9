import Quantized

/// Runs `body` once on every kernel path this CPU has (the portable one first),
/// with that path selected, then restores the path that was active before.
/// Paths the CPU lacks cannot run here; on an AVX-512 machine this covers all three.
public func forEveryKernelPath(_ body: (KernelPath) throws -> Void) rethrows {
    let previous = KernelPath.active
    defer { try? KernelPath.select(previous) }
    for path in KernelPath.supported {
        try! KernelPath.select(path)
        try body(path)
    }
}
