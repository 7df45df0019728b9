import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// Elementwise helpers of `FixedPointArithmetic` against `FixedPoint`'s scalar operations.
final class FixedPointArithmeticTests: XCTestCase {
    func testSaturatingSumClampsToTheFormatAndCountsEverySaturation() {
        // Pairs of Q1.6 codes whose sums cross either end, and sums inside; a
        // length that is not a multiple of any vector width. Also an unsigned
        // 4-bit format (codes 0...15). On every kernel path this CPU has.
        let formats = [FixedPointFormat(totalBits: 8, fractionalBits: 6), FixedPointFormat(totalBits: 4, fractionalBits: 2, signed: false)]
        forEveryKernelPath { path in
            for format in formats {
                let codes = (Int(format.minCode)...Int(format.maxCode)).map { Int16($0) }
                var left: [Int16] = [], right: [Int16] = []
                for a in codes {
                    for b in codes.reversed() where (a + b) % 3 != 0 || a == b {
                        left.append(a)
                        right.append(b)
                    }
                }
                left.append(Int16(format.maxCode))
                right.append(Int16(format.maxCode))
                let arithmetic = FixedPointArithmetic(config: PrecisionConfig.preset(named: "int8")!, seed: 1, threads: 1)
                let sum = arithmetic.saturatingSum(FixedMatrix(rows: 1, columns: left.count, codes: left, format: format),
                                                   FixedMatrix(rows: 1, columns: right.count, codes: right, format: format),
                                                   role: .modulatedInput)
                var saturations = 0
                for i in left.indices {
                    let expected = FixedPoint.saturate(Int64(left[i]) + Int64(right[i]), to: format)
                    XCTAssertEqual(Int32(sum.codes[i]), expected.code, "\(path) \(format) \(left[i]) + \(right[i])")
                    if expected.saturated { saturations += 1 }
                }
                XCTAssertGreaterThan(saturations, 0)
                XCTAssertNotEqual(left.count % 16, 0)
                XCTAssertEqual(sum.format, format)
                XCTAssertEqual(arithmetic.counters[.modulatedInput]?.saturations, saturations, "\(path) \(format)")
            }
        }
    }
}
