import Foundation

/// Runs the built `pepita-edge` executable, for end-to-end tests.
public struct CommandResult {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

public enum PepitaEdgeCommand {
    /// The executable next to the test bundle (SwiftPM builds both into the same
    /// products directory), or `PEPITA_EDGE_BINARY` when set.
    public static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["PEPITA_EDGE_BINARY"] { return URL(fileURLWithPath: path) }
        var directory = Bundle.main.bundleURL
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directory = bundle.bundleURL.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("pepita-edge")
    }

    /// Runs `pepita-edge arguments...` to completion and captures its output;
    /// `environment` adds to (or overrides) the test's own environment.
    public static func run(_ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String] = [:]) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let outputPipe = Pipe(), errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let errorBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorBox.data = errorPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = outputPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errorData = errorBox.data
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             standardOutput: String(decoding: outputData, as: UTF8.self),
                             standardError: String(decoding: errorData, as: UTF8.self))
    }
}
