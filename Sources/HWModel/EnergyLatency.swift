import Quantized

/// Energy of one phase by component: MACs per precision, other operations,
/// each memory level's reads and writes, stochastic rounding's random bits. Each entry is a count times a
/// per-action energy from the profile (STYLE 17: counts and table stay separate
/// inputs; this is their product).
public struct EnergyBreakdown: Codable, Equatable, Sendable {
    public var macs: [MacEnergy]
    public var otherOperations: [OtherOperationEnergy]
    public var memories: [MemoryEnergy]
    /// The random bits stochastic rounding draws in this phase; nil when it draws none.
    public var randomBits: RandomBitEnergy?
    public var energyPicojoules: Double

    public init(macs: [MacEnergy], otherOperations: [OtherOperationEnergy], memories: [MemoryEnergy],
                randomBits: RandomBitEnergy? = nil) {
        self.macs = macs
        self.otherOperations = otherOperations
        self.memories = memories
        self.randomBits = randomBits
        energyPicojoules = macs.reduce(0) { $0 + $1.energyPicojoules }
            + otherOperations.reduce(0) { $0 + $1.energyPicojoules }
            + memories.reduce(0) { $0 + $1.readEnergyPicojoules + $1.writeEnergyPicojoules }
            + (randomBits?.energyPicojoules ?? 0)
    }
}

/// Random bits drawn by stochastic rounding, priced when the profile gives an
/// energy per random bit and otherwise counted but not priced (energy 0, said
/// so in the report's pricing notes).
public struct RandomBitEnergy: Codable, Equatable, Sendable {
    public var randomBits: Int
    /// nil: the profile has no `randomBitEnergyPicojoules`, so the bits are not priced.
    public var energyPicojoulesPerBit: Double?
    public var energyPicojoules: Double

    public init(randomBits: Int, energyPicojoulesPerBit: Double?) {
        self.randomBits = randomBits
        self.energyPicojoulesPerBit = energyPicojoulesPerBit
        energyPicojoules = energyPicojoulesPerBit.map { Double(randomBits) * $0 } ?? 0
    }
}

public struct MacEnergy: Codable, Equatable, Sendable {
    public var precision: NumericPrecision
    public var macs: Int
    public var energyPicojoulesPerMac: Double
    public var energyPicojoules: Double

    public init(precision: NumericPrecision, macs: Int, energyPicojoulesPerMac: Double) {
        self.precision = precision
        self.macs = macs
        self.energyPicojoulesPerMac = energyPicojoulesPerMac
        energyPicojoules = Double(macs) * energyPicojoulesPerMac
    }
}

public struct OtherOperationEnergy: Codable, Equatable, Sendable {
    public var kind: OperationKind
    public var precision: NumericPrecision
    public var count: Int
    public var energyPicojoulesPerOperation: Double
    public var energyPicojoules: Double
}

public struct MemoryEnergy: Codable, Equatable, Sendable {
    public var level: String
    /// Fractional when a spilled kind's traffic is split between levels.
    public var bytesRead: Double
    public var bytesWritten: Double
    public var readEnergyPicojoules: Double
    public var writeEnergyPicojoules: Double

    public init(level: String, bytesRead: Double, bytesWritten: Double, readEnergyPicojoules: Double, writeEnergyPicojoules: Double) {
        self.level = level
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.readEnergyPicojoules = readEnergyPicojoules
        self.writeEnergyPicojoules = writeEnergyPicojoules
    }
}

public struct LevelCycles: Codable, Equatable, Sendable {
    public var level: String
    public var cycles: Double

    public init(level: String, cycles: Double) {
        self.level = level
        self.cycles = cycles
    }
}

/// One phase's counts, energy and roofline latency.
public struct PhaseCost: Codable, Equatable, Sendable {
    public var phase: TrainingPhase
    public var operations: OperationCounts
    public var bytesRead: Int
    public var bytesWritten: Int
    public var energy: EnergyBreakdown
    /// MACs / MACs-per-cycle at each product's precision, plus other operations / their rate.
    public var computeCycles: Double
    /// Bytes read and written at each level / its bandwidth.
    public var memoryCycles: [LevelCycles]
    /// The largest of `computeCycles` and every `memoryCycles`.
    public var latencyCycles: Double
    /// `compute` or `memory:<level>`: what sets `latencyCycles`.
    public var bound: String
}

