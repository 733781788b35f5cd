import SurgeonCore

/// The one input of a single-input layer, or an error saying how many it got.
func singleInput<T>(_ inputs: [T]) throws -> T {
    guard inputs.count == 1 else { throw LayerError.inputCount(expected: "1", actual: inputs.count) }
    return inputs[0]
}

/// Refuses a gradient handed to `backward` whose shape is not the output's.
func checkGradientShape(_ gradient: Tensor, _ expected: [Int], layer: String) throws {
    guard gradient.shape == expected else {
        throw LayerError.inputShape(
            "\(layer) backward: output gradient of shape \(gradient.shape), expected \(expected)")
    }
}
