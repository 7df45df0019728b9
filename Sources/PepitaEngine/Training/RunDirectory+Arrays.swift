import Foundation
import Quantized

/// Reading the `.npy` arrays of a run directory, `--init` folder or checkpoint,
/// with every check a file from elsewhere needs: the shape the model expects, a
/// finite value everywhere, and for integer codes a sidecar (`W0.json`) whose
/// format is valid and holds every code.
extension RunDirectory {
    /// The array in `file` as real numbers: float files as they are, integer codes
    /// scaled by the sidecar's `2^-fractionalBits` when a sidecar is there.
    /// - Throws: `FileError` or `NPYError` naming the file and the problem.
    static func readArray(_ file: String, expectedShape: [Int]) throws -> NPYArray {
        var array = try readChecked(file, expectedShape: expectedShape)
        if let sidecar = try readSidecar(of: file) {
            try checkCodes(array, fit: sidecar.fixedPointFormat, file: file)
            let step = Float(sidecar.fixedPointFormat.step)
            array.values = array.values.map { $0 * step }
        }
        return array
    }

    /// The integer codes in `file`, which must come with a sidecar giving exactly `format`.
    static func readCodes(_ file: String, expectedShape: [Int], format: FixedPointFormat) throws -> [Int16] {
        let array = try readChecked(file, expectedShape: expectedShape)
        guard let sidecar = try readSidecar(of: file) else {
            throw FileError(path: sidecarPath(of: file), reason: "missing (integer codes need their format)")
        }
        guard sidecar.fixedPointFormat == format else {
            throw FileError(path: sidecarPath(of: file), reason: "format \(sidecar.fixedPointFormat) differs from the run's \(format)")
        }
        try checkCodes(array, fit: format, file: file)
        return array.values.map { Int16($0) }
    }

    /// Shape and finiteness checked; the file's size checked against the shape
    /// before it is read (no value is larger than 8 bytes).
    private static func readChecked(_ file: String, expectedShape: [Int]) throws -> NPYArray {
        guard FileManager.default.fileExists(atPath: file) else {
            throw FileError(path: file, reason: "missing (expected shape \(expectedShape))")
        }
        let maxBytes = (NPY.elementCount(expectedShape) ?? 0) * 8 + NPY.maxHeaderBytes + 16
        let array = try NPYArray(contentsOfFile: file, maxBytes: maxBytes)
        guard array.shape == expectedShape else {
            throw FileError(path: file, reason: "shape \(array.shape) does not match the model's \(expectedShape)")
        }
        if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
            throw FileError(path: file, reason: "value \(bad) is not finite (\(array.values[bad]))")
        }
        return array
    }

    private static func sidecarPath(of file: String) -> String { String(file.dropLast(4)) + ".json" }

    private static func readSidecar(of file: String) throws -> FixedPointSidecar? {
        let path = sidecarPath(of: file)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let sidecar = try StrictJSON.read(FixedPointSidecar.self, from: path)
        do {
            try sidecar.fixedPointFormat.validate()
        } catch {
            throw FileError(path: path, reason: "invalid format: \(error)")
        }
        return sidecar
    }

    private static func checkCodes(_ array: NPYArray, fit format: FixedPointFormat, file: String) throws {
        let low = Float(format.minCode), high = Float(format.maxCode)
        if let bad = array.values.firstIndex(where: { $0 < low || $0 > high || $0.rounded() != $0 }) {
            throw FileError(path: file, reason: "value \(bad) (\(array.values[bad])) is not a code of \(format) (whole numbers \(format.minCode)...\(format.maxCode))")
        }
    }
}

extension FixedPointSidecar {
    /// The format the codes are in.
    var fixedPointFormat: FixedPointFormat {
        FixedPointFormat(totalBits: totalBits, fractionalBits: fractionalBits, signed: signed)
    }
}
