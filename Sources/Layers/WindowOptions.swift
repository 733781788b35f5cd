import SurgeonCore

/// The sliding-window attributes shared by convolution and pooling layers, read from and
/// written to Keras configs (`kernel_size`/`pool_size`, `strides`, `padding`, `dilation_rate`).
public struct WindowOptions: Sendable, Equatable {
    public var size: [Int]
    public var strides: [Int]
    public var padding: Padding
    public var dilation: [Int]

    public init(size: [Int], strides: [Int] = [1, 1], padding: Padding = .valid, dilation: [Int] = [1, 1]) {
        self.size = size
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
    }

    /// Reads the window; `sizeKey` is `kernel_size` or `pool_size`. Pooling's strides default to
    /// the pool size, as in Keras.
    init(config: LayerConfig, sizeKey: String, defaultStridesToSize: Bool = false) throws {
        size = try config.ints(sizeKey, count: 2, default: defaultStridesToSize ? [2, 2] : nil)
        strides = try config.ints("strides", count: 2, default: defaultStridesToSize ? size : [1, 1])
        padding = Padding(rawValue: try config.choice("padding", ["valid", "same"], default: "valid"))!
        dilation = try config.ints("dilation_rate", count: 2, default: [1, 1])
        try config.requireChannelsLast()
        for (key, values) in [(sizeKey, size), ("strides", strides), ("dilation_rate", dilation)]
        where !values.allSatisfy({ $0 > 0 }) {
            throw LayerError.config(
                .invalid(
                    key: key, value: ConfigValue.array(values.map { .number(Double($0)) }).description,
                    expected: "2 positive integers"))
        }
        if dilation != [1, 1], strides != [1, 1] {
            throw LayerError.unsupported(
                "strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it too)")
        }
    }

    func write(to config: inout LayerConfig, sizeKey: String, includeDilation: Bool = true) {
        config[sizeKey] = .array(size.map { .number(Double($0)) })
        config["strides"] = .array(strides.map { .number(Double($0)) })
        config["padding"] = .string(padding.rawValue)
        config["data_format"] = "channels_last"
        if includeDilation { config["dilation_rate"] = .array(dilation.map { .number(Double($0)) }) }
    }

    /// The geometry for a per-sample input shape `[H, W, C]`.
    func geometry(for input: Shape) throws -> ConvGeometry {
        guard input.count == 3 else {
            throw LayerError.inputShape("expects an image input [height, width, channels], got \(input)")
        }
        return try ConvGeometry(
            inputHeight: input[0], inputWidth: input[1], kernel: size, strides: strides,
            dilation: dilation, padding: padding)
    }
}

extension LayerConfig {
    /// Checks `data_format`: surgeon's tensors are NHWC, so only `channels_last` is accepted.
    func requireChannelsLast() throws {
        let format = try string("data_format", default: "channels_last")
        guard format == "channels_last" else {
            throw LayerError.config(
                .invalid(key: "data_format", value: "\"\(format)\"", expected: "\"channels_last\" (NHWC)"))
        }
    }
}

/// A number as configs print it (`1`, `-0.5`), for error messages.
func configNumber<T: BinaryFloatingPoint>(_ value: T) -> String { ConfigValue.number(Double(value)).description }
