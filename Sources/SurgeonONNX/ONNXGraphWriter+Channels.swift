import SurgeonCore

/// `ChannelGather` in the ONNX forms the reader reads back: a range of channels as `Slice` on
/// axis 1 (a channel split), a whole shuffle as ShuffleNet's Reshape-Transpose-Reshape, any
/// other selection (a shuffle that pruning thinned) as `Gather` on axis 1.
extension ONNXGraphWriter {
    mutating func writeChannelGather(
        _ i: Int, input: String, inputShape: Shape, output: String
    ) throws(ONNXError) -> String {
        let name = graph.nodes[i].name
        let indices: [Int]
        do { indices = try graph.nodes[i].layer.config.intList("indices", expected: "channel numbers") } catch {
            throw fail(i, "\(error)")
        }
        guard let first = indices.first else { throw fail(i, "it has no indices") }
        if indices == Array(first..<(first + indices.count)) {
            let starts = ints("\(name)/starts", [first])
            let ends = ints("\(name)/ends", [first + indices.count])
            let axes = ints("\(name)/axes", [1])
            return add("Slice", name: name, inputs: [input, starts, ends, axes], output: output)
        }
        if inputShape.count == 3, indices.count == inputShape[2], let groups = ChannelShuffle.groups(of: indices) {
            let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
            let grouped = add(
                "Reshape", name: "\(name)/Reshape",
                inputs: [input, ints("\(name)/groups", [0, groups, c / groups, h, w])])
            let swapped = add(
                "Transpose", name: "\(name)/Transpose", inputs: [grouped],
                attributes: [ONNXProto.attribute("perm", ints: [0, 2, 1, 3, 4])])
            return add(
                "Reshape", name: name, inputs: [swapped, ints("\(name)/shape", [0, c, h, w])],
                output: output)
        }
        return add(
            "Gather", name: name, inputs: [input, ints("\(name)/indices", indices)], output: output,
            attributes: [ONNXProto.attribute("axis", int: 1)])
    }
}
