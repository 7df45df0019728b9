import HWModel
import Quantized
import XCTest

/// `EnergyLatency` and `MemoryPlacement`: energy is counts times the table, the
/// roofline names its bound, and what does not fit on chip spills.
final class EnergyLatencyTests: XCTestCase {
    private func value(_ number: Double) -> SourcedValue { SourcedValue(number, source: "test") }

    /// A profile with round numbers: fp32 MAC 2 pJ, add 0.5, multiply 0.25, compare 0.125,
    /// exp 10, divide 20; 4 fp32 MACs and 2 other operations per cycle; a 1 MB SRAM read 1 pJ/B,
    /// write 2 pJ/B, 4 B/cycle; DRAM read 100 pJ/B, write 200 pJ/B, 1 B/cycle.
    private func handProfile(sramBytes: Double = 1_048_576, dramBytes: Double = 1_073_741_824,
                             randomBitEnergy: SourcedValue? = nil) -> HardwareProfile {
        let operations: [(OperationKind, NumericPrecision, Double)] = [
            (.mac, .fp32, 2), (.add, .fp32, 0.5), (.multiply, .fp32, 0.25), (.compare, .fp32, 0.125),
            (.exp, .fp32, 10), (.divide, .fp32, 20), (.mac, .int8, 0.5), (.mac, .int16, 1),
            (.add, .int32, 0.5), (.multiply, .int32, 0.25), (.compare, .int32, 0.125), (.exp, .int32, 10), (.divide, .int32, 20),
        ]
        return HardwareProfile(
            name: "hand", description: "round numbers", clockHz: value(1e6), otherOperationsPerCycle: value(2),
            operations: operations.map { OperationEnergy(kind: $0.0, precision: $0.1, energyPicojoules: value($0.2)) },
            computeThroughput: [ComputeThroughput(precision: .fp32, macsPerCycle: value(4)),
                                ComputeThroughput(precision: .int8, macsPerCycle: value(16)),
                                ComputeThroughput(precision: .int16, macsPerCycle: value(8))],
            memories: [
                MemoryLevel(name: "sram", onChip: true, sizeBytes: value(sramBytes), readEnergyPicojoulesPerByte: value(1),
                            writeEnergyPicojoulesPerByte: value(2), bandwidthBytesPerCycle: value(4)),
                MemoryLevel(name: "dram", onChip: false, sizeBytes: value(dramBytes), readEnergyPicojoulesPerByte: value(100),
                            writeEnergyPicojoulesPerByte: value(200), bandwidthBytesPerCycle: value(1)),
            ], randomBitEnergyPicojoules: randomBitEnergy)
    }

    private func priced(_ network: NetworkShape, _ rule: TrainingRule, precision: String = "float32",
                        profile: HardwareProfile) throws -> (MemoryPlacement, [PhaseCost]) {
        let config = PrecisionConfig.preset(named: precision)!
        let sizes = try ElementSizes(precision: config)
        let operations = try CostModel.operations(network: network, rule: rule, batch: 2)
        let traffic = try CostModel.traffic(network: network, rule: rule, batch: 2, sizes: sizes)
        let storage = try StorageModel.peak(network: network, rule: rule, batch: 2, sizes: sizes)
        let placement = MemoryPlacement(storage: storage, traffic: traffic, profile: profile)
        return (placement, try EnergyLatency.price(operations: operations, traffic: traffic, placement: placement,
                                                   precision: config, profile: profile))
    }

