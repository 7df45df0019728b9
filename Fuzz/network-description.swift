// libFuzzer target: network description JSON (`scripts/fuzz network-description`).
// A description that parses (reading it resolves it: shapes inferred, sizes
// bounded) is priced under every rule in int8 on the Horowitz profile with
// dropout on (`NetworkCostModel.report`): counts, traffic, both storage plans,
// placement, energy and latency, so a size that validates but overflows a count
// traps here instead of in `pepita-edge cost --network`.
import Foundation
import HWModel
import Quantized

let profile: HardwareProfile = {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../profiles/horowitz-45nm.json")
    do { return try HardwareProfile(contentsOf: file) } catch { fatalError("fuzz setup: \(error)") }
}()
let int8 = PrecisionConfig.preset(named: "int8")!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetworkDescription(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let description = try? NetworkDescription(json: Data(bytes: data, count: size), file: "fuzz") else { return 0 }
    for batch in [1, 3] {
        _ = try? NetworkCostModel.report(network: description, rules: TrainingRule.allCases, batch: batch, precision: int8,
                                         profile: profile, dropoutKeep: 0.9)
    }
    return 0
}
