import SurgeonCore

/// Constant folding: `Constant`, `Identity` and `Cast` of constants, and the shape arithmetic
/// exporters write before a Reshape (`Shape` → `Gather` → `Unsqueeze` → `Concat`, with
/// `Slice`, `Squeeze` and integer `Add`/`Sub`/`Mul`/`Div`), evaluated with the batch size as
/// the one symbolic entry (ONNX-FORMAT.md 2.5).
extension ONNXGraphReader {
    /// The ops that fold when all their inputs are constant.
    static let foldingOps: Set<String> = [
        "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Add", "Sub", "Mul", "Div",
        "Identity",
    ]

    /// The integer entries of a constant or folded value of rank 0 or 1, with `scalar` true
    /// for rank 0; nil for a float constant, a higher rank or an activation.
    func integers(_ name: String) -> (entries: [ShapeEntry], scalar: Bool)? {
        switch values[name] {
        case let .constant(c)?:
            guard let ints = c.ints, c.dims.count <= 1 else { return nil }
            return (ints.map { .known($0) }, c.dims.isEmpty)
        case let .shape(entries, scalar)?: return (entries, scalar)
        default: return nil
        }
    }

    /// True when every given input of the node is a constant or a folded value.
    func allConstant(_ r: ONNXNodeReader) -> Bool {
        r.inputs.filter { !$0.isEmpty }.allSatisfy {
            switch values[$0] {
            case .constant?, .shape?: return true
            default: return false
            }
        }
    }

    mutating func defineInts(_ r: ONNXNodeReader, _ entries: [ShapeEntry], scalar: Bool) throws(ONNXError) {
        if let known = Self.knownInts(entries) {
            try define(r, .constant(ONNXConstant(dims: scalar ? [] : [known.count], ints: known)))
        } else {
            try define(r, .shape(entries, scalar: scalar))
        }
    }

    /// Folds a node whose inputs are all constant; returns false when it does not fold (the
    /// node is then refused by the caller with the list of supported forms).
    mutating func fold(_ r: ONNXNodeReader) throws(ONNXError) -> Bool {
        switch r.op {
        case "Constant": try define(r, .constant(try constantNodeValue(r)))
        case "Identity":
            guard let input = r.input(0) else { throw r.fail("it has no input") }
            try define(r, try value(input, r))
        case "Cast": try foldCast(r)
        case "Gather": try foldGather(r)
        case "Unsqueeze", "Squeeze": try foldSqueeze(r)
        case "Concat":
            var entries: [ShapeEntry] = []
            for input in r.inputs {
                guard let v = integers(input) else { return false }
                entries += v.entries
            }
            try defineInts(r, entries, scalar: false)
        case "Slice": try foldSlice(r)
        case "Add", "Sub", "Mul", "Div": return try foldArithmetic(r)
        default: return false
        }
        return true
    }

    private func constantNodeValue(_ r: ONNXNodeReader) throws(ONNXError) -> ONNXConstant {
        guard r.node.attribute.count == 1, let a = r.node.attribute.first else {
            throw r.fail("a Constant needs exactly one value attribute")
        }
        let name = r.node.output.first ?? r.displayName
        switch a.name {
        case "value": return try decoder.decode(a.t, name: name)
        case "value_float":
            guard a.f.isFinite else { throw r.fail("value_float is \(a.f)") }
            return ONNXConstant(dims: [], floats: [a.f])
        case "value_floats": return ONNXConstant(dims: [a.floats.count], floats: a.floats)
        case "value_int": return ONNXConstant(dims: [], ints: [a.i])
        case "value_ints": return ONNXConstant(dims: [a.ints.count], ints: a.ints)
        default:
            throw r.fail("a Constant with '\(a.name)' is not supported; supported: value, value_float(s), value_int(s)")
        }
    }

    private mutating func foldCast(_ r: ONNXNodeReader) throws(ONNXError) {
        guard let input = r.input(0) else { throw r.fail("it has no input") }
        let to = try r.int("to")
        let isFloat = [1, 10, 11, 16].contains(to)
        switch try value(input, r) {
        case let .constant(c):
            if isFloat {
                try define(r, .constant(ONNXConstant(dims: c.dims, floats: c.floats)))
            } else {
                var ints: [Int64] = []
                for f in c.floats {
                    guard f.isFinite, abs(f) < 9.2e18 else { throw r.fail("cannot cast \(f) to an integer") }
                    ints.append(Int64(f.rounded(.towardZero)))
                }
                try define(r, .constant(ONNXConstant(dims: c.dims, ints: c.ints ?? ints)))
            }
        case let .shape(entries, scalar):
            guard !isFloat else { throw r.fail("casting a batch-dependent shape to floating point is not supported") }
            try define(r, .shape(entries, scalar: scalar))
        case .activation, .channelGroups: throw r.fail("Cast of a computed tensor is not supported")
        }
    }

    private mutating func foldGather(_ r: ONNXNodeReader) throws(ONNXError) {
        try r.checkAttributes(["axis"])
        guard try r.int("axis", default: 0) == 0, let data = r.input(0).flatMap({ integers($0) }), !data.scalar,
            let indices = r.input(1).flatMap({ integers($0) }), let picks = Self.knownInts(indices.entries)
        else { throw r.fail("surgeon folds Gather only on a constant 1-D integer vector (shape arithmetic)") }
        var result: [ShapeEntry] = []
        for i in picks {
            let k = i < 0 ? Int64(data.entries.count) + i : i
            guard k >= 0, k < Int64(data.entries.count) else {
                throw r.fail("index \(i) is outside a vector of \(data.entries.count) entries")
            }
            result.append(data.entries[Int(k)])
        }
        try defineInts(r, result, scalar: indices.scalar)
    }

