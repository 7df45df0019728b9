/// Where a step's data lives on a profile's memories, and what spills: the
/// "does it fit on chip?" answer, and the split of every kind's traffic
/// between the on-chip level that serves it and the off-chip level.
public struct MemoryPlacement: Codable, Equatable, Sendable {
    public static let policy = """
        The step's data is served by one on-chip level: the smallest that holds the peak live storage, \
        or, if none does, the largest. When the peak exceeds it, kinds of data are kept on chip in order of \
        bytes moved per byte stored (most first) until the level is full; the rest of each kind spills to \
        the off-chip level, and that share of the kind's traffic is read and written there. \
        Smaller on-chip levels (register files, caches) are not modelled as separate traffic. \
        The off-chip level's size is checked too: if what spills exceeds it, the step does not fit on the \
        profile's memories at all; its traffic is still priced (at the off-chip level) and the report says by how much it overflows.
        """

    public var peakBytes: Int
    /// Every on-chip level and whether the peak fits in it.
    public var levels: [LevelFit]
    /// The on-chip level that serves the traffic.
    public var servingLevel: String
    /// The off-chip level that takes what spills; nil if the profile has none.
    public var offChipLevel: String?
    /// The off-chip level's size in bytes; nil if the profile has none.
    public var offChipSizeBytes: Int?
    public var fitsOnChip: Bool { spilledBytes == 0 }
    public var spilledBytes: Int { kinds.reduce(0) { $0 + $1.spilledBytes } }
    /// Spilled bytes beyond the off-chip level's size (0 when they fit, or nothing spills, or there is no off-chip level).
    public var offChipOverflowBytes: Int { offChipSizeBytes.map { max(0, spilledBytes - $0) } ?? 0 }
    /// The peak fits on chip, or what spills fits in the off-chip level.
    public var fitsInMemory: Bool { spilledBytes == 0 || offChipOverflowBytes == 0 && offChipLevel != nil }
    /// Per kind of data: peak bytes, how many stay on chip, how many spill.
    public var kinds: [KindPlacement]
    /// Remarks, e.g. spilled bytes priced on chip because the profile has no off-chip level.
    public var notes: [String]

    public func spilledFraction(_ kind: DataKind) -> Double {
        guard let entry = kinds.first(where: { $0.kind == kind }), entry.peakBytes > 0 else { return 0 }
        return Double(entry.spilledBytes) / Double(entry.peakBytes)
    }
}

public struct LevelFit: Codable, Equatable, Sendable {
    public var level: String
    public var sizeBytes: Int
    public var holdsPeak: Bool

    public init(level: String, sizeBytes: Int, holdsPeak: Bool) {
        self.level = level
        self.sizeBytes = sizeBytes
        self.holdsPeak = holdsPeak
    }
}

public struct KindPlacement: Codable, Equatable, Sendable {
    public var kind: DataKind
    public var peakBytes: Int
    public var onChipBytes: Int
    public var spilledBytes: Int
    /// Bytes of this kind read and written per step (what ranks it for the on-chip space).
    public var bytesMovedPerStep: Int
}

extension MemoryPlacement {
    /// Places the peak live data of `storage` on `profile`'s memories, ranking
    /// kinds by `traffic` per byte stored (see `policy`).
    public init(storage: StorageProfile, traffic: StepTraffic, profile: HardwareProfile) {
        let onChip = profile.onChipMemories.sorted { $0.capacityBytes < $1.capacityBytes }
        precondition(!onChip.isEmpty, "profile '\(profile.name)' has no on-chip memory: call validate() first")
        let peak = storage.peakBytes
        let serving = onChip.first { $0.capacityBytes >= peak } ?? onChip.last!
        let peakByKind = storage.peakByKind
        let moved = traffic.bytesMovedByKind
        let ranked = DataKind.allCases.filter { (peakByKind[$0] ?? 0) > 0 }.sorted { a, b in
            let densityA = Double(moved[a] ?? 0) / Double(peakByKind[a]!)
            let densityB = Double(moved[b] ?? 0) / Double(peakByKind[b]!)
            return densityA != densityB ? densityA > densityB : a < b
        }
        var remaining = serving.capacityBytes
        var placed: [DataKind: KindPlacement] = [:]
        for kind in ranked {
            let bytes = peakByKind[kind]!
            let kept = min(bytes, remaining)
            remaining -= kept
            placed[kind] = KindPlacement(kind: kind, peakBytes: bytes, onChipBytes: kept, spilledBytes: bytes - kept,
                                         bytesMovedPerStep: moved[kind] ?? 0)
        }
        let offChip = profile.offChipMemory
        var notes: [String] = []
        let spilled = placed.values.reduce(0) { $0 + $1.spilledBytes }
        if spilled > 0 && offChip == nil {
            notes.append("\(spilled) bytes do not fit in \(serving.name) and the profile has no off-chip level: their traffic is priced at \(serving.name)")
        }
        if let offChip, spilled > offChip.capacityBytes {
            notes.append("\(spilled) bytes spill from \(serving.name) but \(offChip.name) holds only \(offChip.capacityBytes): "
                         + "\(spilled - offChip.capacityBytes) bytes fit nowhere on this profile (their traffic is priced at \(offChip.name) as if they fit)")
        }
        self.init(peakBytes: peak,
                  levels: onChip.map { LevelFit(level: $0.name, sizeBytes: $0.capacityBytes, holdsPeak: $0.capacityBytes >= peak) },
                  servingLevel: serving.name, offChipLevel: offChip?.name, offChipSizeBytes: offChip?.capacityBytes,
                  kinds: DataKind.allCases.compactMap { placed[$0] }, notes: notes)
    }
}
