// libFuzzer target: hardware profile JSON (`scripts/fuzz hardware-profile`).
// A profile that parses is also priced: one step of a tiny network under PEPITA
// and BP in float32 and int8 (`CostModel.report`), so values that validate but
// break the arithmetic (a size that does not fit an Int, a rate that overflows a
// latency) are found too, not only malformed files.
import Foundation
import HWModel
import Quantized

let tinyNetwork = NetworkShape.fullyConnected([4, 3, 2])
let precisions = ["float32", "int8"].compactMap { PrecisionConfig.preset(named: $0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHardwareProfile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let profile = try? HardwareProfile(json: Data(bytes: data, count: size), file: "fuzz") else { return 0 }
    for precision in precisions {
        for rule in [TrainingRule.pepita, .bp] {
            _ = try? CostModel.report(network: tinyNetwork, rule: rule, batch: 4, precision: precision, profile: profile,
                                      samplesPerEpoch: 10)
        }
    }
    return 0
}
