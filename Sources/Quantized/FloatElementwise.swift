import CKernels

/// The float32 elementwise loops of a training step that are large enough to
/// matter (C, vectorised for the active kernel path; the momentum step and the
/// draws shared among up to `threads` threads in whole blocks): each element
/// depends on its index only, so the floats are the same whatever the split.
public enum FloatElementwise {
    /// Momentum SGD in place: `velocity[i] = momentum * velocity[i] + scale * update[i]`
    /// (two rounded products and a rounded sum, never fused), then `weights[i] -= velocity[i]`.
    public static func momentumStep(weights: UnsafeMutableBufferPointer<Float>, velocity: UnsafeMutableBufferPointer<Float>,
                                    update: UnsafeBufferPointer<Float>, momentum: Float, scale: Float, threads: Int = 1) {
        precondition(velocity.count == weights.count && update.count == weights.count)
        guard let w = weights.baseAddress, let v = velocity.baseAddress, let u = update.baseAddress else { return }
        TilePartition.runBlocks(count: weights.count, block: block, multiplyAdds: weights.count * momentumCost,
                                threads: threads) { _, elements in
            let i = elements.lowerBound
            ck_float_momentum(w + i, v + i, u + i, elements.count, momentum, scale)
        }
    }

    /// Dropout draws: `values[i] = (mix64(base &+ (firstIndex &+ i &+ 1) &* 0x9E3779B97F4A7C15) >> 40) < limit ? value : 0`
    /// with SplitMix64's finaliser `mix64` (what `RandomStream.fillBernoulli` defines).
    public static func fillBernoulli(_ values: UnsafeMutableBufferPointer<Float>, base: UInt64, firstIndex: UInt64,
                                     limit: UInt64, value: Float, threads: Int = 1) {
        guard let start = values.baseAddress else { return }
        TilePartition.runBlocks(count: values.count, block: block, multiplyAdds: values.count * drawCost,
                                threads: threads) { _, elements in
            ck_fill_bernoulli(start + elements.lowerBound, elements.count, base,
                              firstIndex &+ UInt64(elements.lowerBound), limit, value)
        }
    }

    /// Elements per unit of work shared among threads.
    static let block = 1 << 12
    /// About how many multiply-add-sized operations an element costs, to weigh a
    /// loop against `TilePartition`'s threshold (2^18): a hidden layer's
    /// momentum step (784 x 1024) and a 64 x 1024 dropout mask are shared.
    static let momentumCost = 4
    static let drawCost = 8
}
