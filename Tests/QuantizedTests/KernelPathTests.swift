import Foundation
import Quantized
import TestSupport
import XCTest

/// The run-time choice of kernel path: `PEPITA_KERNELS` is validated, and at the
/// shapes training uses (`fc 784-1024-10` with batch 64, cut to 256 outputs to
/// keep the test short) every path the CPU has gives the portable path's exact
/// integer sums, in all three layouts (`X W^T`, `dY^T X`, `dY W`).
final class KernelPathTests: XCTestCase {
    override func tearDown() {
        unsetenv(KernelPath.environmentVariable)
        super.tearDown()
    }

    func testThePortablePathIsAlwaysSupportedAndBestIsSupported() {
        XCTAssertTrue(KernelPath.scalar.isSupported)
        XCTAssertTrue(KernelPath.best.isSupported)
        XCTAssertEqual(KernelPath.supported.first, .scalar)
        XCTAssertEqual(KernelPath.supported.last, KernelPath.best)
    }

    func testEnvironmentNamesAPathOrGivesOneLineError() throws {
        unsetenv(KernelPath.environmentVariable)
        XCTAssertEqual(try KernelPath.fromEnvironment(), KernelPath.best)
        setenv(KernelPath.environmentVariable, "scalar", 1)
        XCTAssertEqual(try KernelPath.fromEnvironment(), .scalar)
        setenv(KernelPath.environmentVariable, "avx3", 1)
        XCTAssertThrowsError(try KernelPath.fromEnvironment()) { error in
            XCTAssertEqual(error as? KernelPathError, .unknown("avx3"))
            XCTAssertEqual(String(describing: error),
                           "PEPITA_KERNELS='avx3' is not a kernel path (one of: scalar, avx2, avx512)")
        }
        for path in KernelPath.allCases where !path.isSupported {
            setenv(KernelPath.environmentVariable, path.rawValue, 1)
            XCTAssertThrowsError(try KernelPath.fromEnvironment(), path.rawValue)
            XCTAssertThrowsError(try KernelPath.select(path), path.rawValue)
        }
    }

    func testSelectChangesTheActivePath() throws {
        let previous = KernelPath.active
        defer { try? KernelPath.select(previous) }
        for path in KernelPath.supported {
            try KernelPath.select(path)
            XCTAssertEqual(KernelPath.active, path)
        }
    }

    /// `op(A) op(B)` on the active path, A stored `k x m` when transposed, B `n x k`.
    private func integerProduct(_ a: [Int16], _ b: [Int16], m: Int, n: Int, k: Int,
                                transposeA: Bool, transposeB: Bool, threads: Int) -> [Int64] {
        var c = [Int64](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                let aView = transposeA ? IntegerMatrixView.transposeOf(aBuffer.baseAddress!, storedRows: k, storedColumns: m)
                    : .rowMajor(aBuffer.baseAddress!, rows: m, columns: k)
                let bView = transposeB ? IntegerMatrixView.transposeOf(bBuffer.baseAddress!, storedRows: n, storedColumns: k)
                    : .rowMajor(bBuffer.baseAddress!, rows: k, columns: n)
                IntegerGEMM.multiply(aView, bView, into: &c, ldc: n, threads: threads)
            }
        }
        return c
    }

    func testEveryPathGivesThePortableSumsAtTrainingShapes() {
        let batch = 64, inputs = 784, outputs = 256
        // (m, n, k, transposeA, transposeB): X W^T, dY^T X, dY W.
        let layouts = [(batch, outputs, inputs, false, true), (outputs, inputs, batch, true, false),
                       (batch, inputs, outputs, false, false)]
        var values = TestValues(seed: 9)
        for (name, scale) in [("int8", 127.0), ("int16 mid-range", 3000.0), ("int16", 32767.0)] {
            for (m, n, k, transposeA, transposeB) in layouts {
                let a = values.floats(m * k, scale: scale).map { Int16($0.rounded()) }
                let b = values.floats(k * n, scale: scale).map { Int16($0.rounded()) }
                var portable: [Int64] = []
                forEveryKernelPath { path in
                    for threads in [1, 2] {
                        let sums = integerProduct(a, b, m: m, n: n, k: k, transposeA: transposeA,
                                                  transposeB: transposeB, threads: threads)
                        if portable.isEmpty { portable = sums; continue }
                        XCTAssertTrue(sums == portable, "\(name) \(m)x\(n)x\(k): \(path.rawValue), \(threads) threads")
                    }
                }
            }
        }
    }
}
