/// The learning rules the engine trains with.
public enum RuleKind: String, Codable, Sendable, CaseIterable {
    /// PEPITA: two forward passes, the second on `x + e F^T`.
    case pepita
    /// PEPITA projecting `sign(e)` (the paper's ERINsign), F scaled by a further 0.1.
    case pepitaSign = "pepita-sign"
    /// Backpropagation with softmax cross-entropy (mean over the batch).
    case bp
    /// Feedback alignment: backprop with fixed random matrices in place of `W^T`.
    case fa
    /// Direct feedback alignment: the output error sent straight to every hidden layer.
    case dfa

    public var isPepita: Bool { self == .pepita || self == .pepitaSign }
}

/// What one mini-batch step of a rule produces.
public struct RuleStep: Sendable {
    /// One update per layer, in layer order, each the shape of its weight. The
    /// optimiser applies `v = momentum * v + (eta / (batch * divisor)) * update; W = W - v`.
    public var updates: [Matrix]
    /// Per layer, the further divisor of its update that the optimiser folds
    /// into its scalar (PEPITA's conv normalisation; 1 elsewhere), as the
    /// fixed-point engine does.
    public var divisors: [Float]
    /// The first (standard) forward pass, for loss and accuracy.
    public var firstPass: ForwardTrace

    public init(updates: [Matrix], divisors: [Float]? = nil, firstPass: ForwardTrace) {
        self.updates = updates
        self.divisors = divisors ?? [Float](repeating: 1, count: updates.count)
        self.firstPass = firstPass
    }

    /// The update of layer `layer` with its divisor applied.
    public func dividedUpdate(_ layer: Int) -> Matrix {
        var update = updates[layer]
        for i in update.values.indices { update.values[i] /= divisors[layer] }
        return update
    }
}

/// A rule that turns a mini-batch into weight updates. Conformers: `Pepita`
/// (PEPITA and its sign variant) and `Backprop` (BP, FA, DFA).
public protocol LearningRule: Sendable {
    var kind: RuleKind { get }

    /// The updates for `input` (`batch x inputCount`) with class `labels`,
    /// using the dropout `masks` drawn for this batch; with a `recorder`, every
    /// operation counted under its phase and layer.
    func step(network: Network, input: Matrix, labels: [Int32], masks: [Matrix?], threads: Int,
              recorder: OperationRecorder?) -> RuleStep

    /// The fixed random matrices the rule owns (PEPITA's `F`, FA/DFA feedback),
    /// named as they are saved: `F`, `B1`, `B2`, ...
    var fixedMatrices: [String: Matrix] { get }
}

extension LearningRule {
    /// `step` without counting.
    public func step(network: Network, input: Matrix, labels: [Int32], masks: [Matrix?], threads: Int) -> RuleStep {
        step(network: network, input: input, labels: labels, masks: masks, threads: threads, recorder: nil)
    }
}
