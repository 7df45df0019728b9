// libFuzzer target: `.npy` files (`scripts/fuzz npy`).
@testable import PepitaEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? NPY.parse(Array(UnsafeBufferPointer(start: data, count: size)), file: "fuzz")
    return 0
}
