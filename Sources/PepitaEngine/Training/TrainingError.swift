/// Why training stopped before its last epoch.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A float step produced NaN or infinity in a layer's weights (counted from 0,
    /// as the `W0.npy` ... files); epoch and step count from 1. The run's last
    /// checkpoint predates the step, so nothing written is damaged.
    case nonFinite(epoch: Int, step: Int, layer: Int)

    public var description: String {
        switch self {
        case let .nonFinite(epoch, step, layer):
            return "training diverged: weights of layer \(layer) (W\(layer)) became NaN or infinite at epoch \(epoch), step \(step); the last good checkpoint is kept (try a smaller --lr)"
        }
    }
}
