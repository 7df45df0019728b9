import PepitaEngine
import XCTest

final class ValidationSplitTests: XCTestCase {
    /// Ten 1x1x2 samples; sample i has pixels (i, i + 0.5) / 10 and label i.
    private func tenSamples() -> Dataset {
        let pixels = (0 ..< 10).flatMap { [Float($0) / 10, (Float($0) + 0.5) / 10] }
        let samples = LabelledSamples(shape: SampleShape(channels: 1, height: 1, width: 2), classCount: 10,
                                      pixels: pixels, labels: (0 ..< 10).map(Int32.init))
        return Dataset(name: "ten", source: "memory", train: samples, test: samples)
    }

    func testTheLastRoundedFractionOfTrainingSamplesBecomesValidation() throws {
        let split = try tenSamples().splittingValidation(fraction: 0.25)  // 2.5 rounds away from zero to 3
        XCTAssertEqual(split.train.labels, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(split.validation?.labels, [7, 8, 9])
        XCTAssertEqual(split.validation?.pixels, [0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
        XCTAssertEqual(split.train.pixels.count, 14)
        XCTAssertEqual(split.test.count, 10)
    }

    func testZeroFractionLeavesTheDatasetUnchanged() throws {
        let split = try tenSamples().splittingValidation(fraction: 0)
        XCTAssertNil(split.validation)
        XCTAssertEqual(split.train.count, 10)
    }

    func testSplitIsDeterministic() throws {
        let first = try tenSamples().splittingValidation(fraction: 0.3)
        let second = try tenSamples().splittingValidation(fraction: 0.3)
        XCTAssertEqual(first.validation?.labels, second.validation?.labels)
        XCTAssertEqual(first.validation?.labels, [7, 8, 9])
    }

    func testFractionOutsideZeroToOneThrowsOneLineMessage() {
        for fraction in [-0.1, 1, 1.5, .nan] {
            XCTAssertThrowsError(try tenSamples().splittingValidation(fraction: fraction), "\(fraction)") { error in
                guard case DatasetError.invalidValidationFraction? = error as? DatasetError else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testFractionSelectingNoSampleOrEverySampleThrows() {
        for fraction in [0.01, 0.96] {
            XCTAssertThrowsError(try tenSamples().splittingValidation(fraction: fraction), "\(fraction)") { error in
                guard case DatasetError.invalidValidationFraction? = error as? DatasetError else { return XCTFail("\(error)") }
            }
        }
    }

    func testCatalogSplitsTheEmbeddedDigits() throws {
        let dataset = try DatasetCatalog.load(name: "digits", dataDirectory: nil, validationFraction: 0.1)
        XCTAssertEqual(dataset.validation?.count, 144)  // round(143.7)
        XCTAssertEqual(dataset.train.count, 1293)
        XCTAssertEqual(dataset.test.count, 360)
    }

    func testCatalogRejectsAnInvalidFractionBeforeLoading() {
        XCTAssertThrowsError(try DatasetCatalog.load(name: "mnist", dataDirectory: "/nonexistent", validationFraction: 1)) { error in
            guard case DatasetError.invalidValidationFraction? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }
}
