import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory new-layer-rule --name MyLayer [--kind per-channel|projection]`
/// generates `Sources/Layers/MyLayer.swift` (the layer and its surgery rule) and
/// `Tests/LayersTests/MyLayerTests.swift` (gradient check + the generic surgery checker).
/// The work is done by the `surgeon-scaffold` executable.
@main
struct NewLayerRule: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let tool = try context.tool(named: "surgeon-scaffold")
        let process = Process()
        process.executableURL = tool.url
        process.arguments = arguments + ["--package-directory", context.package.directoryURL.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            Diagnostics.error("surgeon-scaffold failed (status \(process.terminationStatus))")
            return
        }
    }
}