    private mutating func foldSqueeze(_ r: ONNXNodeReader) throws(ONNXError) {
        guard let input = r.input(0), let v = integers(input) else {
            throw r.fail("surgeon folds \(r.op) only on constant integer scalars and vectors")
        }
        let axes: [Int]
        if let name = r.input(1) {
            axes = (try constant(name, r, what: "axes").ints ?? []).map { Int($0) }
        } else {
            axes = try r.ints("axes", default: [])
        }
        if r.op == "Unsqueeze" {
            guard v.scalar, axes == [0] || axes == [-1] else {
                throw r.fail("surgeon folds Unsqueeze only of a scalar to a 1-element vector")
            }
            try defineInts(r, v.entries, scalar: false)
        } else {
            guard !v.scalar, v.entries.count == 1, axes.isEmpty || axes == [0] || axes == [-1] else {
                throw r.fail("surgeon folds Squeeze only of a 1-element vector to a scalar")
            }
            try defineInts(r, v.entries, scalar: true)
        }
    }

    private mutating func foldSlice(_ r: ONNXNodeReader) throws(ONNXError) {
        guard let input = r.input(0), let v = integers(input), !v.scalar else {
            throw r.fail("surgeon folds Slice only on a constant integer vector")
        }
        func operand(_ i: Int, _ what: String) throws(ONNXError) -> Int64? {
            guard let name = r.input(i) else { return nil }
            let c = try constant(name, r, what: what)
            guard let ints = c.ints, ints.count == 1 else { throw r.fail("the \(what) must be one integer") }
            return ints[0]
        }
        let n = Int64(v.entries.count)
        guard var start = try operand(1, "starts"), var end = try operand(2, "ends") else {
            throw r.fail("Slice needs starts and ends")
        }
        if let axis = try operand(3, "axes"), axis != 0, axis != -1 { throw r.fail("axes must be [0] on a vector") }
        guard (try operand(4, "steps") ?? 1) == 1 else { throw r.fail("only steps of 1 are supported") }
        if start < 0 { start += n }
        if end < 0 { end += n }
        start = min(max(start, 0), n)
        end = min(max(end, 0), n)
        try defineInts(r, start < end ? Array(v.entries[Int(start)..<Int(end)]) : [], scalar: false)
    }

    /// Integer arithmetic on shape values (the batch entry passes through `+ 0`, `* 1`, `/ 1`),
    /// and float arithmetic on two constants.
    private mutating func foldArithmetic(_ r: ONNXNodeReader) throws(ONNXError) -> Bool {
        guard let a = r.input(0), let b = r.input(1) else { throw r.fail("it needs two inputs") }
        if let x = integers(a), let y = integers(b) {
            let count = max(x.entries.count, y.entries.count)
            guard x.entries.count == count || x.entries.count == 1, y.entries.count == count || y.entries.count == 1
            else { throw r.fail("operands of \(x.entries.count) and \(y.entries.count) entries do not broadcast") }
            var result: [ShapeEntry] = []
            for i in 0..<count {
                let p = x.entries[x.entries.count == 1 ? 0 : i]
                let q = y.entries[y.entries.count == 1 ? 0 : i]
                result.append(try Self.combine(p, q, op: r.op, r))
            }
            try defineInts(r, result, scalar: x.scalar && y.scalar)
            return true
        }
        guard case let .constant(x)? = values[a], case let .constant(y)? = values[b] else { return false }
        let (p, q) = (x.floats, y.floats)
        guard p.count == q.count || p.count == 1 || q.count == 1 else {
            throw r.fail("constant operands of shapes \(x.dims) and \(y.dims) are not supported")
        }
        let dims = p.count >= q.count ? x.dims : y.dims
        let result = (0..<max(p.count, q.count)).map { i -> Float in
            let (u, v) = (p[p.count == 1 ? 0 : i], q[q.count == 1 ? 0 : i])
            switch r.op {
            case "Add": return u + v
            case "Sub": return u - v
            case "Mul": return u * v
            default: return u / v
            }
        }
        try define(r, .constant(ONNXConstant(dims: dims, floats: result)))
        return true
    }

    private static func combine(
        _ p: ShapeEntry, _ q: ShapeEntry, op: String, _ r: ONNXNodeReader
    ) throws(ONNXError) -> ShapeEntry {
        switch (p, q) {
        case let (.known(u), .known(v)):
            let result: (Int64, Bool)
            switch op {
            case "Add": result = u.addingReportingOverflow(v)
            case "Sub": result = u.subtractingReportingOverflow(v)
            case "Mul": result = u.multipliedReportingOverflow(by: v)
            default:
                guard v != 0 else { throw r.fail("division by zero in shape arithmetic") }
                result = u.dividedReportingOverflow(by: v)
            }
            guard !result.1 else { throw r.fail("shape arithmetic overflows (\(u) \(op) \(v))") }
            return .known(result.0)
        case (.batch, .known(0)) where op == "Add" || op == "Sub", (.known(0), .batch) where op == "Add",
            (.batch, .known(1)) where op == "Mul" || op == "Div", (.known(1), .batch) where op == "Mul":
            return .batch
        default:
            throw r.fail(
                "shape arithmetic \(p) \(op) \(q) depends on the batch size in a way surgeon does not fold; the "
                    + "spatial and channel sizes must be constant")
        }
    }
}
