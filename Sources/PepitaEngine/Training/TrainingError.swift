/// Why training stopped before its last epoch.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A float step produced NaN or infinity in a layer's weights (counted from 0,
    /// as the `W0.npy` ... files); epoch and step count from 1. The step is not
    /// checkpointed, so a checkpoint written before it (if the caller wrote any)
    /// holds the last good weights; saying so is the caller's part, it knows.
    case nonFinite(epoch: Int, step: Int, layer: Int)

    public var description: String {
        switch self {
        case let .nonFinite(epoch, step, layer):
            return "training diverged: weights of layer \(layer) (W\(layer)) became NaN or infinite at epoch \(epoch), step \(step)"
        }
    }
}
