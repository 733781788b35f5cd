/// The surgeon refused a model or a plan; nothing was changed or written.
public enum SurgeryError: Error, Equatable, CustomStringConvertible {
    case unsupportedLayer(node: String, type: String, inputs: [String], supported: [String])
    case ruleFailed(node: String, type: String, reason: String)
    case inconsistentRule(node: String, type: String, map: String, reason: String)
    case planMismatch(String)
    case unknownGroup(id: Int, groups: Int)
    case notPrunable(group: Int, reason: String)
    case indexOutOfRange(group: Int, index: Int, size: Int)
    case duplicateIndex(group: Int, index: Int)
    case deletesWholeGroup(group: Int, size: Int, members: [String])
    /// A layer splits a tensor into `blocks.count` equal blocks (a grouped convolution's
    /// groups) and the plan deletes `deleted[k]` channels from block `k`, not the same number.
    case unevenBlocks(layer: String, type: String, side: String, groups: [Int], blockSize: Int, deleted: [Int])
    /// The plan deletes every channel of a tensor that holds only part of a group (a channel
    /// split's output, `ChannelMap.gathered`).
    case emptiesTensor(layer: String, type: String, channels: Int)
    case rebuild(String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(node, type, inputs, supported):
            let from = inputs.isEmpty ? "a graph input" : "reading \(inputs.map { "'\($0)'" }.joined(separator: ", "))"
            return
                "layer '\(node)' of type \(type) (\(from)) has no surgery rule, so the model cannot be pruned; "
                + "supported types: \(supported.joined(separator: ", "))"
        case let .ruleFailed(node, type, reason):
            return "layer '\(node)' (\(type)) cannot be pruned as planned: \(reason)"
        case let .inconsistentRule(node, type, map, reason):
            return "layer '\(node)' (\(type)) declares channel map \(map), but \(reason)"
        case let .planMismatch(message):
            return "the plan does not match the model: \(message)"
        case let .unknownGroup(id, groups):
            return "the plan names group \(id), but the model has groups 0...\(groups - 1)"
        case let .notPrunable(group, reason):
            return "group \(group) cannot be pruned: \(reason)"
        case let .indexOutOfRange(group, index, size):
            return "group \(group) has \(size) channels (0...\(size - 1)), but the plan deletes channel \(index)"
        case let .duplicateIndex(group, index):
            return "group \(group): the plan lists channel \(index) twice"
        case let .deletesWholeGroup(group, size, members):
            return
                "the plan deletes all \(size) channels of group \(group) (\(members.joined(separator: ", "))); keep at "
                + "least one"
        case let .unevenBlocks(layer, type, side, groups, blockSize, deleted):
            return
                "layer '\(layer)' (\(type)) splits its \(side) channels into \(deleted.count) groups of \(blockSize), and "
                + "every group must lose the same number, but the plan (group(s) \(groups.map(String.init).joined(separator: ", "))) "
                + "deletes \(deleted.map(String.init).joined(separator: ", ")) channels from them"
        case let .emptiesTensor(layer, type, channels):
            return
                "the plan deletes all \(channels) output channels of layer '\(layer)' (\(type)), which holds only part "
                + "of its groups (a channel split); keep at least one of them"
        case let .rebuild(message):
            return "the pruned model is inconsistent: \(message)"
        }
    }
}
