/// Any feed-forward network as a hardware architect describes it: an input
/// shape, what the output is, and a list of layers in file order, each reading
/// the previous layer's output or, by name, an earlier one (`input`), and a
/// residual `add` joining a named earlier output. Read from JSON
/// (`NetworkDescription+JSON.swift`); shapes are inferred and checked layer to
/// layer by `resolve()` (`NetworkDescription+Resolve.swift`); priced by
/// `NetworkCostModel` for every rule. The engine's models are a subset
/// (`NetworkDescription+NetworkShape.swift`).
///
/// Shapes are `channels x height x width`; a flat vector is `1 x 1 x n` (the
/// convention of `NetworkShape`): dense layers take and give flat vectors, so a
/// feature map goes through `flatten` first (as in Keras).
public struct NetworkDescription: Equatable, Sendable {
    /// Repeated in reports, e.g. `ds-cnn-kws`.
    public var name: String
    /// Where the architecture comes from (paper, repository and file), for the reader.
    public var source: String?
    public var input: InputShape
    public var output: NetworkOutput
    public var layers: [NetworkLayer]

    public init(name: String, source: String? = nil, input: InputShape, output: NetworkOutput, layers: [NetworkLayer]) {
        self.name = name
        self.source = source
        self.input = input
        self.output = output
        self.layers = layers
    }
}

/// What the last layer produces and what the training error is.
public enum NetworkOutput: Equatable, Sendable {
    /// `classes` scores, softmax, error `y - onehot(target)`.
    case classes(Int)
    /// A reconstruction of the input (an autoencoder): the last layer gives as
    /// many values as the input, no softmax, error `y - x`. PEPITA's `F` is
    /// then `input size x output size`.
    case reconstruction
}

/// One layer: its kind, an optional unique name, and where its (first) input comes from.
public struct NetworkLayer: Equatable, Sendable {
    /// Unique within the network; reports and error messages use it. Defaults to `layers[i]`.
    public var name: String?
    /// The name of an earlier layer whose output this layer reads; nil reads the previous layer (or the network input).
    public var input: String?
    public var kind: LayerKind

    public init(_ kind: LayerKind, name: String? = nil, input: String? = nil) {
        self.name = name
        self.input = input
        self.kind = kind
    }
}

/// Height and width of a kernel, stride or pooling window.
public struct Extent2D: Equatable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    public static func square(_ size: Int) -> Extent2D { Extent2D(size, size) }

    public var area: Int { height * width }
    public var description: String { height == width ? "\(height)" : "\(height)x\(width)" }
}

/// Zero padding of a convolution.
public enum Padding: Equatable, Sendable {
    /// No padding: output `floor((H - k) / s) + 1`.
    case valid
    /// TensorFlow's `same`: output `ceil(H / s)`, total padding `max((out - 1) s + k - H, 0)`,
    /// the smaller half on top / left.
    case same
    /// Rows and columns of zeros on each side.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
}

public struct Convolution: Equatable, Sendable {
    public var filters: Int
    public var kernel: Extent2D
    public var stride: Extent2D
    public var padding: Padding
    /// 1: a full convolution; `channels`: depthwise (`filters` a multiple of it);
    /// any divisor of both the input channels and `filters`: grouped.
    public var groups: Int
    public var bias: Bool

    public init(filters: Int, kernel: Extent2D, stride: Extent2D = .square(1), padding: Padding = .valid,
                groups: Int = 1, bias: Bool = false) {
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.bias = bias
    }
}

public enum PoolingKind: String, Equatable, Sendable {
    case max, average
}

public struct Pooling: Equatable, Sendable {
    public var kind: PoolingKind
    /// nil for a global pool (the window is the whole map).
    public var size: Extent2D?
    /// Defaults to the window size.
    public var stride: Extent2D?

    public init(kind: PoolingKind, size: Extent2D?, stride: Extent2D? = nil) {
        self.kind = kind
        self.size = size
        self.stride = stride
    }

    public var isGlobal: Bool { size == nil }
}

public enum LayerKind: Equatable, Sendable {
    /// Fully connected on a flat vector, weight `units x inputs`, optional bias.
    case dense(units: Int, bias: Bool)
    case conv2d(Convolution)
    case pool(Pooling)
    /// `C x H x W` to `1 x 1 x CHW`: a view, no data moves.
    case flatten
    case relu
    /// Batch normalisation over the batch and positions of each channel, in
    /// training mode: trainable scale and shift per channel, plus running mean
    /// and variance (stored, not trained).
    case batchNorm
    /// Residual add of this layer's input and the output of the earlier layer named `from`.
    case add(from: String)

    /// The JSON `type` of the kind.
    public var typeName: String {
        switch self {
        case .dense: return "dense"
        case .conv2d: return "conv2d"
        case let .pool(pooling):
            switch (pooling.isGlobal, pooling.kind) {
            case (false, .max): return "maxPool"
            case (false, .average): return "averagePool"
            case (true, .max): return "globalMaxPool"
            case (true, .average): return "globalAveragePool"
            }
        case .flatten: return "flatten"
        case .relu: return "relu"
        case .batchNorm: return "batchNorm"
        case .add: return "add"
        }
    }

    /// Dense and conv layers: a weight matrix and a matrix product.
    public var isWeighted: Bool {
        switch self {
        case .dense, .conv2d: return true
        default: return false
        }
    }

    /// Layers with parameters a rule updates (weighted layers and batch norm).
    public var isTrainable: Bool { isWeighted || self == .batchNorm }
}