    /// BP forward on fc 4-3-2, B = 2, float32: 36 MACs, 8 adds, 10 multiplies, 8 compares, 4 exps,
    /// 2 divides (see OperationCountsTests); 128 bytes read, 40 written (see MemoryTrafficTests).
    func testEnergyIsCountsTimesTheTable() throws {
        let (placement, phases) = try priced(TestNetworks.tinyFC, .bp, profile: handProfile())
        XCTAssertTrue(placement.fitsOnChip)
        XCTAssertEqual(placement.servingLevel, "sram")
        let forward = phases[0]
        XCTAssertEqual(forward.energy.macs, [MacEnergy(precision: .fp32, macs: 36, energyPicojoulesPerMac: 2)])
        // adds 8 * 0.5, multiplies 10 * 0.25, compares 8 * 0.125, exps 4 * 10, divides 2 * 20.
        let otherEnergies: [Double] = [4, 2.5, 1, 40, 40]
        XCTAssertEqual(forward.energy.otherOperations.map(\.energyPicojoules), otherEnergies)
        XCTAssertEqual(forward.energy.memories, [MemoryEnergy(level: "sram", bytesRead: 128, bytesWritten: 40,
                                                              readEnergyPicojoules: 128, writeEnergyPicojoules: 80)])
        // MACs 36 * 2 = 72, other operations 87.5, SRAM 128 * 1 + 40 * 2 = 208.
        let expected: Double = 72 + 87.5 + 208
        XCTAssertEqual(forward.energy.energyPicojoules, expected)
        // Roofline: compute 36 / 4 + 32 / 2 = 25 cycles; memory 168 / 4 = 42 cycles: memory bound.
        XCTAssertEqual(forward.computeCycles, 25)
        XCTAssertEqual(forward.memoryCycles, [LevelCycles(level: "sram", cycles: 42)])
        XCTAssertEqual(forward.latencyCycles, 42)
        XCTAssertEqual(forward.bound, "memory:sram")
    }

    func testFixedPointProductsArePricedAtTheirOperandsWidth() throws {
        let int8 = PrecisionConfig.preset(named: "int8")!
        XCTAssertEqual(try EnergyLatency.macPrecision(.activations, .weights, precision: int8), .int8)
        var wide = int8
        wide.roles[.projection] = .dynamic(16)
        XCTAssertEqual(try EnergyLatency.macPrecision(.errors, .projection, precision: wide), .int16)
        XCTAssertEqual(try EnergyLatency.macPrecision(.errors, .weights, precision: wide), .int8)
        XCTAssertEqual(try EnergyLatency.macPrecision(.errors, .weights, precision: PrecisionConfig.preset(named: "int16")!), .int16)
        XCTAssertEqual(EnergyLatency.otherOperationPrecision(int8), .int32)

        // A profile without int32 adds: pricing int8 says what is missing.
        var noInt32 = handProfile()
        noInt32.operations.removeAll { $0.precision == .int32 }
        XCTAssertThrowsError(try priced(TestNetworks.tinyFC, .bp, precision: "int8", profile: noInt32)) { error in
            XCTAssertEqual("\(error)", "profile 'hand': operations: no energy for add at int32")
        }
    }

    func testRooflineNamesTheBound() {
        let levels = [LevelCycles(level: "sram", cycles: 50), LevelCycles(level: "dram", cycles: 80)]
        XCTAssertEqual(EnergyLatency.roofline(computeCycles: 100, memoryCycles: levels).bound, "compute")
        XCTAssertEqual(EnergyLatency.roofline(computeCycles: 60, memoryCycles: levels).bound, "memory:dram")
        XCTAssertEqual(EnergyLatency.roofline(computeCycles: 60, memoryCycles: levels).latencyCycles, 80)
        XCTAssertEqual(EnergyLatency.roofline(computeCycles: 10, memoryCycles: [LevelCycles(level: "sram", cycles: 90),
                                                                                LevelCycles(level: "dram", cycles: 80)]).bound,
                       "memory:sram")
        // A tie goes to compute.
        XCTAssertEqual(EnergyLatency.roofline(computeCycles: 80, memoryCycles: levels).bound, "compute")
    }

