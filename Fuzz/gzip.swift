// libFuzzer target: gzip inflation with a 4 MiB output cap (`scripts/fuzz gzip`).
@testable import PepitaEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? Gzip.decompress(bytes, file: "fuzz", maxBytes: 1 << 22)
    return 0
}
