// libFuzzer target: CIFAR-10 and CIFAR-100 binary batches (`scripts/fuzz cifar`).
@testable import PepitaEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for variant in CIFARReader.Variant.allCases {
        _ = try? CIFARReader.samples(bytes: bytes, file: "fuzz", variant: variant)
    }
    return 0
}
