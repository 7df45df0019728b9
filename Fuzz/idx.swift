// libFuzzer target: IDX image and label files (`scripts/fuzz idx`).
@testable import PepitaEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? IDXReader.parseImages(bytes, file: "fuzz")
    _ = try? IDXReader.parseLabels(bytes, file: "fuzz", classCount: 10)
    return 0
}
