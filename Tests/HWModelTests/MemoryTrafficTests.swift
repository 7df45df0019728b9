import HWModel
import Quantized
import XCTest

/// `CostModel.traffic` and `ElementSizes`: bytes per phase and kind of data, by hand.
final class MemoryTrafficTests: XCTestCase {
    private func traffic(_ network: NetworkShape, _ rule: TrainingRule, sizes: ElementSizes = .float32) throws -> StepTraffic {
        try CostModel.traffic(network: network, rule: rule, batch: 2, sizes: sizes)
    }

    func testElementSizesRoundBitsUpToWholeBytes() throws {
        XCTAssertEqual(try ElementSizes(precision: PrecisionConfig.preset(named: "float32")!), .float32)
        let int8 = try ElementSizes(precision: PrecisionConfig.preset(named: "int8")!)
        XCTAssertEqual([int8.weightBytes, int8.activationBytes, int8.errorBytes, int8.inputBytes, int8.projectionBytes,
                        int8.optimiserStateBytes, int8.accumulatorBytes], [1, 1, 1, 1, 1, 1, 4])
        var twelveBit = PrecisionConfig.preset(named: "int8")!
        twelveBit.roles[.weights] = .fixed(12, 10)
        XCTAssertEqual(try ElementSizes(precision: twelveBit).weightBytes, 2)
        twelveBit.roles[.errors] = nil
        XCTAssertThrowsError(try ElementSizes(precision: twelveBit)) { XCTAssertEqual("\($0)", "precision 'int8': roles.errors: missing") }
        XCTAssertEqual(int8.maskBytes(count: 9, bits: 1), 2)
        XCTAssertEqual(int8.maskBytes(count: 16, bits: 2), 4)
    }

    /// fc 4-3-2, B = 2, float32 (4 bytes), dropout on.
    func testPepitaTrafficOnTinyFCByHand() throws {
        let step = try traffic(TestNetworks.tinyFC, .pepita)
        // Forward: x 2*4*4 = 32 read; W0 12*4 + W1 6*4 = 72 read; h1 2*3*4 = 24 written, then read by layer 1;
        // the dropout mask, 6 bits -> 1 byte, written; e 2*2*4 = 16 written.
        XCTAssertEqual(step[.forward]?.kinds, [
            DataTraffic(kind: .weights, bytesRead: 72, bytesWritten: 0),
            DataTraffic(kind: .input, bytesRead: 32, bytesWritten: 0),
            DataTraffic(kind: .activations, bytesRead: 24, bytesWritten: 24),
            DataTraffic(kind: .errors, bytesRead: 0, bytesWritten: 16),
            DataTraffic(kind: .masks, bytesRead: 0, bytesWritten: 1),
        ])
        // e 16, F 4*2*4 = 32, x 32 read; x_mod 32 written.
        XCTAssertEqual(step[.errorProjection]?.kinds, [
            DataTraffic(kind: .projection, bytesRead: 32, bytesWritten: 0),
            DataTraffic(kind: .input, bytesRead: 32, bytesWritten: 32),
            DataTraffic(kind: .errors, bytesRead: 16, bytesWritten: 0),
        ])
        // The modulated pass reads the mask instead of writing it.
        XCTAssertEqual(step[.modulatedForward]?[.masks], DataTraffic(kind: .masks, bytesRead: 1, bytesWritten: 0))
        XCTAssertEqual(step[.modulatedForward]?[.weights].bytesRead, 72)
        // Update: layer 0 reads h1 and h1_mod (2 * 2*3*4 = 48) and x_mod (32); layer 1 reads e_mod (16) and h1_mod (24).
        XCTAssertEqual(step[.update]?.kinds, [
            DataTraffic(kind: .input, bytesRead: 32, bytesWritten: 0),
            DataTraffic(kind: .activations, bytesRead: 72, bytesWritten: 0),
            DataTraffic(kind: .errors, bytesRead: 16, bytesWritten: 0),
        ])
        // Optimiser: 18 weights and 18 velocities, read and written, 72 bytes each.
        XCTAssertEqual(step[.optimiser]?.kinds, [
            DataTraffic(kind: .weights, bytesRead: 72, bytesWritten: 72),
            DataTraffic(kind: .optimiserState, bytesRead: 72, bytesWritten: 72),
        ])
    }

    func testBackpropTrafficOnTinyFCByHand() throws {
        let step = try traffic(TestNetworks.tinyFC, .bp)
        // No mask is stored: BP reads the derivative from h1.
        XCTAssertEqual(step[.forward]?[.masks], DataTraffic(kind: .masks, bytesRead: 0, bytesWritten: 0))
        // delta1 = e (2*2*4 = 16) and W1 (24) read; h1 (24) read for the derivative; delta0 (2*3*4 = 24) written.
        XCTAssertEqual(step[.backwardDelta]?.kinds, [
            DataTraffic(kind: .weights, bytesRead: 24, bytesWritten: 0),
            DataTraffic(kind: .activations, bytesRead: 24, bytesWritten: 0),
            DataTraffic(kind: .errors, bytesRead: 16, bytesWritten: 24),
        ])
        // dW0 reads delta0 (24) and x (32); dW1 reads e (16) and h1 (24).
        XCTAssertEqual(step[.weightGradient]?.kinds, [
            DataTraffic(kind: .input, bytesRead: 32, bytesWritten: 0),
            DataTraffic(kind: .activations, bytesRead: 24, bytesWritten: 0),
            DataTraffic(kind: .errors, bytesRead: 40, bytesWritten: 0),
        ])
        // FA reads B1 (projection) where BP reads W1.
        XCTAssertEqual(try traffic(TestNetworks.tinyFC, .fa)[.backwardDelta]?[.projection].bytesRead, 24)
    }

    /// Tiny conv, int8 (1 byte per element).
    func testConvTrafficKeepsPrePoolActivationsOnlyForPepita() throws {
        let int8 = try ElementSizes(precision: PrecisionConfig.preset(named: "int8")!)
        let pepita = try traffic(TestNetworks.tinyConv, .pepita, sizes: int8)
        // Layer 0 writes pooled h1 (2*8) and, for the update, h1 before pooling (2*32); no mask (no dropout on conv).
        XCTAssertEqual(pepita[.forward]?[.activations], DataTraffic(kind: .activations, bytesRead: 16, bytesWritten: 16 + 64))
        XCTAssertEqual(pepita[.forward]?[.masks].bytesWritten, 0)
        let bp = try traffic(TestNetworks.tinyConv, .bp, sizes: int8)
        // BP writes pooled h1 and the 2-bit winners (2*8*2 bits = 4 bytes).
        XCTAssertEqual(bp[.forward]?[.activations], DataTraffic(kind: .activations, bytesRead: 16, bytesWritten: 16))
        XCTAssertEqual(bp[.forward]?[.masks], DataTraffic(kind: .masks, bytesRead: 0, bytesWritten: 4))
        // Delta to layer 0: e (6) and W1 (24) read, pooled h1 (16) and winners (4) read, delta0 before pooling (64) written.
        XCTAssertEqual(bp[.backwardDelta]?.kinds, [
            DataTraffic(kind: .weights, bytesRead: 24, bytesWritten: 0),
            DataTraffic(kind: .activations, bytesRead: 16, bytesWritten: 0),
            DataTraffic(kind: .errors, bytesRead: 6, bytesWritten: 64),
            DataTraffic(kind: .masks, bytesRead: 4, bytesWritten: 0),
        ])
    }
}
