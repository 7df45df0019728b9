import Foundation
import Quantized

/// The JSON form of a network (see README "Network description"):
///
/// ```json
/// { "name": "tiny-residual", "source": "where the architecture comes from",
///   "input": { "channels": 1, "height": 8, "width": 8 }, "classes": 10,
///   "layers": [
///     { "type": "conv2d", "name": "stem", "filters": 4, "kernel": 3, "padding": "same" },
///     { "type": "batchNorm" }, { "type": "relu", "name": "stem_out" },
///     { "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same" },
///     { "type": "add", "from": "stem_out" }, { "type": "relu" },
///     { "type": "globalAveragePool" }, { "type": "flatten" },
///     { "type": "dense", "units": 10, "bias": true } ] }
/// ```
///
/// An autoencoder gives `"output": "reconstruction"` instead of `"classes"`.
/// `kernel`, `stride` and `size` are a number or `[height, width]`; `padding`
/// is `"valid"` (default), `"same"` or `[top, bottom, left, right]`; `stride`
/// defaults to 1 (pools: the window); `groups` to 1; `bias` to false. Every key
/// is checked: an unknown key or type is an error naming `layers[i].field`.
extension NetworkDescription {
    /// Layer types and the keys each accepts besides `type`, `name` and `input`.
    static let layerKeys: [String: Set<String>] = [
        "dense": ["units", "bias"],
        "conv2d": ["filters", "kernel", "stride", "padding", "groups", "bias"],
        "maxPool": ["size", "stride"], "averagePool": ["size", "stride"],
        "globalMaxPool": [], "globalAveragePool": [],
        "flatten": [], "relu": [], "batchNorm": [], "add": ["from"],
    ]

    /// Reads and checks a description (`resolve()` included), so a returned network always holds together.
    public init(json data: Data, file: String? = nil) throws {
        do {
            guard let tree = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                throw NetworkDescriptionError(path: "(file)", problem: "not valid JSON")
            }
            self = try NetworkJSONReader().network(tree)
            _ = try resolve()
        } catch var error as NetworkDescriptionError {
            error.file = file
            throw error
        }
    }

    /// Reads a network file; errors name the file by its last path component.
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw NetworkDescriptionError(file: url.lastPathComponent, path: "(file)", problem: "cannot be read")
        }
        try self.init(json: data, file: url.lastPathComponent)
    }

    /// The description as JSON, keys sorted, one key per line (what `network export` writes).
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// Walks a `JSONValue` tree into a `NetworkDescription`, naming the path of the first problem.
struct NetworkJSONReader {
    func fail(_ path: String, _ problem: String, layer: String? = nil) -> NetworkDescriptionError {
        NetworkDescriptionError(path: path, layer: layer, problem: problem)
    }