/// Prices counted operations and traffic on a hardware profile: energy by
/// component, latency per phase by a roofline.
public enum EnergyLatency {
    public static let pricingAssumption = """
        Energy = count x energy per action from the profile. A product's MACs are priced at its operands' \
        precision: fp32 for a float32 config; in fixed point int8 when both operand roles are 8 bits or fewer, \
        else int16 (accumulation in int32 either way). Other operations act on accumulator sums or widened \
        codes and are priced at int32 (fp32 for float32). Memory energy = bytes read x read energy per byte + \
        bytes written x write energy per byte at the level that holds the data (see the placement policy). \
        Static/leakage energy and control overhead are not included unless the profile's per-operation figures include them.
        """

    public static let rooflineAssumption = """
        Per phase: compute cycles = sum over precisions of MACs / MACs per cycle, plus other operations / \
        other operations per cycle; memory cycles = bytes moved at a level / its bandwidth in bytes per cycle; \
        phase latency = the largest of these (compute and memory overlap perfectly), its bound named \
        `compute` or `memory:<level>`. Step latency = sum of phase latencies.
        """

    /// The precision a product of operands in `leftRole` and `rightRole` runs at.
    public static func macPrecision(_ leftRole: TensorRole, _ rightRole: TensorRole,
                                    precision: PrecisionConfig) throws -> NumericPrecision {
        if precision.isFloat { return .fp32 }
        var bits = 0
        for role in [leftRole, rightRole] {
            guard let format = precision.roles[role] else {
                throw CostModelError.precisionRoleMissing(config: precision.name, role: role)
            }
            bits = max(bits, format.bits)
        }
        return bits <= 8 ? .int8 : .int16
    }

    /// What the report must say about pricing beyond `pricingAssumption` for
    /// this precision and profile: accumulators wider than the profile's int32
    /// MAC figures assume, and random bits counted but not priced.
    public static func pricingNotes(precision: PrecisionConfig, profile: HardwareProfile,
                                    stochasticNarrowings: [StochasticNarrowings]) -> [String] {
        var notes: [String] = []
        if !precision.isFloat && precision.accumulatorBits != 32 {
            notes.append("\(precision.name): accumulators are \(precision.accumulatorBits) bits; MACs are still priced at the profile's "
                         + "int8/int16 MAC figures, which assume a 32-bit accumulator")
        }
        let bits = stochasticNarrowings.reduce(0) { $0 + $1.randomBits }
        if bits > 0 {
            if let perBit = profile.randomBitEnergyPicojoules {
                notes.append("\(precision.name): stochastic rounding draws \(bits) random bits per step, priced at "
                             + "\(perBit.value) pJ per bit (\(perBit.source))")
            } else {
                notes.append("\(precision.name): stochastic rounding draws \(bits) random bits per step; not priced "
                             + "(profile \(profile.name) gives no randomBitEnergyPicojoules)")
            }
        }
        return notes
    }

    /// The precision of every non-MAC operation.
    public static func otherOperationPrecision(_ precision: PrecisionConfig) -> NumericPrecision {
        precision.isFloat ? .fp32 : .int32
    }

