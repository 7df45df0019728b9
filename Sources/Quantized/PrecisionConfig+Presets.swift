extension PrecisionConfig {
    /// Names accepted by `preset(named:)`.
    public static let presetNames = ["float32", "int16", "int16-stochastic", "int8", "int8-stochastic"]

    /// The built-in configurations.
    ///
    /// - `int16`: weights Q1.14, network input Q1.14, velocity Q-2.17 (steps of
    ///   2^-17 within +-0.25), every other role 16 bits with dynamic scaling.
    /// - `int16-stochastic`: `int16` with stochastic rounding of the velocity and
    ///   the weights, so weight steps below half a Q1.14 step still move weights
    ///   on average (on Fashion-MNIST this closes int16 PEPITA's gap to float).
    /// - `int8`: the same plan in 8 bits: weights Q0.7, input Q1.6, velocity.
    /// - `int8-stochastic`: `int8` with stochastic rounding wherever small
    ///   values are narrowed (input modulation, updates, velocity, weights), so
    ///   that changes below one step survive on average.
    public static func preset(named name: String) -> PrecisionConfig? {
        switch name {
        case "float32":
            return PrecisionConfig(name: name, arithmetic: .float32, roles: [:])
        case "int16":
            return PrecisionConfig(name: name, arithmetic: .fixedPoint, roles: [
                .weights: .fixed(16, 14), .activations: .dynamic(16), .errors: .dynamic(16),
                .projection: .dynamic(16), .modulatedInput: .fixed(16, 14), .updates: .dynamic(16),
                .optimiserState: .fixed(16, 17),
            ])
        case "int16-stochastic":
            var config = preset(named: "int16")!
            config.name = name
            config.roles[.weights] = .fixed(16, 14, rounding: .stochastic)
            config.roles[.optimiserState] = .fixed(16, 17, rounding: .stochastic)
            return config
        case "int8":
            return PrecisionConfig(name: name, arithmetic: .fixedPoint, roles: [
                .weights: .fixed(8, 7), .activations: .dynamic(8), .errors: .dynamic(8),
                .projection: .dynamic(8), .modulatedInput: .fixed(8, 6), .updates: .dynamic(8),
                .optimiserState: .fixed(8, 10),
            ])
        case "int8-stochastic":
            return PrecisionConfig(name: name, arithmetic: .fixedPoint, roles: [
                .weights: .fixed(8, 7, rounding: .stochastic), .activations: .dynamic(8), .errors: .dynamic(8),
                .projection: .dynamic(8), .modulatedInput: .fixed(8, 6, rounding: .stochastic),
                .updates: .dynamic(8, rounding: .stochastic), .optimiserState: .fixed(8, 10, rounding: .stochastic),
            ])
        default:
            return nil
        }
    }
}
