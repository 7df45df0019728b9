/// The parts of a network each learning rule works on: which outputs need a
/// backward delta, PEPITA's blocks, DFA's and Forward-Forward's stages.
extension ResolvedNetwork {
    /// Whether BP/FA need the delta with respect to layer `i`'s output: layer
    /// `i` or a layer before it has parameters. (No delta is formed for the
    /// network input, nor for layers with nothing trainable upstream.)
    public var needsDelta: [Bool] {
        var needs: [Bool] = []
        for layer in layers {
            needs.append(layer.kind.isTrainable || layer.inputs.contains { $0 >= 0 && needs[$0] })
        }
        return needs
    }

    /// PEPITA's block of trainable layer `i`: the layer and the batch norms and
    /// ReLUs that directly follow it in a chain (each read only by the next).
    /// PEPITA takes `h - h_mod` at the block's last layer (before pooling, as
    /// the reference takes a conv's activation before its max pool).
    public func blockEnd(_ i: Int) -> Int {
        var end = i
        while consumers[end].count == 1 {
            let next = consumers[end][0]
            guard layers[next].inputs == [end], layers[next].kind == .relu || layers[next].kind == .batchNorm else { break }
            end = next
        }
        return end
    }

    /// Trainable layers whose block ends at the network output: they learn from the output error, not `h - h_mod`.
    public func learnsFromOutputError(_ i: Int) -> Bool { blockEnd(i) == layers.count - 1 }

    /// The stages of DFA and Forward-Forward: each weighted layer with the
    /// layers after it in file order up to the next weighted layer, kept only
    /// where they are reached from the weighted layer. A stage's last reached
    /// layer is where DFA projects its error and Forward-Forward measures goodness.
    public var stages: [TrainingStage] {
        let weighted = layers.filter { $0.kind.isWeighted }.map(\.index)
        return weighted.enumerated().map { position, start in
            let limit = position + 1 < weighted.count ? weighted[position + 1] : layers.count
            var reached = [start]
            for j in (start + 1)..<max(start + 1, limit) where layers[j].inputs.contains(where: reached.contains) {
                reached.append(j)
            }
            return TrainingStage(weightedLayer: start, layers: reached)
        }
    }

    /// Where dropout acts when it is on: after the end of every stage whose
    /// weighted layer is dense, except the stage that ends at the output (the
    /// engine's "hidden dense layers": dense, ReLU, then dropout).
    public var dropoutSites: [Int] {
        stages.filter { stage in
            guard case .dense = layers[stage.weightedLayer].kind else { return false }
            return stage.end != layers.count - 1
        }.map(\.end)
    }

    /// The last layer the memory-saving PEPITA schedule recomputes: the block
    /// end of the last trainable layer that learns from `h - h_mod` (-1 if none).
    public var recomputeEnd: Int {
        layers.filter { $0.kind.isTrainable && !learnsFromOutputError($0.index) }.map { blockEnd($0.index) }.max() ?? -1
    }
}

/// A weighted layer and the layers after it that its local error passes through.
public struct TrainingStage: Equatable, Sendable {
    public var weightedLayer: Int
    /// In file order, starting with `weightedLayer`.
    public var layers: [Int]
    public var end: Int { layers[layers.count - 1] }
}
