/// Bounds a recipe's shape before Yams reads it: Yams (libyaml + a recursive composer) overflows the
/// stack on a recipe nested a few thousand deep, and aliases let a small file expand to a huge tree.
/// Recipes are short and shallow, so the limits are far above any real one.
enum RecipeShapeCheck {
    /// The deepest nesting accepted: flow brackets plus block levels (indentation steps and `- ` markers).
    static let maximumDepth = 64

    /// The reason the text is refused and its 1-based line, or nil when it may be parsed.
    static func problem(in yaml: String) -> (line: Int, reason: String)? {
        var line = 1
        var flowDepth = 0
        var quote: UInt8? = nil
        var inComment = false
        var atLineStart = true
        var indent = 0
        var markers = 0
        var previous: UInt8 = 0x20
        for byte in yaml.utf8 {
            if byte == 0x0A {
                line += 1
                inComment = false
                atLineStart = true
                indent = 0
                markers = 0
                previous = 0x20
                continue
            }
            if inComment { continue }
            if let q = quote {
                if byte == q { quote = nil }
                previous = byte
                continue
            }
            if atLineStart {
                if byte == 0x20 {
                    indent += 1
                    previous = 0x20
                    if indent > maximumDepth * 8 {
                        return (line, "it is indented more than \(maximumDepth * 8) columns")
                    }
                    continue
                }
                if byte == 0x2D || byte == 0x3F, previous == 0x20 {  // "- " / "? " block markers
                    markers += 1
                    if markers > maximumDepth { return (line, "it nests more than \(maximumDepth) levels deep") }
                    previous = byte
                    continue
                }
                atLineStart = false
            }
            let tokenStart =
                previous == 0x20 || previous == 0x09 || previous == 0x5B || previous == 0x7B
                || previous == 0x2C || previous == 0x2D
            switch byte {
            case 0x23 where previous == 0x20 || previous == 0x09: inComment = true
            case 0x27,
                0x22 where tokenStart || previous == 0x3A:
                quote = byte
            case 0x5B, 0x7B:
                flowDepth += 1
                if flowDepth > maximumDepth { return (line, "it nests more than \(maximumDepth) levels deep") }
            case 0x5D, 0x7D: flowDepth = max(0, flowDepth - 1)
            case 0x2A where tokenStart:
                return (line, "it uses a YAML alias (*name); recipes accept no aliases")
            default: break
            }
            previous = byte
        }
        return nil
    }
}
