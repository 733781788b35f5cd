import SurgeonCore

extension LayerRegistry {
    /// Every layer type that ships with surgeon.
    public static let builtinTypes: [any Layer.Type] = [
        InputLayer.self,
        Conv2D.self, DepthwiseConv2D.self, Dense.self,
        BatchNormalization.self,
        Activation.self, ReLU.self, Softmax.self,
        MaxPooling2D.self, AveragePooling2D.self,
        GlobalAveragePooling2D.self, GlobalMaxPooling2D.self,
        Flatten.self, Dropout.self, ZeroPadding2D.self,
        Add.self, Multiply.self, Concatenate.self,
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
