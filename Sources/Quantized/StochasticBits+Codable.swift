/// Encoded as `{"seed": ..., "stream": ...}`; the key is recomputed on decoding.
extension StochasticBits: Codable {
    private enum CodingKeys: String, CodingKey {
        case seed, stream
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(seed: try container.decode(UInt64.self, forKey: .seed),
                  stream: try container.decode(UInt64.self, forKey: .stream))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seed, forKey: .seed)
        try container.encode(stream, forKey: .stream)
    }
}
