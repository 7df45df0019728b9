/// Reader for the IDX format MNIST, Fashion-MNIST and the embedded digits use.
///
/// An IDX file is a big-endian header followed by raw unsigned bytes:
/// images are `0x00000803, count, rows, columns` then `count x rows x columns`
/// pixels, row-major; labels are `0x00000801, count` then `count` label bytes.
/// (The magic's third byte, `08`, is the element type "unsigned byte"; the fourth is
/// the number of dimensions.)
///
/// The header is checked against the actual byte count before anything is
/// allocated, so a damaged header cannot trigger a huge allocation, and a file that
/// is shorter or longer than its header says is rejected rather than partly loaded.
/// Input may be gzip-compressed (see `Gzip`).
public enum IDXReader {
    /// Magic number of an IDX file of unsigned-byte images (3 dimensions).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic number of an IDX file of unsigned-byte labels (1 dimension).
    public static let labelsMagic: UInt32 = 0x0000_0801
    /// The largest image accepted, in pixels (4096 x 4096): far above any dataset
    /// here, small enough that a damaged header is named as such.
    public static let maxPixelsPerImage = 1 << 24

    /// The samples in an image file and its label file.
    ///
    /// Pixels are scaled to [0, 1] as `Float(byte) / 255` (a correctly rounded
    /// division, so values equal numpy's `x.astype(np.float32) / 255`); the sample
    /// shape is `1 x rows x columns`.
    ///
    /// - Throws: `DatasetError` if either file is unreadable, truncated, has extra
    ///   bytes or the wrong magic, holds no image, if the counts differ, or if a
    ///   label is not below `classCount`.
    public static func samples(imagesFile: String, labelsFile: String, classCount: Int = 10) throws -> LabelledSamples {
        let imageBytes = try Gzip.contentsOfFile(atPath: imagesFile)
        let labelBytes = try Gzip.contentsOfFile(atPath: labelsFile)
        return try samples(imageBytes: imageBytes, imagesFile: imagesFile,
                           labelBytes: labelBytes, labelsFile: labelsFile, classCount: classCount)
    }

    /// The samples in IDX bytes already in memory (uncompressed); the file names
    /// are used only in error messages. Same contract as `samples(imagesFile:labelsFile:classCount:)`.
    public static func samples(imageBytes: [UInt8], imagesFile: String,
                               labelBytes: [UInt8], labelsFile: String,
                               classCount: Int = 10) throws -> LabelledSamples {
        let labels = try parseLabels(labelBytes, file: labelsFile, classCount: classCount)
        let images = try parseImages(imageBytes, file: imagesFile)
        guard images.count == labels.count else {
            throw DatasetError.countMismatch(imagesFile: imagesFile, images: images.count,
                                             labelsFile: labelsFile, labels: labels.count)
        }
        return LabelledSamples(shape: images.shape, classCount: classCount, pixels: images.pixels, labels: labels)
    }

    /// Images of an IDX image file: their count, their shape and the scaled pixels.
    static func parseImages(_ bytes: [UInt8], file: String) throws -> (count: Int, shape: SampleShape, pixels: [Float]) {
        let headerBytes = 16
        let header = try readHeader(bytes, file: file, magic: imagesMagic, headerBytes: headerBytes)
        let count = header[0], rows = header[1], columns = header[2]
        guard count > 0 else {
            throw DatasetError.badHeader(file: file, reason: "the file holds no images")
        }
        guard rows > 0, columns > 0 else {
            throw DatasetError.badHeader(file: file, reason: "image size \(rows)x\(columns) has a zero dimension")
        }
        let (pixelsPerImage, overflowA) = rows.multipliedReportingOverflow(by: columns)
        guard overflowA || pixelsPerImage <= maxPixelsPerImage else {
            throw DatasetError.badHeader(file: file, reason: "image size \(rows)x\(columns) exceeds the \(maxPixelsPerImage)-pixel limit")
        }
        let (pixelCount, overflowB) = pixelsPerImage.multipliedReportingOverflow(by: count)
        let (expectedBytes, overflowC) = pixelCount.addingReportingOverflow(headerBytes)
        guard !overflowA, !overflowB, !overflowC else {
            throw DatasetError.badHeader(file: file, reason: "\(count) images of \(rows)x\(columns) overflow the addressable size")
        }
        try checkLength(bytes, file: file, expectedBytes: expectedBytes)
        let pixels = bytes[headerBytes...].map { Float($0) / 255 }
        return (count, SampleShape(channels: 1, height: rows, width: columns), pixels)
    }

    /// Labels of an IDX label file, each checked to be below `classCount`.
    static func parseLabels(_ bytes: [UInt8], file: String, classCount: Int) throws -> [Int32] {
        let headerBytes = 8
        let count = try readHeader(bytes, file: file, magic: labelsMagic, headerBytes: headerBytes)[0]
        try checkLength(bytes, file: file, expectedBytes: headerBytes + count)
        var labels = [Int32]()
        labels.reserveCapacity(count)
        for (index, byte) in bytes[headerBytes...].enumerated() {
            guard Int(byte) < classCount else {
                throw DatasetError.labelOutOfRange(file: file, index: index, label: Int(byte), classCount: classCount)
            }
            labels.append(Int32(byte))
        }
        return labels
    }

    /// The magic checked and the header's dimension fields (big-endian UInt32s after
    /// the magic) decoded.
    private static func readHeader(_ bytes: [UInt8], file: String, magic: UInt32, headerBytes: Int) throws -> [Int] {
        guard bytes.count >= 4 else {
            throw DatasetError.truncated(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        let found = bigEndianUInt32(bytes, at: 0)
        guard found == magic else {
            throw DatasetError.badMagic(file: file, found: found, expected: magic)
        }
        guard bytes.count >= headerBytes else {
            throw DatasetError.truncated(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        return stride(from: 4, to: headerBytes, by: 4).map { Int(bigEndianUInt32(bytes, at: $0)) }
    }

    private static func checkLength(_ bytes: [UInt8], file: String, expectedBytes: Int) throws {
        if bytes.count < expectedBytes {
            throw DatasetError.truncated(file: file, expectedBytes: expectedBytes, actualBytes: bytes.count)
        }
        if bytes.count > expectedBytes {
            throw DatasetError.trailingBytes(file: file, expectedBytes: expectedBytes, actualBytes: bytes.count)
        }
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset ..< offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
