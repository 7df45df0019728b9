// libFuzzer target: a run directory's JSON files — config.json, checkpoint/state.json
// and a fixed-point sidecar (`scripts/fuzz run-files`).
import Foundation
@testable import PepitaEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    _ = try? RunDirectory.config(from: bytes, file: "config.json")
    _ = try? StrictJSON.decode(TrainerCheckpointState.self, from: bytes, file: "state.json")
    _ = try? StrictJSON.decode(FixedPointSidecar.self, from: bytes, file: "W0.json")
    return 0
}