    /// Energy and latency of every phase of a step.
    /// `stochasticNarrowings` (from `CostModel.stochasticNarrowings`) adds each
    /// phase's random bits as an energy component (priced if the profile can).
    public static func price(operations: StepOperations, traffic: StepTraffic, placement: MemoryPlacement,
                             precision: PrecisionConfig, profile: HardwareProfile,
                             stochasticNarrowings: [StochasticNarrowings] = []) throws -> [PhaseCost] {
        func energy(_ kind: OperationKind, _ numeric: NumericPrecision) throws -> Double {
            guard let value = profile.energyPicojoules(kind, numeric) else {
                throw CostModelError.profileLacks(profile: profile.name,
                                                  what: "operations: no energy for \(kind.rawValue) at \(numeric.rawValue)")
            }
            return value
        }
        guard let servingLevel = profile.memories.first(where: { $0.name == placement.servingLevel }) else {
            throw CostModelError.profileLacks(profile: profile.name,
                                              what: "memories: no level '\(placement.servingLevel)' (the placement was made for another profile)")
        }
        let spillLevel = profile.offChipMemory ?? servingLevel
        let otherPrecision = otherOperationPrecision(precision)

        return try operations.phases.map { phase in
            // MACs by precision, from the products' operand roles.
            var macsByPrecision: [NumericPrecision: Int] = [:]
            for product in phase.products {
                macsByPrecision[try macPrecision(product.leftRole, product.rightRole, precision: precision), default: 0] += product.macs
            }
            let macs = try NumericPrecision.allCases.compactMap { numeric -> MacEnergy? in
                guard let count = macsByPrecision[numeric], count > 0 else { return nil }
                return MacEnergy(precision: numeric, macs: count, energyPicojoulesPerMac: try energy(.mac, numeric))
            }
            let total = phase.total
            let others: [(OperationKind, Int)] = [(.add, total.adds), (.multiply, total.multiplies), (.compare, total.compares),
                                                  (.exp, total.exps), (.divide, total.divides)]
            let otherEnergy = try others.filter { $0.1 > 0 }.map { kind, count in
                let each = try energy(kind, otherPrecision)
                return OtherOperationEnergy(kind: kind, precision: otherPrecision, count: count,
                                            energyPicojoulesPerOperation: each, energyPicojoules: Double(count) * each)
            }

            // Traffic split between the serving level and the spill level.
            let phaseTraffic = traffic[phase.phase] ?? PhaseTraffic(phase: phase.phase, kinds: [])
            var read: [String: Double] = [:], written: [String: Double] = [:]
            for entry in phaseTraffic.kinds {
                let spilled = placement.spilledFraction(entry.kind)
                read[servingLevel.name, default: 0] += Double(entry.bytesRead) * (1 - spilled)
                written[servingLevel.name, default: 0] += Double(entry.bytesWritten) * (1 - spilled)
                if spilled > 0 {
                    read[spillLevel.name, default: 0] += Double(entry.bytesRead) * spilled
                    written[spillLevel.name, default: 0] += Double(entry.bytesWritten) * spilled
                }
            }
            let levels = profile.memories.filter { read[$0.name] != nil || written[$0.name] != nil }
            let memoryEnergy = levels.map { level in
                MemoryEnergy(level: level.name, bytesRead: read[level.name] ?? 0, bytesWritten: written[level.name] ?? 0,
                             readEnergyPicojoules: (read[level.name] ?? 0) * level.readEnergyPicojoulesPerByte.value,
                             writeEnergyPicojoules: (written[level.name] ?? 0) * level.writeEnergyPicojoulesPerByte.value)
            }

            let randomBits = stochasticNarrowings.filter { $0.phase == phase.phase }.reduce(0) { $0 + $1.randomBits }
            let randomBitEnergy = randomBits > 0
                ? RandomBitEnergy(randomBits: randomBits, energyPicojoulesPerBit: profile.randomBitEnergyPicojoules?.value) : nil

            // Roofline.
            var computeCycles = Double(total.otherOperations) / profile.otherOperationsPerCycle.value
            for entry in macs {
                guard let rate = profile.macsPerCycle(entry.precision) else {
                    throw CostModelError.profileLacks(profile: profile.name,
                                                      what: "computeThroughput: no MACs per cycle at \(entry.precision.rawValue)")
                }
                computeCycles += Double(entry.macs) / rate
            }
            let memoryCycles = levels.map { level in
                LevelCycles(level: level.name,
                            cycles: ((read[level.name] ?? 0) + (written[level.name] ?? 0)) / level.bandwidthBytesPerCycle.value)
            }
            let (latency, bound) = roofline(computeCycles: computeCycles, memoryCycles: memoryCycles)
            return PhaseCost(phase: phase.phase, operations: total, bytesRead: phaseTraffic.bytesRead,
                             bytesWritten: phaseTraffic.bytesWritten,
                             energy: EnergyBreakdown(macs: macs, otherOperations: otherEnergy, memories: memoryEnergy,
                                                     randomBits: randomBitEnergy),
                             computeCycles: computeCycles, memoryCycles: memoryCycles, latencyCycles: latency, bound: bound)
        }
    }

    /// The phase latency and what bounds it: compute unless a memory level takes
    /// strictly longer (the slowest level wins; ties go to the first listed).
    public static func roofline(computeCycles: Double, memoryCycles: [LevelCycles]) -> (latencyCycles: Double, bound: String) {
        var latency = computeCycles, bound = "compute"
        for level in memoryCycles where level.cycles > latency {
            latency = level.cycles
            bound = "memory:\(level.level)"
        }
        return (latency, bound)
    }
}
