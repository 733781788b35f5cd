import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import XCTest

@testable import SurgeonKeras

/// What surgeon refuses to load, with messages naming the layer and its type. The configs are
/// written here by hand in Keras 3's layout; `KerasFixtureTests` checks files Keras saved.
final class KerasConfigRefusalTests: XCTestCase {
    private func tensor(_ layer: String) -> String {
        #"{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 4, 2], "dtype": "float32", "#
            + #""keras_history": ["\#(layer)", 0, 0]}}"#
    }

    private func entry(
        _ name: String, _ className: String, _ config: String = "{}", inputs: [String], module: String = "keras.layers",
        registered: String = "null", calls: Int = 1
    ) -> String {
        let node =
            inputs.count > 1
            ? #"{"args": [[\#(inputs.map(tensor).joined(separator: ", "))]], "kwargs": {}}"#
            : #"{"args": [\#(inputs.map(tensor).joined(separator: ", "))], "kwargs": {}}"#
        let nodes = inputs.isEmpty ? "" : Array(repeating: node, count: calls).joined(separator: ", ")
        var c = config
        c.removeLast()
        c += (c.count > 1 ? ", " : "") + #""name": "\#(name)"}"#
        return
            #"{"module": "\#(module)", "class_name": "\#(className)", "config": \#(c), "registered_name": "#
            + #"\#(registered), "name": "\#(name)", "inbound_nodes": [\#(nodes)]}"#
    }

    private func archive(_ layers: [String], output: String) throws -> Data {
        let config =
            #"{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "m", "#
            + #""layers": [\#(layers.joined(separator: ", "))], "input_layers": [["img", 0, 0]], "#
            + #""output_layers": [["\#(output)", 0, 0]]}}"#
        return try ZipMembers.write([("config.json", Data(config.utf8)), ("model.weights.h5", Data("not read".utf8))])
    }

    private let input =
        #"{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4, 2], "dtype": "#
        + #""float32", "name": "img"}, "registered_name": null, "name": "img", "inbound_nodes": []}"#

    private func loadError(_ layers: [String], output: String) throws -> String {
        let data = try archive([input] + layers, output: output)
        XCTAssertThrowsError(try KerasModelFile.decodeArchive(data, path: "m.keras", registry: .standard)) { _ in }
        do { _ = try KerasModelFile.decodeArchive(data, path: "m.keras", registry: .standard) } catch {
            return error.description
        }
        return ""
    }

    func testLambdaLayer_isRefusedWithoutRunningIt() throws {
        let message = try loadError(
            [
                entry(
                    "lam", "Lambda", #"{"function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}}"#,
                    inputs: ["img"])
            ], output: "lam")
        XCTAssertEqual(
            message,
            "m.keras: layer 'lam' (Lambda): a Lambda layer holds Python code, which surgeon never runs; replace it "
                + "with built-in layers"
        )
    }

