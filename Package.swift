// swift-tools-version:6.0
import PackageDescription

// Hot loops are compiled with -Ounchecked in release builds: the kernels index
// through unsafe pointers already, and bounds checks elsewhere cost little.
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "pepita-edge",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pepita-edge", targets: ["pepita-edge"]),
        .library(name: "Quantized", targets: ["Quantized"]),
        .library(name: "PepitaEngine", targets: ["PepitaEngine"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Kernels with per-function instruction-set variants, chosen at run time
        // (see Sources/CKernels/README.md); optimised in every configuration so
        // that debug-built tests do not crawl.
        .target(name: "CKernels", exclude: ["README.md"], cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Quantized", dependencies: ["CKernels"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "PepitaEngine", dependencies: ["Quantized", "CZlib"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "HWModel", dependencies: ["Quantized"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "EngineCost", dependencies: ["PepitaEngine", "HWModel", "Quantized"], exclude: ["README.md"]),
        .executableTarget(name: "pepita-edge", dependencies: ["PepitaEngine", "Quantized", "HWModel", "EngineCost", "CKernels"], exclude: ["README.md"],
                         swiftSettings: optimise),
        .target(name: "TestSupport", dependencies: ["PepitaEngine", "Quantized"], path: "Tests/TestSupport"),
        .testTarget(name: "QuantizedTests", dependencies: ["Quantized", "TestSupport"]),
        .testTarget(name: "PepitaEngineTests", dependencies: ["PepitaEngine", "Quantized", "TestSupport"]),
        .testTarget(name: "HWModelTests", dependencies: ["HWModel", "Quantized"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Quantized"], exclude: ["Golden"]),
        .testTarget(name: "CostModelAgreementTests", dependencies: ["EngineCost", "HWModel", "PepitaEngine", "Quantized"]),
    ],
    swiftLanguageModes: [.v5]
)
