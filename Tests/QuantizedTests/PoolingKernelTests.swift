@testable import Quantized
import TestSupport
import XCTest

/// `PoolingKernel.maxPool` against the block-by-block loop it replaced, on
/// every kernel path this CPU has: rows of fewer than eight blocks, of eight,
/// and of more than eight but not a multiple (the overlapping last step), odd
/// heights and widths (dropped), ties everywhere (the first in row-major order
/// wins), NaN and signed zeros (strict `>` keeps the earlier value), and the
/// extreme Int16 codes.
final class PoolingKernelTests: XCTestCase {
    /// (planes, height, width)
    private static let shapes = [(3, 5, 17), (2, 24, 24), (1, 2, 40), (2, 3, 3), (1, 1, 9), (4, 6, 16), (1, 4, 33)]

    /// The loop `MaxPool.forward` ran before the kernel.
    private func reference<T: Comparable>(_ input: [T], planes: Int, height: Int, width: Int) -> (output: [T], winners: [Int32]) {
        var output: [T] = [], winners: [Int32] = []
        for p in 0..<planes {
            for oy in 0..<height / 2 {
                for ox in 0..<width / 2 {
                    let topLeft = (p * height + 2 * oy) * width + 2 * ox
                    var bestIndex = topLeft
                    for index in [topLeft + 1, topLeft + width, topLeft + width + 1] where input[index] > input[bestIndex] {
                        bestIndex = index
                    }
                    output.append(input[bestIndex])
                    winners.append(Int32(bestIndex))
                }
            }
        }
        return (output, winners)
    }

    private func pooled<T>(_ input: [T], planes: Int, height: Int, width: Int, zero: T,
                           _ kernel: (UnsafePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<Int32>) -> Void)
        -> (output: [T], winners: [Int32]) {
        let count = planes * (height / 2) * (width / 2)
        // One element more than the pooling writes: it must stay untouched.
        var output = [T](repeating: zero, count: count + 1), winners = [Int32](repeating: -1, count: count + 1)
        input.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                winners.withUnsafeMutableBufferPointer { winners in
                    kernel(input.baseAddress!, output.baseAddress!, winners.baseAddress!)
                }
            }
        }
        XCTAssertEqual(winners.removeLast(), -1, "winner written past the end")
        let spare = output.removeLast()
        XCTAssertTrue(withUnsafeBytes(of: spare) { spareBytes in withUnsafeBytes(of: zero) { spareBytes.elementsEqual($0) } },
                      "value written past the end")
        return (output, winners)
    }

    /// `PoolingKernel.maxPool` for one element type.
    private typealias Kernel<T> = (UnsafePointer<T>, Int, Int, Int, UnsafeMutablePointer<T>, UnsafeMutablePointer<Int32>) -> Void
    private let floatKernel: Kernel<Float> = {
        PoolingKernel.maxPool($0, planes: $1, height: $2, width: $3, output: $4, winners: $5)
    }
    private let int16Kernel: Kernel<Int16> = {
        PoolingKernel.maxPool($0, planes: $1, height: $2, width: $3, output: $4, winners: $5)
    }

    /// Inputs drawn from a few values (so that ties are common) on every shape
    /// and path: the kernel's winners, and its outputs compared by `bits`, are the loop's.
    private func assertMatchesTheBlockLoop<T: Comparable, B: Equatable>(palette: [T], seed: UInt64, zero: T,
                                                                        bits: (T) -> B, _ kernel: Kernel<T>) {
        forEveryKernelPath { path in
            var values = TestValues(seed: seed)
            for (planes, height, width) in Self.shapes {
                let input = (0..<planes * height * width).map { _ in palette[Int(values.nextUnit() * Double(palette.count))] }
                let expected = reference(input, planes: planes, height: height, width: width)
                let got = pooled(input, planes: planes, height: height, width: width, zero: zero) {
                    kernel($0, planes, height, width, $1, $2)
                }
                let label = "[\(path.rawValue)] \(planes) x \(height) x \(width)"
                XCTAssertEqual(got.winners, expected.winners, label)
                XCTAssertEqual(got.output.map(bits), expected.output.map(bits), label)
            }
        }
    }

    func testFloatPoolingMatchesTheBlockLoopWithTiesNaNAndSignedZeros() {
        // NaN and -0.0 compared by their bits.
        assertMatchesTheBlockLoop(palette: [-1, 0, -0.0, 1, 2, .nan, 2, -.infinity], seed: 17, zero: Float(7),
                                  bits: \.bitPattern, floatKernel)
    }

    func testInt16PoolingMatchesTheBlockLoopWithTiesAndExtremeCodes() {
        assertMatchesTheBlockLoop(palette: [-32768, -1, 0, 1, 32767, 32767, -32768, 5], seed: 19, zero: Int16(7),
                                  bits: { $0 }, int16Kernel)
    }

    func testInt16RowsTooWideForInt16OffsetsTakeTheBlockLoop() {
        // Offsets of the lower row (width, width + 1) do not fit Int16 lanes here.
        forEveryKernelPath { path in
            var values = TestValues(seed: 29)
            let (planes, height, width) = (1, 2, 32768)
            let input = (0..<planes * height * width).map { _ in Int16(values.nextUnit() * 65536 - 32768) }
            let got = pooled(input, planes: planes, height: height, width: width, zero: Int16(7)) {
                int16Kernel($0, planes, height, width, $1, $2)
            }
            let expected = reference(input, planes: planes, height: height, width: width)
            XCTAssertEqual(got.winners, expected.winners, "[\(path.rawValue)]")
            XCTAssertEqual(got.output, expected.output, "[\(path.rawValue)]")
        }
    }

    func testDistinctValuesPickTheLargestOfEachBlock() {
        // Random distinct values: every block has one winner, which is the maximum.
        forEveryKernelPath { path in
            var values = TestValues(seed: 23)
            let (planes, height, width) = (2, 24, 24)
            let input = values.floats(planes * height * width, scale: 1)
            let got = pooled(input, planes: planes, height: height, width: width, zero: Float(7)) {
                floatKernel($0, planes, height, width, $1, $2)
            }
            XCTAssertEqual(got.output, reference(input, planes: planes, height: height, width: width).output, "[\(path.rawValue)]")
            for (index, winner) in got.winners.enumerated() {
                guard input.indices.contains(Int(winner)) else { return XCTFail("[\(path.rawValue)] winner \(winner) at \(index)") }
                XCTAssertEqual(input[Int(winner)], got.output[index])
            }
        }
    }
}
