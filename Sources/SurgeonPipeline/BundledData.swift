import Foundation

/// The MNIST subset that ships with surgeon (5,000 images, 28x28x1 uint8, labels 0-9; see
/// the README next to the files for provenance and licence). Found as a SwiftPM resource
/// beside the binary, or in the source tree.
public enum BundledData {
    /// The folder holding `images.npy` and `labels.npy`.
    public static func mnistFolder() throws -> URL {
        if let url = Bundle.module.url(forResource: "mnist-5k", withExtension: nil) { return url }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources/mnist-5k")
        if FileManager.default.fileExists(atPath: source.appendingPathComponent("images.npy").path) { return source }
        throw PipelineError(
            "the bundled MNIST data was not found (looked for the mnist-5k resource beside the surgeon binary and in "
                + "\(source.path)); give `surgeon demo --data-dir DIR` a folder with images.npy and labels.npy, "
                + "or name the data in the recipe (data: {images: X.npy, labels: Y.npy})")
    }
}
