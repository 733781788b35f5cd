import SurgeonFormats
import SurgeonKeras
import SurgeonPipeline

extension Registries {
    /// The built-in layer types, strategies and architectures, with the native and Keras
    /// model formats: what the `surgeon` binary runs with. Copy it and register your own.
    public static let standard: Registries = {
        var formats = ModelFormatRegistry()
        do { try formats.registerKeras() } catch {
            // Only a programming error gets here: the native and Keras formats claim distinct extensions.
            preconditionFailure("the built-in model formats: \(error)")
        }
        return Registries(formats: formats)
    }()

    /// The registries of the running command (`SurgeonCommand.main(registries:)` sets them).
    @TaskLocal public static var current: Registries = .standard
}
