import Quantized

/// Arithmetic operations, by kind. Every count is of scalar operations on
/// whole tensors; a MAC is one multiply and one accumulate inside a matrix
/// product and is counted only under `macs`.
///
/// - `adds`: additions and subtractions outside products (`x + e F^T`, `y - onehot`,
///   `h - h_mod`, softmax sums, routing a pooled gradient to its winner, the optimiser's adds);
/// - `multiplies`: dropout masks, ReLU-derivative masks, softmax normalisation, the optimiser's scalings;
/// - `compares`: ReLU, max pooling, softmax's running max, `sign(e)`;
/// - `exps`: softmax exponentials;
/// - `divides`: one reciprocal per softmax row.
public struct OperationCounts: Codable, Equatable, Hashable, Sendable {
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

    public static let zero = OperationCounts()

    /// Every operation that is not a MAC.
    public var otherOperations: Int { adds + multiplies + compares + exps + divides }

    public static func + (a: OperationCounts, b: OperationCounts) -> OperationCounts {
        OperationCounts(macs: a.macs + b.macs, adds: a.adds + b.adds, multiplies: a.multiplies + b.multiplies,
                        compares: a.compares + b.compares, exps: a.exps + b.exps, divides: a.divides + b.divides)
    }

    public static func += (a: inout OperationCounts, b: OperationCounts) { a = a + b }

    public static func * (count: Int, a: OperationCounts) -> OperationCounts {
        OperationCounts(macs: count * a.macs, adds: count * a.adds, multiplies: count * a.multiplies,
                        compares: count * a.compares, exps: count * a.exps, divides: count * a.divides)
    }
}

/// One matrix product of a training step, `(rows x inner) · (inner x columns)`:
/// `rows * inner * columns` MACs. Listed so an engine counting its `product`
/// calls can compare call by call, and so pricing can pick each product's
/// precision from the roles of its two operands.
public struct MatrixProduct: Codable, Equatable, Sendable {
    /// What it computes, e.g. `h0 · W1^T`, `(h1 - h1_mod)^T · h0_mod`.
    public var name: String
    /// The layer it belongs to; nil for the error projection.
    public var layer: Int?
    public var rows: Int
    public var inner: Int
    public var columns: Int
    /// Tensor roles of the left and right operands (their storage formats set the MAC precision).
    public var leftRole: TensorRole
    public var rightRole: TensorRole

    public init(name: String, layer: Int?, rows: Int, inner: Int, columns: Int, leftRole: TensorRole, rightRole: TensorRole) {
        self.name = name
        self.layer = layer
        self.rows = rows
        self.inner = inner
        self.columns = columns
        self.leftRole = leftRole
        self.rightRole = rightRole
    }

    public var macs: Int { rows * inner * columns }
}

/// The operations of one phase of one step, per layer and in total.
public struct PhaseOperations: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    /// One entry per layer, in layer order.
    public var layers: [OperationCounts]
    /// Operations that belong to no layer: PEPITA's error projection.
    public var outsideLayers: OperationCounts
    /// The products whose MACs `layers` and `outsideLayers` count.
    public var products: [MatrixProduct]

    public init(phase: TrainingPhase, layers: [OperationCounts], outsideLayers: OperationCounts = .zero,
                products: [MatrixProduct] = []) {
        self.phase = phase
        self.layers = layers
        self.outsideLayers = outsideLayers
        self.products = products
    }

    public var total: OperationCounts { layers.reduce(outsideLayers, +) }
}

/// The operations of one training step on a batch of `batch` samples.
public struct StepOperations: Codable, Equatable, Sendable {
    public var rule: TrainingRule
    public var batch: Int
    /// In the order the phases run (`TrainingRule.phases`).
    public var phases: [PhaseOperations]

    public init(rule: TrainingRule, batch: Int, phases: [PhaseOperations]) {
        self.rule = rule
        self.batch = batch
        self.phases = phases
    }

    public subscript(phase: TrainingPhase) -> PhaseOperations? { phases.first { $0.phase == phase } }

    public var total: OperationCounts { phases.reduce(.zero) { $0 + $1.total } }
}
