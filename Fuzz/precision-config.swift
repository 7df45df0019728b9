// libFuzzer target: precision config JSON (`scripts/fuzz precision-config`).
import Foundation
import Quantized

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrecisionConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? PrecisionConfig(json: Data(bytes: data, count: size), file: "fuzz")
    return 0
}
