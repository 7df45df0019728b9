import Quantized

/// A stretch of one training step whose operations are counted apart. Raw
/// values are HWModel's `TrainingPhase` names (the engine does not import
/// HWModel; the CLI and the tests map one onto the other by name).
public enum StepPhase: String, Codable, CodingKeyRepresentable, CaseIterable, Sendable {
    /// The standard forward pass, softmax and the output error `e = y - onehot`.
    case forward
    /// PEPITA: `x_mod = x + e F^T` (`sign(e)` for pepita-sign).
    case errorProjection
    /// PEPITA: the forward pass on `x_mod`, softmax and `e_mod`.
    case modulatedForward
    /// PEPITA: `h - h_mod` and the update products.
    case update
    /// BP/FA/DFA: the deltas sent down, counted under the layer that receives them.
    case backwardDelta
    /// BP/FA/DFA: `dW_l = delta_l^T h_{l-1}`.
    case weightGradient
    /// Momentum SGD on every weight.
    case optimiser
}

/// Scalar operations by kind, the categories of HWModel's `OperationCounts`:
/// a MAC is one multiply-accumulate inside a matrix product; everything else
/// is an elementwise operation outside products.
public struct OperationTally: Codable, Equatable, Hashable, Sendable {
    public var macs: Int
    public var adds: Int
    public var multiplies: Int
    public var compares: Int
    public var exps: Int
    public var divides: Int

    public init(macs: Int = 0, adds: Int = 0, multiplies: Int = 0, compares: Int = 0, exps: Int = 0, divides: Int = 0) {
        self.macs = macs
        self.adds = adds
        self.multiplies = multiplies
        self.compares = compares
        self.exps = exps
        self.divides = divides
    }

    public static let zero = OperationTally()

    public static func + (a: OperationTally, b: OperationTally) -> OperationTally {
        OperationTally(macs: a.macs + b.macs, adds: a.adds + b.adds, multiplies: a.multiplies + b.multiplies,
                       compares: a.compares + b.compares, exps: a.exps + b.exps, divides: a.divides + b.divides)
    }

    public static func += (a: inout OperationTally, b: OperationTally) { a = a + b }
}

/// Bytes a phase read and wrote, by tensor role, at the element size the
/// engine's format gives each element (float32: 4 bytes; fixed point: the
/// format's bits rounded up to whole bytes; accumulators: the configured
/// accumulator width, float32 accumulators 4 bytes).
public struct RecordedTraffic: Codable, Equatable, Sendable {
    public var bytesRead: [TensorRole: Int] = [:]
    public var bytesWritten: [TensorRole: Int] = [:]
    /// Matrix-product results written as exact (fixed-point) sums, before their narrowing.
    public var accumulatorBytesWritten = 0

    public init() {}

    public static func + (a: RecordedTraffic, b: RecordedTraffic) -> RecordedTraffic {
        var sum = a
        sum.bytesRead.merge(b.bytesRead, uniquingKeysWith: +)
        sum.bytesWritten.merge(b.bytesWritten, uniquingKeysWith: +)
        sum.accumulatorBytesWritten += b.accumulatorBytesWritten
        return sum
    }
}

/// What one phase counted: operations and traffic per layer (index = layer)
/// and belonging to no layer (PEPITA's error projection).
public struct RecordedPhase: Codable, Equatable, Sendable {
    public var phase: StepPhase
    public var layers: [OperationTally]
    public var outsideLayers: OperationTally
    /// Operand and result traffic of the matrix products and the optimiser,
    /// per layer (elementwise kernels count operations only; see `OperationRecorder`).
    public var layerTraffic: [RecordedTraffic]
    public var outsideLayerTraffic: RecordedTraffic

    public init(phase: StepPhase, layers: [OperationTally] = [], outsideLayers: OperationTally = .zero,
                layerTraffic: [RecordedTraffic] = [], outsideLayerTraffic: RecordedTraffic = RecordedTraffic()) {
        self.phase = phase
        self.layers = layers
        self.outsideLayers = outsideLayers
        self.layerTraffic = layerTraffic
        self.outsideLayerTraffic = outsideLayerTraffic
    }

    public var total: OperationTally { layers.reduce(outsideLayers, +) }

    /// The phase's traffic over all layers and outside them.
    public var traffic: RecordedTraffic { layerTraffic.reduce(outsideLayerTraffic, +) }
}

/// Everything counted over some training steps, phases in `StepPhase` order
/// (only the phases that ran).
public struct RecordedOperations: Codable, Equatable, Sendable {
    public var steps: Int
    public var phases: [RecordedPhase]

    public init(steps: Int = 0, phases: [RecordedPhase] = []) {
        self.steps = steps
        self.phases = phases
    }

    public subscript(phase: StepPhase) -> RecordedPhase? { phases.first { $0.phase == phase } }

