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
    /// optimiser applies `v = momentum * v + eta * update / batch; W = W - v`.
    public var updates: [Matrix]
    /// The first (standard) forward pass, for loss and accuracy.
    public var firstPass: ForwardTrace
}

/// A rule that turns a mini-batch into weight updates. Conformers: `Pepita`
/// (PEPITA and its sign variant) and `Backprop` (BP, FA, DFA).
public protocol LearningRule: Sendable {
    var kind: RuleKind { get }

    /// The updates for `input` (`batch x inputCount`) with one-hot `targets`
    /// (`batch x classes`), using the dropout `masks` drawn for this batch.
    func step(network: Network, input: Matrix, targets: Matrix, masks: [Matrix?], threads: Int) -> RuleStep

    /// The fixed random matrices the rule owns (PEPITA's `F`, FA/DFA feedback),
    /// named as they are saved: `F`, `B1`, `B2`, ...
    var fixedMatrices: [String: Matrix] { get }
}
