import CKernels

/// The instruction set the matrix-product kernels run on, chosen at run time
/// so that one build runs on every x86-64 CPU: the portable C path, AVX2 + FMA
/// (e.g. AMD Zen 3), or AVX-512 with VNNI (e.g. AMD Zen 5). A path is only ever
/// run after the CPU has been asked whether it has the instructions, so a binary
/// never dies with an illegal instruction.
///
/// Integer results are identical on every path (exact sums); float results
/// agree within rounding (the AVX paths fuse multiply and add, the portable one
/// need not) and on each path do not depend on the thread count.
public enum KernelPath: String, CaseIterable, Sendable {
    case scalar, avx2, avx512

    /// Set to `scalar`, `avx2` or `avx512` to force a path (tests, comparisons).
    public static let environmentVariable = "PEPITA_KERNELS"

    var code: Int32 {
        switch self {
        case .scalar: return Int32(CK_PATH_SCALAR)
        case .avx2: return Int32(CK_PATH_AVX2)
        case .avx512: return Int32(CK_PATH_AVX512)
        }
    }

    init?(code: Int32) {
        guard let path = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = path
    }

    /// Whether this CPU (and operating system) can run the path.
    public var isSupported: Bool { ck_path_supported(code) != 0 }

    /// The most capable path this CPU runs.
    public static var best: KernelPath { KernelPath(code: ck_best_path()) ?? .scalar }

    /// Every path this CPU runs, portable first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// The path the kernels use now: the one last selected, else the one
    /// `PEPITA_KERNELS` names when it is valid for this CPU, else `best`.
    public static var active: KernelPath {
        if let path = KernelPath(code: ck_selected_path()) { return path }
        let path = (try? fromEnvironment()) ?? best
        ck_select_path(path.code)
        return path
    }

    /// Makes every later product (on any thread) use `path`.
    public static func select(_ path: KernelPath) throws {
        guard path.isSupported else { throw KernelPathError.unsupported(path, best: best) }
        ck_select_path(path.code)
    }

    /// The path `PEPITA_KERNELS` asks for (`best` when unset or empty),
    /// checked against this CPU.
    public static func fromEnvironment() throws -> KernelPath {
        guard let raw = ck_environment_value(environmentVariable), raw.pointee != 0 else { return best }
        let text = String(cString: raw)
        guard let path = KernelPath(rawValue: text) else { throw KernelPathError.unknown(text) }
        guard path.isSupported else { throw KernelPathError.unsupported(path, best: best) }
        return path
    }
}

/// A kernel path that cannot be used, with a message naming the fix.
public enum KernelPathError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    case unsupported(KernelPath, best: KernelPath)

    public var description: String {
        let choices = KernelPath.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .unknown(let text):
            return "\(KernelPath.environmentVariable)='\(text)' is not a kernel path (one of: \(choices))"
        case .unsupported(let path, let best):
            return "\(KernelPath.environmentVariable)=\(path.rawValue): this CPU lacks the instructions (best path here: \(best.rawValue))"
        }
    }
}