    public var total: OperationTally { phases.reduce(.zero) { $0 + $1.total } }
}

/// Counts the operations and traffic of training steps as the kernels run.
///
/// The rule code says where it is (`phase`, `layer`) and each kernel adds
/// what it did on entry — a few integer adds per call, never per element, so
/// it stays on in training. Only the calling thread records (the products
/// split their work over threads inside `FloatGEMM` / `IntegerGEMM`, below
/// the counting), so counts do not depend on the thread count. Evaluation
/// passes are not recorded (they are given no recorder). Switched off by
/// giving the engine no recorder.
///
/// Conventions (HWModel's `CostModel.operations` states the same ones):
/// a sum of `n` terms is `n - 1` adds; a matrix product `(m x k)(k x n)` is
/// `m k n` MACs, plus `m n` adds when it accumulates into an existing matrix;
/// narrowing to a fixed-point format (shift, round, saturate) is part of
/// writing a result and not an operation; im2col, transposes, mask drawing,
/// one-hot encoding and scalars computed once per step are not operations.
public final class OperationRecorder {
    /// Where the next operations belong; set by the rule code.
    public var phase: StepPhase = .forward
    /// The layer the next operations belong to; nil for none (error projection).
    public var layer: Int?
    public private(set) var steps = 0
    private var phases: [StepPhase: RecordedPhase] = [:]

    public init() {}

    /// Marks the end of one training step.
    public func finishStep() { steps += 1 }

    public func reset() {
        steps = 0
        phases = [:]
    }

    /// Continues from `recorded` (a resumed run's unfinished epoch), as if its steps had run here.
    public func restore(_ recorded: RecordedOperations) {
        steps = recorded.steps
        phases = Dictionary(uniqueKeysWithValues: recorded.phases.map { ($0.phase, $0) })
    }

    /// A copy of everything counted since the last `reset()`.
    public var recorded: RecordedOperations {
        RecordedOperations(steps: steps, phases: StepPhase.allCases.compactMap { phases[$0] })
    }

    /// Adds `tally` to the current phase and layer.
    public func count(_ tally: OperationTally) {
        update { entry in
            if let layer {
                if entry.layers.count <= layer { entry.layers += Array(repeating: .zero, count: layer + 1 - entry.layers.count) }
                entry.layers[layer] += tally
            } else {
                entry.outsideLayers += tally
            }
        }
    }

    public func read(_ role: TensorRole, bytes: Int) { updateTraffic { $0.bytesRead[role, default: 0] += bytes } }

    public func write(_ role: TensorRole, bytes: Int) { updateTraffic { $0.bytesWritten[role, default: 0] += bytes } }

    public func writeAccumulators(bytes: Int) { updateTraffic { $0.accumulatorBytesWritten += bytes } }

    /// Changes the current phase's entry in place (no copy of its arrays).
    private func update(_ change: (inout RecordedPhase) -> Void) {
        change(&phases[phase, default: RecordedPhase(phase: phase)])
    }

    /// Changes the traffic of the current phase and layer.
    private func updateTraffic(_ change: (inout RecordedTraffic) -> Void) {
        update { entry in
            if let layer {
                if entry.layerTraffic.count <= layer {
                    entry.layerTraffic += Array(repeating: RecordedTraffic(), count: layer + 1 - entry.layerTraffic.count)
                }
                change(&entry.layerTraffic[layer])
            } else {
                change(&entry.outsideLayerTraffic)
            }
        }
    }

    /// The counting of one matrix product whose operands have roles `left`
    /// and `right` and whose result has role `result`.
    public func product(_ left: TensorRole, _ right: TensorRole, into result: TensorRole) -> ProductCounting {
        ProductCounting(recorder: self, left: left, right: right, result: result)
    }
}

/// Where a matrix product records itself, and the tensor roles of its
/// operands and result (for its traffic).
public struct ProductCounting {
    public let recorder: OperationRecorder
    public let left: TensorRole
    public let right: TensorRole
    public let result: TensorRole

    /// `(m x k)(k x n)`: `m k n` MACs (plus `m n` adds when accumulating into
    /// an existing matrix, which is then also read); operands read once,
    /// result written once.
    func record(m: Int, k: Int, n: Int, accumulates: Bool, leftBytes: Int, rightBytes: Int, resultBytes: Int,
                resultIsAccumulator: Bool) {
        recorder.count(OperationTally(macs: m * k * n, adds: accumulates ? m * n : 0))
        recorder.read(left, bytes: m * k * leftBytes)
        recorder.read(right, bytes: k * n * rightBytes)
        if accumulates { recorder.read(result, bytes: m * n * resultBytes) }
        if resultIsAccumulator {
            recorder.writeAccumulators(bytes: m * n * resultBytes)
        } else {
            recorder.write(result, bytes: m * n * resultBytes)
        }
    }
}
