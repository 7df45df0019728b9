import Quantized
import TestSupport
import XCTest

/// `FloatElementwise.momentumStep` against the momentum formula written out in
/// Swift (which never fuses a multiply and an add): the same floats bit for bit
/// on every kernel path this CPU has and on 1, 2 and 3 threads, for lengths that
/// stay on one thread, end inside a 4,096-element block and are shared.
final class FloatElementwiseTests: XCTestCase {
    private func values(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(Int32(truncatingIfNeeded: state >> 32)) * 0x1p-31) * scale
        }
    }

    func testMomentumStepEqualsTheUnfusedFormula() {
        let momentum: Float = 0.9, scale: Float = 0.012_345_7
        for count in [0, 1, 7, 4096 * 17 + 3] {
            let weights = values(count, seed: 1, scale: 0.5)
            let velocity = values(count, seed: 2, scale: 0.01)
            let update = values(count, seed: 3, scale: 3)
            var expectedVelocity = velocity, expectedWeights = weights
            for i in 0..<count {
                let product = momentum * velocity[i]
                let scaled = scale * update[i]
                expectedVelocity[i] = product + scaled
                expectedWeights[i] = weights[i] - expectedVelocity[i]
            }
            forEveryKernelPath { path in
                for threads in [1, 2, 3] {
                    var w = weights, v = velocity
                    w.withUnsafeMutableBufferPointer { w in
                        v.withUnsafeMutableBufferPointer { v in
                            update.withUnsafeBufferPointer { u in
                                FloatElementwise.momentumStep(weights: w, velocity: v, update: u, momentum: momentum,
                                                              scale: scale, threads: threads)
                            }
                        }
                    }
                    let label = "\(count) weights, \(path), \(threads) threads"
                    XCTAssertEqual(v.map(\.bitPattern), expectedVelocity.map(\.bitPattern), label)
                    XCTAssertEqual(w.map(\.bitPattern), expectedWeights.map(\.bitPattern), label)
                }
            }
        }
    }
}