    func testCustomRegisteredClass_isRefused() throws {
        let message = try loadError(
            [
                entry(
                    "scale", "ChannelScale", inputs: ["img"], module: "my_package",
                    registered: #""my_package>ChannelScale""#)
            ], output: "scale")
        XCTAssertEqual(
            message,
            "m.keras: layer 'scale' (ChannelScale): a custom class ('my_package>ChannelScale') defined in Python, "
                + "which surgeon never runs; register a Swift layer type named 'ChannelScale' (an extension package, "
                + "README \"Extending surgeon\") to load it"
        )
    }

    func testNestedModel_isRefused() throws {
        let message = try loadError(
            [entry("inner", "Sequential", #"{"layers": []}"#, inputs: ["img"], module: "keras")], output: "inner")
        XCTAssertEqual(
            message,
            "m.keras: layer 'inner' (Sequential): a nested model; surgeon reads flat models (rebuild it with the "
                + "nested model's layers inline)"
        )
    }

    func testUnsupportedLayerType_namesTheSupportedOnes() throws {
        let message = try loadError([entry("lstm", "LSTM", #"{"units": 4}"#, inputs: ["img"])], output: "lstm")
        XCTAssertTrue(
            message.hasPrefix("m.keras: layer 'lstm' (LSTM): surgeon does not support this layer type; supported: "),
            message)
        XCTAssertTrue(message.contains("Conv2D, ") && message.contains("BatchNormalization"), message)
    }

    func testKerasOperation_isRefused() throws {
        let message = try loadError(
            [entry("add", "Add", inputs: ["img", "img"], module: "keras.src.ops.numpy", registered: #""Add""#)],
            output: "add")
        XCTAssertEqual(
            message,
            "m.keras: layer 'add' (Add): a Keras operation (keras.src.ops.numpy), not a layer; surgeon reads models "
                + "built from layers (use e.g. layers.Add instead of +)"
        )
    }

    func testSharedLayer_isRefused() throws {
        let message = try loadError([entry("relu", "ReLU", inputs: ["img"], calls: 2)], output: "relu")
        XCTAssertEqual(
            message,
            "m.keras: layer 'relu' (ReLU): it is called 2 times (a shared layer); surgeon supports layers called once")
    }

    func testChannelsFirst_isRefused() throws {
        let message = try loadError(
            [
                entry(
                    "c", "Conv2D", #"{"filters": 2, "kernel_size": [1, 1], "data_format": "channels_first"}"#,
                    inputs: ["img"])
            ], output: "c")
        XCTAssertEqual(
            message,
            "m.keras: layer 'c' (Conv2D): data_format 'channels_first' is not supported; surgeon computes in "
                + "channels_last (NHWC)"
        )
    }

    func testBadLayerConfig_namesTheLayer() throws {
        let message = try loadError(
            [entry("c", "Conv2D", #"{"filters": -3, "kernel_size": [1, 1]}"#, inputs: ["img"])], output: "c")
        XCTAssertTrue(message.hasPrefix("m.keras: layer 'c' (Conv2D): "), message)
        XCTAssertTrue(message.contains("filters"), message)
    }

    func testUnknownInput_namesIt() throws {
        let message = try loadError([entry("r", "ReLU", inputs: ["ghost"])], output: "r")
        XCTAssertEqual(message, "m.keras: layer 'r' (ReLU): it reads the unknown layer 'ghost'")
    }

    /// Keras 2's hard_sigmoid is another function than Keras 3's: refused in Keras 2 files only.
    func testKeras2HardSigmoid_isRefusedNotSilentlyChanged() throws {
        let layers = [input, entry("gate", "Activation", #"{"activation": "hard_sigmoid"}"#, inputs: ["img"])]
        let config =
            #"{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "m", "#
            + #""layers": [\#(layers.joined(separator: ", "))], "input_layers": [["img", 0, 0]], "#
            + #""output_layers": [["gate", 0, 0]]}}"#
        let keras2 = try ZipMembers.write([
            ("metadata.json", Data(#"{"keras_version": "2.15.0"}"#.utf8)), ("config.json", Data(config.utf8)),
            ("model.weights.h5", Data()),
        ])
        XCTAssertThrowsError(try KerasModelFile.decodeArchive(keras2, path: "m.keras", registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)",
                "m.keras: layer 'gate' (Activation): Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1)) differs from "
                    + "Keras 3's (relu6(x + 3) / 6); surgeon refuses to change the model's function silently"
            )
        }
    }

    func testConfigThatIsNotJSON_isAConfigError() throws {
        let data = try ZipMembers.write([("config.json", Data("{not json".utf8)), ("model.weights.h5", Data())])
        XCTAssertThrowsError(try KerasModelFile.decodeArchive(data, path: "m.keras", registry: .standard)) { error in
            XCTAssertTrue("\(error)".hasPrefix("m.keras: config.json is not valid JSON"), "\(error)")
        }
    }

    func testUnsupportedModelClass_isRefused() throws {
        let data = try ZipMembers.write([
            ("config.json", Data(#"{"class_name": "MyModel", "config": {"name": "x"}}"#.utf8)),
            ("model.weights.h5", Data()),
        ])
        XCTAssertThrowsError(try KerasModelFile.decodeArchive(data, path: "m.keras", registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)",
                "m.keras: config.json: the model class 'MyModel' is not supported; surgeon reads Functional and "
                    + "Sequential models"
            )
        }
    }
}
