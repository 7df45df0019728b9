import CZlib
import Foundation

/// Reading files that may or may not be gzip-compressed.
///
/// Dataset files are shipped both raw and gzipped (`train-images-idx3-ubyte` and
/// `train-images-idx3-ubyte.gz`), and users rename them freely, so the content
/// decides: bytes that start with the gzip magic `1f 8b` are inflated, anything else
/// is returned as it is.
///
/// The size stored in a gzip trailer is ignored: it is only the size modulo 2^32 and
/// a damaged file could claim anything. Output grows as zlib produces it, up to a cap.
public enum Gzip {
    /// The largest file, and the largest decompressed content, read by default:
    /// 512 MiB, above every dataset file this toolkit trains on (the largest,
    /// CIFAR-100's `train.bin`, is 154 MB; MNIST's training images 47 MB). The cap
    /// is what stops a gzip bomb: a few kilobytes that inflate to gigabytes stop
    /// here, before memory runs out (the pixels then take 4 bytes each as floats).
    public static let defaultMaxBytes = 1 << 29

    /// The two bytes every gzip member starts with (RFC 1952, ID1 ID2).
    public static let magic: [UInt8] = [0x1f, 0x8b]

    /// Whether `bytes` start with the gzip magic.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == magic[0] && bytes[1] == magic[1]
    }

    /// The content of the file at `path`, inflated if it is gzip data.
    ///
    /// - Throws: `DatasetError.unreadable` if the file is missing or unreadable,
    ///   `.tooLarge` if the file or its content exceeds `maxBytes`,
    ///   `.corruptGzip` if the gzip stream is damaged or truncated.
    public static func contentsOfFile(atPath path: String, maxBytes: Int = defaultMaxBytes) throws -> [UInt8] {
        let bytes = try readRawFile(atPath: path, maxBytes: maxBytes)
        return isCompressed(bytes) ? try decompress(bytes, file: path, maxBytes: maxBytes) : bytes
    }

    /// The gzip data `compressed` inflated; `file` names it in error messages.
    ///
    /// Concatenated gzip members (what `cat a.gz b.gz` makes, and what `gzip` itself
    /// reads as one stream) are inflated one after another. Bytes after the last
    /// member that do not start another member are an error, not ignored.
    ///
    /// - Throws: `DatasetError.corruptGzip` for damaged or truncated data (including
    ///   a CRC mismatch), `.tooLarge` when the output would exceed `maxBytes`.
    public static func decompress(_ compressed: [UInt8], file: String, maxBytes: Int = defaultMaxBytes) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 32: a 32 KiB window with automatic zlib/gzip header detection.
        let status = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw DatasetError.corruptGzip(file: file, reason: "zlib could not start (\(status))")
        }
        defer { inflateEnd(&stream) }

        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        let chunkCapacity = chunk.count
        try compressed.withUnsafeBufferPointer { input in
            guard let inputBase = input.baseAddress else {
                throw DatasetError.corruptGzip(file: file, reason: "empty input")
            }
            var consumed = 0
            while true {
                if stream.avail_in == 0 && consumed < input.count {
                    let feed = min(input.count - consumed, Int(Int32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: inputBase + consumed)
                    stream.avail_in = uInt(feed)
                    consumed += feed
                }
                let (result, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkCapacity)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    return (result, chunkCapacity - Int(stream.avail_out))
                }
                if output.count + produced > maxBytes {
                    throw DatasetError.tooLarge(file: file, limitBytes: maxBytes)
                }
                output.append(contentsOf: chunk[0 ..< produced])

                switch result {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    break
                case Z_BUF_ERROR where stream.avail_in == 0 && consumed < input.count:
                    continue
                case Z_BUF_ERROR:
                    throw DatasetError.corruptGzip(file: file, reason: "the compressed data ends early (file truncated?)")
                case Z_MEM_ERROR:
                    throw DatasetError.corruptGzip(file: file, reason: "out of memory while inflating")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                    throw DatasetError.corruptGzip(file: file, reason: message)
                }

                // One gzip member is complete; another may follow it.
                let remaining = Int(stream.avail_in) + (input.count - consumed)
                if remaining == 0 { return }
                let next = input.count - remaining
                guard remaining >= 2, input[next] == magic[0], input[next + 1] == magic[1] else {
                    throw DatasetError.corruptGzip(file: file, reason: "\(remaining) bytes of non-gzip data after the compressed stream")
                }
                guard inflateReset(&stream) == Z_OK else {
                    throw DatasetError.corruptGzip(file: file, reason: "zlib could not restart for the next gzip member")
                }
            }
        }
        return output
    }

    /// The bytes of a file, unmodified, after checking it exists, is a regular file
    /// and is at most `maxBytes` long.
    static func readRawFile(atPath path: String, maxBytes: Int) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError.unreadable(file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw DatasetError.unreadable(file: path, reason: "is a directory, expected a file")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maxBytes {
            throw DatasetError.tooLarge(file: path, limitBytes: maxBytes)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DatasetError.unreadable(file: path, reason: error.localizedDescription)
        }
        guard data.count <= maxBytes else {
            throw DatasetError.tooLarge(file: path, limitBytes: maxBytes)
        }
        return [UInt8](data)
    }
}
