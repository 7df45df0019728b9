/// The shape of one sample: channels x height x width (NCHW without the N).
/// Flat vectors (already-flattened features) are `1 x 1 x n`.
public struct SampleShape: Codable, Equatable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Number of scalars in one sample.
    public var featureCount: Int { channels * height * width }

    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A labelled set of samples held in memory.
///
/// `pixels` is row-major `count x shape.featureCount`, each row one sample in
/// channel-major (C, H, W) order, values scaled to [0, 1]. `labels[i]` is in
/// `0 ..< classCount`.
public struct LabelledSamples: Sendable {
    public var shape: SampleShape
    public var classCount: Int
    public var pixels: [Float]
    public var labels: [Int32]

    public init(shape: SampleShape, classCount: Int, pixels: [Float], labels: [Int32]) {
        precondition(pixels.count == labels.count * shape.featureCount, "pixels and labels disagree")
        self.shape = shape
        self.classCount = classCount
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: some Collection<Int>) -> LabelledSamples {
        let width = shape.featureCount
        var selectedPixels = [Float]()
        selectedPixels.reserveCapacity(indices.count * width)
        var selectedLabels = [Int32]()
        selectedLabels.reserveCapacity(indices.count)
        for index in indices {
            selectedPixels.append(contentsOf: pixels[index * width ..< (index + 1) * width])
            selectedLabels.append(labels[index])
        }
        return LabelledSamples(shape: shape, classCount: classCount, pixels: selectedPixels, labels: selectedLabels)
    }
}

/// A dataset as training uses it: a training set, a test set and, when asked
/// for, a validation set split off the end of the training set.
public struct Dataset: Sendable {
    /// Short name as given on the command line (`digits`, `mnist`, ...).
    public var name: String
    /// Where it was read from (a directory, or `embedded`).
    public var source: String
    public var train: LabelledSamples
    public var test: LabelledSamples
    public var validation: LabelledSamples?

    public init(name: String, source: String, train: LabelledSamples, test: LabelledSamples, validation: LabelledSamples? = nil) {
        self.name = name
        self.source = source
        self.train = train
        self.test = test
        self.validation = validation
    }

    public var shape: SampleShape { train.shape }
    public var classCount: Int { train.classCount }
}
