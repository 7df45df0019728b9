extension LabelledSamples {
    /// FNV-1a (64-bit) over the shape, every label and every pixel's bit
    /// pattern, as 16 hex digits: what a checkpoint records so that a run is
    /// never resumed on different data (another `--data-dir`, a re-downloaded
    /// file) while looking as if it continued. Not a cryptographic hash; it only
    /// has to notice accidents.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ word: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) {
                hash = (hash ^ UInt64((word >> UInt32(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
            }
        }
        for dimension in [shape.channels, shape.height, shape.width, classCount, labels.count] { mix(UInt32(truncatingIfNeeded: dimension)) }
        labels.withUnsafeBufferPointer { buffer in for label in buffer { mix(UInt32(bitPattern: label)) } }
        pixels.withUnsafeBufferPointer { buffer in for pixel in buffer { mix(pixel.bitPattern) } }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
