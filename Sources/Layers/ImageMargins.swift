import SurgeonCore

/// Rows and columns at the four sides of an image: ZeroPadding2D's `padding` and Cropping2D's
/// `cropping`. Keras accepts an integer `p` (all four sides), `[h, w]` (`h` top and bottom, `w`
/// left and right) or `[[top, bottom], [left, right]]`, and writes the last form.
struct ImageMargins: Equatable {
    var top: Int, bottom: Int, left: Int, right: Int

    init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// Reads `key`; `fallback` is the value when the key is absent.
    init(config: LayerConfig, key: String, default fallback: ConfigValue) throws {
        let value = config[key] ?? fallback
        let expected = "a non-negative integer, [height, width] or [[top, bottom], [left, right]]"
        let invalid = LayerError.config(.invalid(key: key, value: value.description, expected: expected))
        func count(_ v: ConfigValue) throws -> Int {
            guard case let .number(d) = v, d == d.rounded(), d >= 0, d < 1e9 else { throw invalid }
            return Int(d)
        }
        switch value {
        case .number:
            let p = try count(value)
            self.init(top: p, bottom: p, left: p, right: p)
        case let .array(items) where items.count == 2:
            if case let .array(rows) = items[0], case let .array(columns) = items[1] {
                guard rows.count == 2, columns.count == 2 else { throw invalid }
                self.init(
                    top: try count(rows[0]), bottom: try count(rows[1]),
                    left: try count(columns[0]), right: try count(columns[1]))
            } else {
                let h = try count(items[0]), w = try count(items[1])
                self.init(top: h, bottom: h, left: w, right: w)
            }
        default:
            throw invalid
        }
    }

    /// `[[top, bottom], [left, right]]`.
    var configValue: ConfigValue {
        [[.number(Double(top)), .number(Double(bottom))], [.number(Double(left)), .number(Double(right))]]
    }
}
