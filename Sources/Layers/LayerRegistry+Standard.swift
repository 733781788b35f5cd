import SurgeonCore

extension LayerRegistry {
    /// Every layer type that ships with surgeon.
    public static let builtinTypes: [any Layer.Type] = [
        InputLayer.self,
        Conv2D.self, DepthwiseConv2D.self, SeparableConv2D.self, Conv2DTranspose.self, Dense.self,
        BatchNormalization.self, Normalization.self, Rescaling.self,
        Activation.self, ReLU.self, LeakyReLU.self, PReLU.self, Softmax.self,
        MaxPooling2D.self, AveragePooling2D.self,
        GlobalAveragePooling2D.self, GlobalMaxPooling2D.self,
        Flatten.self, Reshape.self, Dropout.self, ZeroPadding2D.self, Cropping2D.self, UpSampling2D.self,
        Add.self, Subtract.self, Multiply.self, Average.self, Maximum.self, Concatenate.self,
    ]

    /// A registry holding the built-in layer types. Copy it and `register` your own.
    public static let standard: LayerRegistry = {
        var registry = LayerRegistry()
        for type in builtinTypes {
            // Built-in names are unique; a duplicate would be a bug caught by the tests.
            try? registry.register(type)
        }
        return registry
    }()
}

extension SurgeryRegistry {
    /// A registry with the surgery rule of every built-in layer type. Copy it and `register`
    /// your own.
    public static let standard: SurgeryRegistry = {
        var registry = SurgeryRegistry()
        for type in LayerRegistry.builtinTypes {
            // Every built-in type adopts SurgeryRule; the tests check that none is missing.
            if let rule = type as? any SurgeryRule.Type { try? registry.register(rule) }
        }
        return registry
    }()
}

extension Surgeon {
    /// A surgeon for the built-in layer types.
    public static let standard = Surgeon(registry: .standard)
}
