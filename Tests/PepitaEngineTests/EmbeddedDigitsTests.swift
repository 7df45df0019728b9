@testable import PepitaEngine
import XCTest

final class EmbeddedDigitsTests: XCTestCase {
    func testDecodesToTheUCIDigitsSplit() throws {
        let dataset = try EmbeddedDigits.dataset()
        XCTAssertEqual(dataset.name, "digits")
        XCTAssertEqual(dataset.source, "embedded")
        XCTAssertEqual(dataset.train.count, 1437)
        XCTAssertEqual(dataset.test.count, 360)
        XCTAssertEqual(dataset.shape, SampleShape(channels: 1, height: 8, width: 8))
        XCTAssertEqual(dataset.test.shape, dataset.shape)
        XCTAssertEqual(dataset.classCount, 10)
        XCTAssertNil(dataset.validation)
    }

    func testEveryClassIsPresentAndClassCountsSumToTheSetSizes() throws {
        let dataset = try EmbeddedDigits.dataset()
        for samples in [dataset.train, dataset.test] {
            var perClass = [Int](repeating: 0, count: 10)
            for label in samples.labels { perClass[Int(label)] += 1 }
            XCTAssertEqual(perClass.reduce(0, +), samples.count)
            XCTAssertTrue(perClass.allSatisfy { $0 > samples.count / 20 }, "\(perClass)")
        }
    }

    func testPixelsAreTheSixteenLevelsRescaledIntoZeroToOne() throws {
        let dataset = try EmbeddedDigits.dataset()
        let levels = Set((0 ... 16).map { Float(Int((Double($0) * 255 / 16).rounded())) / 255 })
        let pixels = dataset.train.pixels + dataset.test.pixels
        XCTAssertEqual(pixels.min(), 0)
        XCTAssertEqual(pixels.max(), 1)
        XCTAssertTrue(pixels.allSatisfy(levels.contains))
    }

    func testEmbeddedFilesEqualTheSharedDataFiles() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/data/digits").standardized
        let pairs = [(EmbeddedDigits.trainImages, "train-images-idx3-ubyte.gz"), (EmbeddedDigits.trainLabels, "train-labels-idx1-ubyte.gz"),
                     (EmbeddedDigits.testImages, "t10k-images-idx3-ubyte.gz"), (EmbeddedDigits.testLabels, "t10k-labels-idx1-ubyte.gz")]
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw XCTSkip("\(folder.path) not present")
        }
        for (base64, name) in pairs {
            let original = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
            XCTAssertEqual(EmbeddedDigits.compressedBytes(base64), original, name)
        }
    }
}