    /// BP on fc 4-3-2 peaks at 240 bytes (StorageModelTests). With 200 bytes on chip, the kinds
    /// with the most traffic per byte stay and the rest of the last one spills to DRAM.
    func testWhatDoesNotFitSpillsToDRAMAndIsPricedThere() throws {
        let (placement, phases) = try priced(TestNetworks.tinyFC, .bp, profile: handProfile(sramBytes: 200))
        XCTAssertFalse(placement.fitsOnChip)
        XCTAssertEqual(placement.levels, [LevelFit(level: "sram", sizeBytes: 200, holdsPeak: false)])
        XCTAssertEqual(placement.spilledBytes, 40)
        XCTAssertEqual(placement.offChipLevel, "dram")
        // Bytes moved per byte stored over the step: activations 96/24 = 4, weights 240/72 = 3.3,
        // errors 96/40 = 2.4, velocities 144/72 = 2, input 64/32 = 2 (a tie goes to DataKind order).
        // Kept in that order until 200 bytes are used: activations 24, weights 72, errors 40,
        // velocities 64 of 72 (8 spill), input none (32 spill).
        let spilled = Dictionary(uniqueKeysWithValues: placement.kinds.map { ($0.kind, $0.spilledBytes) })
        XCTAssertEqual(spilled, [.weights: 0, .activations: 0, .errors: 0, .optimiserState: 8, .input: 32])
        let optimiser = phases.first { $0.phase == .optimiser }!
        // The optimiser reads and writes 72 bytes of velocities: 8/72 of that at DRAM.
        let dram = optimiser.energy.memories.first { $0.level == "dram" }!
        XCTAssertEqual(dram.bytesRead, 8, accuracy: 1e-9)
        XCTAssertEqual(dram.bytesWritten, 8, accuracy: 1e-9)
        XCTAssertEqual(dram.readEnergyPicojoules + dram.writeEnergyPicojoules, 8 * 100 + 8 * 200, accuracy: 1e-6)
        // dW0 reads x from DRAM (32 bytes at 1 B/cycle = 32 cycles) against 64 SRAM bytes (16 cycles)
        // and 36 / 4 = 9 compute cycles: DRAM bound.
        let gradient = phases.first { $0.phase == .weightGradient }!
        XCTAssertEqual(gradient.bound, "memory:dram")
        XCTAssertEqual(gradient.latencyCycles, 32, accuracy: 1e-9)
    }

    /// BP on fc 4-3-2 with 200 bytes on chip spills 40 bytes (above). A 32-byte DRAM cannot take
    /// them: the placement says so and by how much; a 40-byte DRAM can.
    func testSpillBeyondTheOffChipLevelIsReported() throws {
        let (tight, _) = try priced(TestNetworks.tinyFC, .bp, profile: handProfile(sramBytes: 200, dramBytes: 32))
        XCTAssertEqual(tight.spilledBytes, 40)
        XCTAssertEqual(tight.offChipSizeBytes, 32)
        XCTAssertEqual(tight.offChipOverflowBytes, 8)
        XCTAssertFalse(tight.fitsInMemory)
        XCTAssertEqual(tight.notes, ["40 bytes spill from sram but dram holds only 32: 8 bytes fit nowhere on this profile "
                                     + "(their traffic is priced at dram as if they fit)"])
        let (enough, _) = try priced(TestNetworks.tinyFC, .bp, profile: handProfile(sramBytes: 200, dramBytes: 40))
        XCTAssertEqual(enough.offChipOverflowBytes, 0)
        XCTAssertTrue(enough.fitsInMemory)
        XCTAssertEqual(enough.notes, [])
    }

