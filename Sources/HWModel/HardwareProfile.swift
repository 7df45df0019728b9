import Foundation

/// A hardware target to price a training step on: energy per operation, MAC
/// throughput, memory levels. A profile is data, not code (STYLE 8): it lives in
/// `profiles/*.json`, and every number carries the paper, datasheet or stated
/// assumption it comes from (`SourcedValue`). Loading validates every field
/// (`HardwareProfile+JSON.swift`).
public struct HardwareProfile: Codable, Equatable, Sendable {
    /// The file format version; this reader knows 1.
    public var schemaVersion: Int
    /// `horowitz-45nm`, `cortex-m4`, ...
    public var name: String
    public var description: String
    /// Free-text remarks on how the numbers fit together (optional).
    public var notes: [String]?
    public var clockHz: SourcedValue
    /// Non-MAC operations (adds, compares, ...) the datapath completes per cycle, for the roofline.
    public var otherOperationsPerCycle: SourcedValue
    /// Energy of one operation, by kind and precision.
    public var operations: [OperationEnergy]
    /// Peak MACs per cycle, by operand precision.
    public var computeThroughput: [ComputeThroughput]
    /// Memory levels, on chip (SRAMs, register files) and at most one off chip (DRAM, external SRAM).
    public var memories: [MemoryLevel]
    /// Energy of one random bit for stochastic rounding (an LFSR or TRNG bit), if
    /// published for the target; without it stochastic rounding's bits are counted but not priced.
    public var randomBitEnergyPicojoules: SourcedValue?

    public init(schemaVersion: Int = 1, name: String, description: String, notes: [String]? = nil,
                clockHz: SourcedValue, otherOperationsPerCycle: SourcedValue, operations: [OperationEnergy],
                computeThroughput: [ComputeThroughput], memories: [MemoryLevel],
                randomBitEnergyPicojoules: SourcedValue? = nil) {
        self.schemaVersion = schemaVersion
        self.name = name
        self.description = description
        self.notes = notes
        self.clockHz = clockHz
        self.otherOperationsPerCycle = otherOperationsPerCycle
        self.operations = operations
        self.computeThroughput = computeThroughput
        self.memories = memories
        self.randomBitEnergyPicojoules = randomBitEnergyPicojoules
    }

    /// Energy of one `kind` operation at `precision`, if the profile gives it.
    public func energyPicojoules(_ kind: OperationKind, _ precision: NumericPrecision) -> Double? {
        operations.first { $0.kind == kind && $0.precision == precision }?.energyPicojoules.value
    }

    public func macsPerCycle(_ precision: NumericPrecision) -> Double? {
        computeThroughput.first { $0.precision == precision }?.macsPerCycle.value
    }

    public var onChipMemories: [MemoryLevel] { memories.filter(\.onChip) }
    public var offChipMemory: MemoryLevel? { memories.first { !$0.onChip } }
}

/// A number and where it comes from: "Horowitz, ISSCC 2014, Fig. 1.1.9", a
/// datasheet table, or "assumption: ..." with the reasoning.
public struct SourcedValue: Codable, Equatable, Sendable {
    public var value: Double
    public var source: String

    public init(_ value: Double, source: String) {
        self.value = value
        self.source = source
    }
}

/// The operations a profile prices.
public enum OperationKind: String, Codable, CaseIterable, Sendable {
    /// Multiply-accumulate inside a matrix product (multiply at the operand
    /// precision, accumulate at the accumulator's).
    case mac
    case add
    case multiply
    case compare
    case exp
    case divide
}

/// Operand precisions a profile can price.
public enum NumericPrecision: String, Codable, CaseIterable, Sendable {
    case int8, int16, int32, fp16, fp32
}

public struct OperationEnergy: Codable, Equatable, Sendable {
    public var kind: OperationKind
    public var precision: NumericPrecision
    public var energyPicojoules: SourcedValue

    public init(kind: OperationKind, precision: NumericPrecision, energyPicojoules: SourcedValue) {
        self.kind = kind
        self.precision = precision
        self.energyPicojoules = energyPicojoules
    }
}

public struct ComputeThroughput: Codable, Equatable, Sendable {
    public var precision: NumericPrecision
    public var macsPerCycle: SourcedValue

    public init(precision: NumericPrecision, macsPerCycle: SourcedValue) {
        self.precision = precision
        self.macsPerCycle = macsPerCycle
    }
}

/// One level of the memory hierarchy.
public struct MemoryLevel: Codable, Equatable, Sendable {
    public var name: String
    /// On-chip levels hold the working set; the one off-chip level takes what spills.
    public var onChip: Bool
    public var sizeBytes: SourcedValue
    public var readEnergyPicojoulesPerByte: SourcedValue
    public var writeEnergyPicojoulesPerByte: SourcedValue
    public var bandwidthBytesPerCycle: SourcedValue

    public init(name: String, onChip: Bool, sizeBytes: SourcedValue, readEnergyPicojoulesPerByte: SourcedValue,
                writeEnergyPicojoulesPerByte: SourcedValue, bandwidthBytesPerCycle: SourcedValue) {
        self.name = name
        self.onChip = onChip
        self.sizeBytes = sizeBytes
        self.readEnergyPicojoulesPerByte = readEnergyPicojoulesPerByte
        self.writeEnergyPicojoulesPerByte = writeEnergyPicojoulesPerByte
        self.bandwidthBytesPerCycle = bandwidthBytesPerCycle
    }

    public var capacityBytes: Int { Int(sizeBytes.value) }
}