    func object(_ value: JSONValue, _ path: String, allowed: Set<String>, layer: String? = nil) throws -> [String: JSONValue] {
        guard case let .object(fields) = value else { throw fail(path, "must be an object", layer: layer) }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail(path.isEmpty ? unknown : "\(path).\(unknown)",
                       "unknown key (known: \(allowed.sorted().joined(separator: ", ")))", layer: layer)
        }
        return fields
    }

    func integer(_ value: JSONValue?, _ path: String, layer: String? = nil) throws -> Int? {
        guard let value else { return nil }
        guard case let .number(number) = value, number == number.rounded(), abs(number) < 1e12 else {
            throw fail(path, "must be a whole number", layer: layer)
        }
        return Int(number)
    }

    func string(_ value: JSONValue?, _ path: String, layer: String? = nil) throws -> String? {
        guard let value else { return nil }
        guard case let .string(text) = value else { throw fail(path, "must be a string", layer: layer) }
        return text
    }

    func required<T>(_ value: T?, _ path: String, layer: String? = nil) throws -> T {
        guard let value else { throw fail(path, "missing", layer: layer) }
        return value
    }

    /// A number or `[height, width]`.
    func extent(_ value: JSONValue?, _ path: String, layer: String?) throws -> Extent2D? {
        guard let value else { return nil }
        if case let .array(items) = value {
            guard items.count == 2 else { throw fail(path, "must be a number or [height, width]", layer: layer) }
            return Extent2D(try integer(items[0], "\(path)[0]", layer: layer)!, try integer(items[1], "\(path)[1]", layer: layer)!)
        }
        guard case .number = value else { throw fail(path, "must be a number or [height, width]", layer: layer) }
        return .square(try integer(value, path, layer: layer)!)
    }

    func network(_ tree: JSONValue) throws -> NetworkDescription {
        let top = try object(tree, "", allowed: ["name", "source", "input", "classes", "output", "layers"])
        let inputFields = try object(try required(top["input"], "input"), "input", allowed: ["channels", "height", "width"])
        let input = InputShape(channels: try required(try integer(inputFields["channels"], "input.channels"), "input.channels"),
                               height: try required(try integer(inputFields["height"], "input.height"), "input.height"),
                               width: try required(try integer(inputFields["width"], "input.width"), "input.width"))
        let output: NetworkOutput
        switch (try integer(top["classes"], "classes"), try string(top["output"], "output")) {
        case let (classes?, nil): output = .classes(classes)
        case (nil, "reconstruction"?): output = .reconstruction
        case (nil, let text?): throw fail("output", "must be \"reconstruction\" (or give \"classes\" instead), got '\(text)'")
        case (_?, _?): throw fail("output", "give either classes or output, not both")
        case (nil, nil): throw fail("classes", "missing (or give \"output\": \"reconstruction\")")
        }
        guard case let .array(items) = try required(top["layers"], "layers") else { throw fail("layers", "must be an array") }
        return NetworkDescription(name: try string(top["name"], "name") ?? "", source: try string(top["source"], "source"),
                                  input: input, output: output,
                                  layers: try items.enumerated().map { try layer($1, "layers[\($0)]") })
    }

    func layer(_ value: JSONValue, _ path: String) throws -> NetworkLayer {
        guard case let .object(fields) = value else { throw fail(path, "must be an object") }
        let name = try string(fields["name"], "\(path).name")
        let type = try required(try string(fields["type"], "\(path).type", layer: name), "\(path).type", layer: name)
        guard let keys = NetworkDescription.layerKeys[type] else {
            throw fail("\(path).type", "unknown layer type '\(type)' (known: \(NetworkDescription.layerKeys.keys.sorted().joined(separator: ", ")))", layer: name)
        }
        _ = try object(value, path, allowed: keys.union(["type", "name", "input"]), layer: name)
        func number(_ key: String) throws -> Int? { try integer(fields[key], "\(path).\(key)", layer: name) }
        func flag(_ key: String) throws -> Bool {
            guard let value = fields[key] else { return false }
            guard case let .bool(flag) = value else { throw fail("\(path).\(key)", "must be true or false", layer: name) }
            return flag
        }
        let kind: LayerKind
        switch type {
        case "dense":
            kind = .dense(units: try required(try number("units"), "\(path).units", layer: name), bias: try flag("bias"))
        case "conv2d":
            kind = .conv2d(Convolution(
                filters: try required(try number("filters"), "\(path).filters", layer: name),
                kernel: try required(try extent(fields["kernel"], "\(path).kernel", layer: name), "\(path).kernel", layer: name),
                stride: try extent(fields["stride"], "\(path).stride", layer: name) ?? .square(1),
                padding: try padding(fields["padding"], "\(path).padding", layer: name),
                groups: try number("groups") ?? 1, bias: try flag("bias")))
        case "maxPool", "averagePool":
            kind = .pool(Pooling(kind: type == "maxPool" ? .max : .average,
                                 size: try required(try extent(fields["size"], "\(path).size", layer: name), "\(path).size", layer: name),
                                 stride: try extent(fields["stride"], "\(path).stride", layer: name)))
        case "globalMaxPool": kind = .pool(Pooling(kind: .max, size: nil))
        case "globalAveragePool": kind = .pool(Pooling(kind: .average, size: nil))
        case "flatten": kind = .flatten
        case "relu": kind = .relu
        case "batchNorm": kind = .batchNorm
        default:
            kind = .add(from: try required(try string(fields["from"], "\(path).from", layer: name), "\(path).from", layer: name))
        }
        return NetworkLayer(kind, name: name, input: try string(fields["input"], "\(path).input", layer: name))
    }

    func padding(_ value: JSONValue?, _ path: String, layer: String?) throws -> Padding {
        switch value {
        case nil, .string("valid")?: return .valid
        case .string("same")?: return .same
        case let .array(items)? where items.count == 4:
            let sides = try items.enumerated().map { try integer($1, "\(path)[\($0)]", layer: layer)! }
            return .explicit(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3])
        default: throw fail(path, "must be \"valid\", \"same\" or [top, bottom, left, right]", layer: layer)
        }
    }
}

extension NetworkDescription: Encodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(name, forKey: Key("name"))
        try container.encodeIfPresent(source, forKey: Key("source"))
        try container.encode(input, forKey: Key("input"))
        switch output {
        case let .classes(count): try container.encode(count, forKey: Key("classes"))
        case .reconstruction: try container.encode("reconstruction", forKey: Key("output"))
        }
        var items = container.nestedUnkeyedContainer(forKey: Key("layers"))
        for layer in layers {
            var fields = items.nestedContainer(keyedBy: Key.self)
            try fields.encode(layer.kind.typeName, forKey: Key("type"))
            try fields.encodeIfPresent(layer.name, forKey: Key("name"))
            try fields.encodeIfPresent(layer.input, forKey: Key("input"))
            func extent(_ value: Extent2D, _ key: String) throws {
                if value.height == value.width { try fields.encode(value.height, forKey: Key(key)) }
                else { try fields.encode([value.height, value.width], forKey: Key(key)) }
            }
            switch layer.kind {
            case let .dense(units, bias):
                try fields.encode(units, forKey: Key("units"))
                if bias { try fields.encode(true, forKey: Key("bias")) }
            case let .conv2d(conv):
                try fields.encode(conv.filters, forKey: Key("filters"))
                try extent(conv.kernel, "kernel")
                if conv.stride != .square(1) { try extent(conv.stride, "stride") }
                switch conv.padding {
                case .valid: break
                case .same: try fields.encode("same", forKey: Key("padding"))
                case let .explicit(top, bottom, left, right): try fields.encode([top, bottom, left, right], forKey: Key("padding"))
                }
                if conv.groups != 1 { try fields.encode(conv.groups, forKey: Key("groups")) }
                if conv.bias { try fields.encode(true, forKey: Key("bias")) }
            case let .pool(pooling):
                if let size = pooling.size { try extent(size, "size") }
                if let stride = pooling.stride { try extent(stride, "stride") }
            case let .add(from):
                try fields.encode(from, forKey: Key("from"))
            case .flatten, .relu, .batchNorm:
                break
            }
        }
    }
}
