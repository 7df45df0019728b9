// libFuzzer target: hardware profile JSON (`scripts/fuzz hardware-profile`).
import Foundation
import HWModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHardwareProfile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? HardwareProfile(json: Data(bytes: data, count: size), file: "fuzz")
    return 0
}
