import SurgeonFormats
import SurgeonKeras
import SurgeonONNX
import SurgeonPipeline

extension Registries {
    /// The built-in layer types, strategies and architectures, with the native, Keras and ONNX
    /// model formats: what the `surgeon` binary runs with. Copy it and register your own.
    public static let standard: Registries = {
        var formats = ModelFormatRegistry()
        do {
            try formats.registerKeras()
            try formats.registerONNX()
        } catch {
            // Only a programming error gets here: the native, Keras and ONNX formats claim distinct extensions.
            preconditionFailure("the built-in model formats: \(error)")
        }
        return Registries(formats: formats)
    }()

    /// The registries of the running command (`SurgeonCommand.main(registries:)` sets them).
    @TaskLocal public static var current: Registries = .standard
}
