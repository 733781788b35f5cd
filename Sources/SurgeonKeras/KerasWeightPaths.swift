/// Where Keras 3 stores a layer's variables in `model.weights.h5`: not under the layer's name
/// but under its Python class name in snake case, numbered per class in `model.layers` order
/// (`layers/conv2d/vars`, `layers/conv2d_1/vars`, ...; KERAS-FORMAT 3.2).
enum KerasWeightPaths {
    /// Keras's `to_snake_case`: `Conv2DTranspose` -> `conv2d_transpose`, `PReLU` -> `p_re_lu`.
    static func snakeCase(_ name: String) -> String {
        let word = Array(
            name.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" })
        func isUpper(_ s: Unicode.Scalar) -> Bool { s.properties.isUppercase }
        func isLower(_ s: Unicode.Scalar) -> Bool { s.properties.isLowercase }
        // Step 1: `_` before every capital that starts a capital-then-lowercase run (`(.)([A-Z][a-z]+)`).
        var first: [Unicode.Scalar] = []
        var i = 0
        while i < word.count {
            let c = word[i]
            if i > 0, isUpper(c), i + 1 < word.count, isLower(word[i + 1]) { first.append("_") }
            first.append(c)
            i += 1
        }
        // Step 2: `_` between a lowercase letter and a following capital (`([a-z])([A-Z])`).
        var second: [Unicode.Scalar] = []
        for (k, c) in first.enumerated() {
            if k > 0, isUpper(c) {
                if isLower(first[k - 1]) { second.append("_") }
            }
            second.append(c)
        }
        return String(String.UnicodeScalarView(second)).lowercased()
    }

    /// The `vars` group of each layer, keyed by layer name, for layers given in `model.layers`
    /// order with their class names.
    static func groups(for layers: [(name: String, className: String)]) -> [String: String] {
        var counts: [String: Int] = [:]
        var result: [String: String] = [:]
        for layer in layers {
            let base = snakeCase(layer.className)
            let n = counts[base, default: 0]
            counts[base] = n + 1
            result[layer.name] = "layers/" + (n == 0 ? base : "\(base)_\(n)") + "/vars"
        }
        return result
    }
}
