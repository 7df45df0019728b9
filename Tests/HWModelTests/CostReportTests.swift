import Foundation
import HWModel
import Quantized
import XCTest

/// `CostModel.report`: one struct with the inputs, assumptions and every figure.
final class CostReportTests: XCTestCase {
    private let fc784 = NetworkShape.fullyConnected([784, 1024, 10])

    private func report(_ network: NetworkShape, _ rule: TrainingRule, batch: Int = 64, precision: String = "float32",
                        profile: String = "horowitz-45nm", samples: Int? = nil) throws -> CostReport {
        try CostModel.report(network: network, rule: rule, batch: batch, precision: PrecisionConfig.preset(named: precision)!,
                             profile: TestNetworks.shippedProfile(profile), samplesPerEpoch: samples)
    }

    func testPerSampleMacsOfFC784MatchTheMeasuredFigures() throws {
        XCTAssertEqual(try report(fc784, .pepita).perSample.macs, 2_447_008)
        XCTAssertEqual(try report(fc784, .bp).perSample.macs, 1_636_352)
        let byPhase = try report(fc784, .pepita).perSampleByPhase.map { ($0.phase, $0.figures.macs) }
        XCTAssertEqual(byPhase.map(\.0), [.forward, .errorProjection, .modulatedForward, .update, .optimiser])
        XCTAssertEqual(byPhase.map(\.1), [813_056, 7_840, 813_056, 813_056, 0])
    }

    func testTheReportRepeatsItsInputsAndAssumptions() throws {
        let priced = try report(TestNetworks.net1conv1fcXL, .pepita, batch: 50, precision: "int8", profile: "cortex-m4")
        XCTAssertEqual(priced.schemaVersion, CostReport.currentSchemaVersion)
        XCTAssertEqual(priced.inputs.network, TestNetworks.net1conv1fcXL)
        XCTAssertEqual(priced.inputs.rule, .pepita)
        XCTAssertEqual(priced.inputs.batch, 50)
        XCTAssertEqual(priced.inputs.precisionName, "int8")
        XCTAssertEqual(priced.inputs.profileName, "cortex-m4")
        XCTAssertEqual(priced.inputs.options.pepitaLastLayerError, .firstPass, "the conv family's default, resolved")
        XCTAssertEqual(priced.inputs.elementSizes.weightBytes, 1)
        XCTAssertEqual(priced.assumptions.dataflow, CostModel.dataflowAssumption)
        XCTAssertEqual(priced.assumptions.schedule, StorageModel.pepitaSchedule)
        XCTAssertNil(try report(fc784, .bp).inputs.options.pepitaLastLayerError)
    }

    func testTheReportRoundTripsThroughJSON() throws {
        let priced = try report(TestNetworks.tinyConv, .dfa, batch: 2, precision: "int16", profile: "int8-edge-accelerator", samples: 5)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(priced)
        XCTAssertEqual(try JSONDecoder().decode(CostReport.self, from: data), priced)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"schemaVersion\":2"))
        XCTAssertTrue(text.contains("\"energyPicojoules\""))
    }

    func testStepAndSampleFiguresAreTheSumsOfThePhases() throws {
        let priced = try report(fc784, .bp, precision: "int8", profile: "int8-edge-accelerator")
        XCTAssertEqual(priced.perStep.energyPicojoules, priced.phases.reduce(0) { $0 + $1.energy.energyPicojoules }, accuracy: 1e-3)
        XCTAssertEqual(priced.perStep.latencyCycles, priced.phases.reduce(0) { $0 + $1.latencyCycles }, accuracy: 1e-6)
        XCTAssertEqual(priced.perSample.energyPicojoules, priced.perStep.energyPicojoules / 64, accuracy: 1e-6)
        XCTAssertEqual(priced.perStep.latencySeconds, priced.perStep.latencyCycles / 500e6, accuracy: 1e-12)
        XCTAssertEqual(priced.perStep.bytesRead, Double(priced.traffic.bytesRead))
        // int8 products on the int8 array.
        XCTAssertEqual(Set(priced.phases.flatMap { $0.energy.macs.map(\.precision) }), [.int8])
    }

    func testAnEpochAddsTheLastPartialBatch() throws {
        let priced = try report(TestNetworks.tinyFC, .pepita, batch: 2, samples: 5)
        let epoch = try XCTUnwrap(priced.perEpoch)
        XCTAssertEqual(epoch.fullBatches, 2)
        XCTAssertEqual(epoch.lastBatchSize, 1)
        let one = try report(TestNetworks.tinyFC, .pepita, batch: 1)
        XCTAssertEqual(epoch.figures.macs, 2 * priced.perStep.macs + one.perStep.macs)
        XCTAssertEqual(epoch.figures.energyPicojoules, 2 * priced.perStep.energyPicojoules + one.perStep.energyPicojoules,
                       accuracy: 1e-6)
        XCTAssertEqual(epoch.operations.total.macs, Int(epoch.figures.macs))
    }

    /// Every shipped profile prices the benchmark cases without a gap in its tables.
    func testEveryProfilePricesTheBenchmarkCases() throws {
        for profile in HardwareProfileTests.shippedNames {
            for network in [fc784, TestNetworks.net1conv1fcXL] {
                for precision in ["float32", "int8", "int16"] {
                    for rule in TrainingRule.engineRules {
                        let priced = try report(network, rule, precision: precision, profile: profile)
                        XCTAssertGreaterThan(priced.perSample.energyPicojoules, 0)
                        XCTAssertTrue(priced.phases.allSatisfy { $0.bound == "compute" || $0.bound.hasPrefix("memory:") })
                    }
                }
            }
        }
    }

    func testFC784DoesNotFitAMicrocontrollerAndSaysWhatSpills() throws {
        let priced = try report(fc784, .pepita, precision: "int8", profile: "cortex-m4")
        XCTAssertFalse(priced.placement.fitsOnChip)
        XCTAssertEqual(priced.placement.servingLevel, "sram")
        XCTAssertEqual(priced.placement.offChipLevel, "external-sram")
        XCTAssertEqual(priced.placement.spilledBytes, priced.storage.peakBytes - 196_608)
    }
}