    /// int8-stochastic on fc 4-3-2, BP, B = 2: the optimiser narrows stochastically once to the
    /// updates format, three times to the velocity format and once to the weights per weight
    /// (18 weights: 5 * 18 = 90 narrowings, 5,760 random bits); the forward pass narrows x (2 * 4 = 8, 512 bits).
    func testStochasticRoundingsRandomBitsArePricedWhenTheProfileCan() throws {
        let config = PrecisionConfig.preset(named: "int8-stochastic")!
        let narrowings = CostModel.stochasticNarrowings(network: TestNetworks.tinyFC, rule: .bp, batch: 2, precision: config)
        XCTAssertEqual(narrowings, [StochasticNarrowings(phase: .forward, role: .modulatedInput, narrowings: 8),
                                    StochasticNarrowings(phase: .optimiser, role: .updates, narrowings: 18),
                                    StochasticNarrowings(phase: .optimiser, role: .optimiserState, narrowings: 54),
                                    StochasticNarrowings(phase: .optimiser, role: .weights, narrowings: 18)])
        XCTAssertEqual(narrowings.map(\.randomBits), [512, 1152, 3456, 1152])

        let unpriced = try CostModel.report(network: TestNetworks.tinyFC, rule: .bp, batch: 2, precision: config,
                                            profile: handProfile())
        let priced = try CostModel.report(network: TestNetworks.tinyFC, rule: .bp, batch: 2, precision: config,
                                          profile: handProfile(randomBitEnergy: value(0.5)))
        let optimiser = { (report: CostReport) in report.phases.first { $0.phase == .optimiser }!.energy }
        XCTAssertEqual(optimiser(unpriced).randomBits, RandomBitEnergy(randomBits: 5760, energyPicojoulesPerBit: nil))
        XCTAssertEqual(optimiser(unpriced).randomBits?.energyPicojoules, 0)
        XCTAssertEqual(optimiser(priced).randomBits?.energyPicojoules, 2880)
        XCTAssertEqual(optimiser(priced).energyPicojoules - optimiser(unpriced).energyPicojoules, 2880, accuracy: 1e-9)
        XCTAssertEqual(priced.perStep.energyPicojoules - unpriced.perStep.energyPicojoules, 0.5 * (5760 + 512), accuracy: 1e-9)
        XCTAssertEqual(unpriced.assumptions.pricingNotes,
                       ["int8-stochastic: stochastic rounding draws 6272 random bits per step; not priced (profile hand gives no randomBitEnergyPicojoules)"])
        XCTAssertEqual(priced.assumptions.pricingNotes,
                       ["int8-stochastic: stochastic rounding draws 6272 random bits per step, priced at 0.5 pJ per bit (test)"])

        // PEPITA also narrows e F^T; round-to-nearest configs and float32 draw nothing.
        let pepita = CostModel.stochasticNarrowings(network: TestNetworks.tinyFC, rule: .pepita, batch: 2, precision: config)
        XCTAssertEqual(pepita.first { $0.phase == .errorProjection }?.narrowings, 8)
        XCTAssertEqual(CostModel.stochasticNarrowings(network: TestNetworks.tinyFC, rule: .pepita, batch: 2,
                                                      precision: PrecisionConfig.preset(named: "int8")!), [])
        XCTAssertEqual(CostModel.stochasticNarrowings(network: TestNetworks.tinyFC, rule: .pepita, batch: 2,
                                                      precision: PrecisionConfig.preset(named: "float32")!), [])
    }

    /// Accumulators take 2, 4 or 8 bytes: a 48-bit accumulator is 8 bytes; and the report says
    /// that MACs are still priced with 32-bit accumulation.
    func testAccumulatorBytesFollowTheConfigsAccumulatorBits() throws {
        XCTAssertEqual([16, 17, 24, 32, 33, 48, 64].map { ElementSizes.accumulatorBytes(bits: $0) }, [2, 4, 4, 4, 8, 8, 8])
        var wide = PrecisionConfig.preset(named: "int16")!
        wide.accumulatorBits = 48
        wide.name = "int16-acc48"
        XCTAssertEqual(try ElementSizes(precision: wide).accumulatorBytes, 8)
        XCTAssertEqual(try ElementSizes(precision: PrecisionConfig.preset(named: "int8")!).accumulatorBytes, 4)
        XCTAssertEqual(try ElementSizes(precision: PrecisionConfig.preset(named: "float32")!).accumulatorBytes, 4)
        let report = try CostModel.report(network: TestNetworks.tinyFC, rule: .pepita, batch: 2, precision: wide, profile: handProfile())
        XCTAssertEqual(report.inputs.elementSizes.accumulatorBytes, 8)
        XCTAssertEqual(report.assumptions.pricingNotes,
                       ["int16-acc48: accumulators are 48 bits; MACs are still priced at the profile's int8/int16 MAC figures, which assume a 32-bit accumulator"])
    }
}
