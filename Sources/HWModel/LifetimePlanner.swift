/// Buffers of one training step with the stages during which they are live,
/// and the two peak-storage assumptions the issue asks for:
///
/// - **every buffer kept**: each tensor the step creates has its own buffer,
///   allocated for the whole step, no in-place reuse (the sum of every buffer);
/// - **buffers reused as soon as dead**: a buffer lives from the stage that
///   writes it to the last stage that reads it, and an elementwise layer (ReLU,
///   batch norm, residual add, the output error, a delta through them or
///   through a pool whose windows do not overlap) writes in place over its
///   input when that input is read for the last time there.
///
/// Flatten is a view in both.
struct LifetimePlanner {
    struct Tensor {
        var name: String
        var category: StorageCategory
        var layer: Int?
        var bytes: Int
        var first: Int
        var last: Int
    }

    private(set) var stages: [String] = []
    private(set) var tensors: [Tensor] = []
    private var inPlaceCandidates: [(output: Int, input: Int)] = []

    mutating func stage(_ name: String) -> Int {
        stages.append(name)
        return stages.count - 1
    }

    mutating func tensor(_ name: String, _ category: StorageCategory, layer: Int?, bytes: Int, at stage: Int) -> Int {
        tensors.append(Tensor(name: name, category: category, layer: layer, bytes: bytes, first: stage, last: stage))
        return tensors.count - 1
    }

    mutating func use(_ id: Int, at stage: Int) { tensors[id].last = max(tensors[id].last, stage) }

    /// Read at `stage`, beyond the pass that made it: stored for later.
    mutating func keep(_ id: Int, until stage: Int) {
        use(id, at: stage)
        if tensors[id].category == .workingActivations { tensors[id].category = .keptActivations }
    }

    /// `output` may overwrite `input` (same size, elementwise) if `input` is not read after `output` is written.
    mutating func inPlace(_ output: Int, over input: Int) { inPlaceCandidates.append((output, input)) }

    /// A buffer live from the first stage to the last (weights, velocities, feedback matrices).
    mutating func persistent(_ name: String, _ category: StorageCategory, layer: Int?, bytes: Int) {
        guard bytes > 0 else { return }
        tensors.append(Tensor(name: name, category: category, layer: layer, bytes: bytes, first: 0, last: Int.max))
    }

    func storage(rule: TrainingRule, batch: Int, schedule: String, layerCount: Int) -> NetworkStorage {
        let end = stages.count - 1
        var tensors = self.tensors
        for index in tensors.indices where tensors[index].last == Int.max { tensors[index].last = end }

        // In place: merge an output into its input's buffer when the input dies where the output is born.
        var root = Array(tensors.indices)
        func find(_ id: Int) -> Int { var id = id; while root[id] != id { id = root[id] }; return id }
        var merged = tensors
        for (output, input) in inPlaceCandidates where tensors[input].last == tensors[output].first {
            let base = find(input)
            root[output] = base
            merged[base].last = max(merged[base].last, tensors[output].last)
            merged[base].bytes = max(merged[base].bytes, tensors[output].bytes)
            merged[base].name += " > " + tensors[output].name
            if tensors[output].last >= merged[base].last { merged[base].category = tensors[output].category }
        }
        let buffers = tensors.indices.filter { find($0) == $0 }.map { id in
            StorageBuffer(name: merged[id].name, category: merged[id].category, layer: merged[id].layer, bytes: merged[id].bytes,
                          firstStage: merged[id].first, lastStage: merged[id].last)
        }
        let live = stages.indices.map { stage in buffers.filter { $0.isLive(atStage: stage) }.reduce(0) { $0 + $1.bytes } }
        let peakIndex = live.indices.max { live[$0] < live[$1] } ?? 0
        let atPeak = buffers.filter { $0.isLive(atStage: peakIndex) }
        let reused = StorageProfile(
            rule: rule, batch: batch, schedule: schedule,
            stages: stages.indices.map { StorageStage(name: stages[$0], liveBytes: live[$0]) }, buffers: buffers,
            peakStage: stages.isEmpty ? "" : stages[peakIndex], peakBytes: live.isEmpty ? 0 : live[peakIndex],
            peakByCategory: StorageCategory.allCases.map { category in
                CategoryBytes(category: category, bytes: atPeak.filter { $0.category == category }.reduce(0) { $0 + $1.bytes })
            },
            peakByLayer: (0..<layerCount).map { layer in
                LayerBytes(layer: layer, bytes: atPeak.filter { $0.layer == layer }.reduce(0) { $0 + $1.bytes })
            })
        return NetworkStorage(
            allKeptBytes: tensors.reduce(0) { $0 + $1.bytes },
            allKeptByCategory: StorageCategory.allCases.map { category in
                CategoryBytes(category: category, bytes: tensors.filter { $0.category == category }.reduce(0) { $0 + $1.bytes })
            },
            reused: reused)
    }
}

/// Peak storage of one step under the two assumptions of `LifetimePlanner`.
public struct NetworkStorage: Codable, Equatable, Sendable {
    /// Every buffer its own allocation for the whole step, no in-place reuse: the sum of all buffers.
    public var allKeptBytes: Int
    public var allKeptByCategory: [CategoryBytes]
    /// Buffers freed after their last read, elementwise layers in place: the schedule's peak.
    public var reused: StorageProfile

    public var reusedBytes: Int { reused.peakBytes }

    /// Activation bytes (kept and working) under each assumption.
    public var allKeptActivationBytes: Int {
        allKeptByCategory.filter { $0.category.kind == .activations }.reduce(0) { $0 + $1.bytes }
    }
    public var reusedActivationBytes: Int { reused[.keptActivations] + reused[.workingActivations] }
}
