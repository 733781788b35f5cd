import SurgeonCore

extension LayerRegistry {
    /// Every layer type that ships with surgeon: a new built-in type is its file plus one line
    /// here. The registry tests, the generic checkers, `surgeon rules` and the random graphs
    /// iterate this list through `standard`.
    public static let builtinTypes: [any Layer.Type] = [
        InputLayer.self,
        Conv2D.self, DepthwiseConv2D.self, SeparableConv2D.self, Conv2DTranspose.self, Dense.self,
        BatchNormalization.self, Normalization.self, Rescaling.self,
        Activation.self, ReLU.self, LeakyReLU.self, PReLU.self, Softmax.self,
        MaxPooling2D.self, AveragePooling2D.self,
        GlobalAveragePooling2D.self, GlobalMaxPooling2D.self,
        Flatten.self, Reshape.self, Dropout.self, ZeroPadding2D.self, Cropping2D.self, UpSampling2D.self,
        ChannelGather.self,
        Add.self, Subtract.self, Multiply.self, Average.self, Maximum.self, Concatenate.self,
    ]

    /// A registry holding the built-in layer types. Copy it and `register` your own.
    public static let standard: LayerRegistry = {
        var registry = LayerRegistry()
        do { try registry.register(builtinTypes) } catch {
            // Only a programming error in `builtinTypes` gets here (the tests build `standard`).
            preconditionFailure("the built-in layer types: \(error)")
        }
        return registry
    }()
}

extension Surgeon {
    /// A surgeon for the built-in layer types.
    public static let standard = Surgeon(registry: .standard)
}
