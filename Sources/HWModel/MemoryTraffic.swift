/// Bytes read and written of one kind of data.
public struct DataTraffic: Codable, Equatable, Sendable {
    public var kind: DataKind
    public var bytesRead: Int
    public var bytesWritten: Int

    public init(kind: DataKind, bytesRead: Int, bytesWritten: Int) {
        self.kind = kind
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
    }

    public var bytesMoved: Int { bytesRead + bytesWritten }
}

/// The memory traffic of one phase, one entry per kind of data it touches (in `DataKind` order).
public struct PhaseTraffic: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    public var kinds: [DataTraffic]

    public init(phase: TrainingPhase, kinds: [DataTraffic]) {
        self.phase = phase
        self.kinds = kinds
    }

    public var bytesRead: Int { kinds.reduce(0) { $0 + $1.bytesRead } }
    public var bytesWritten: Int { kinds.reduce(0) { $0 + $1.bytesWritten } }

    public subscript(kind: DataKind) -> DataTraffic {
        kinds.first { $0.kind == kind } ?? DataTraffic(kind: kind, bytesRead: 0, bytesWritten: 0)
    }
}

/// The memory traffic of one training step.
public struct StepTraffic: Codable, Equatable, Sendable {
    public var rule: TrainingRule
    public var batch: Int
    public var phases: [PhaseTraffic]

    public subscript(phase: TrainingPhase) -> PhaseTraffic? { phases.first { $0.phase == phase } }

    public var bytesRead: Int { phases.reduce(0) { $0 + $1.bytesRead } }
    public var bytesWritten: Int { phases.reduce(0) { $0 + $1.bytesWritten } }

    /// Bytes moved of each kind over the whole step.
    public var bytesMovedByKind: [DataKind: Int] {
        var moved: [DataKind: Int] = [:]
        for phase in phases { for entry in phase.kinds { moved[entry.kind, default: 0] += entry.bytesMoved } }
        return moved
    }
}

/// Accumulates reads and writes by kind while a phase is walked.
struct TrafficTally {
    private var read: [DataKind: Int] = [:]
    private var written: [DataKind: Int] = [:]

    mutating func read(_ kind: DataKind, _ bytes: Int) { read[kind, default: 0] += bytes }
    mutating func write(_ kind: DataKind, _ bytes: Int) { written[kind, default: 0] += bytes }

    func phase(_ phase: TrainingPhase) -> PhaseTraffic {
        let kinds = DataKind.allCases.compactMap { kind -> DataTraffic? in
            let r = read[kind] ?? 0, w = written[kind] ?? 0
            return r == 0 && w == 0 ? nil : DataTraffic(kind: kind, bytesRead: r, bytesWritten: w)
        }
        return PhaseTraffic(phase: phase, kinds: kinds)
    }
}
