import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// Refusals a person can act on: for a sweep of bad files and paths, every command exits
/// non-zero with a message that names the file or option at fault, and no raw `DecodingError`
/// or Foundation error dump reaches standard error.
final class ErrorWordingTests: CLITestCase {
    /// Text that only appears when an error from Foundation or Codable is printed as it is.
    private let rawDumpMarkers = [
        "DecodingError", "NSCocoaErrorDomain", "NSPOSIXErrorDomain", "Error Domain=", "Data was corrupted",
        "CodingKeys(", "Context(", "Optional(", "The operation could not be completed", "debugDescription",
    ]

    private struct Case {
        var args: [String]
        /// What the message must name (a file, a folder or an option).
        var names: String
    }

    private func write(_ text: String, _ name: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    private func prepare() throws {
        let made = try surgeon(
            "new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(made.status, 0, made.stderr)
        try writeMNIST(0..<8, as: "d")
        for dir in ["dir.surgeon", "dir.json", "dir.yaml", "dir.npy", "dir.keras"] {
            try FileManager.default.createDirectory(atPath: path(dir), withIntermediateDirectories: true)
        }
        try write("", "empty.surgeon")
        try write("", "empty.keras")
        try write("not a model at all, just words", "words.surgeon")
        try write("PK\u{3}\u{4} not really a zip", "fake.keras")
        try write("{", "open.json")
        try write("[]", "list.json")
        try write(#"{"surgeon_plan": "yes"}"#, "typed.json")
        try write(#"{"surgeon_plan": 1, "groups": [{"id": "x"}]}"#, "groups.json")
        try write("stages: [", "open.yaml")
        try write("stages: 5", "number.yaml")
        try write("- a\n- b\n", "list.yaml")
        try write("checkpoint, not a folder", "file-not-folder")
        try write("{", "open.npy")
    }

    private var cases: [Case] {
        [
            Case(args: ["inspect", "dir.surgeon"], names: "dir.surgeon"),
            Case(args: ["inspect", "missing.surgeon"], names: "missing.surgeon"),
            Case(args: ["inspect", "empty.surgeon"], names: "empty.surgeon"),
            Case(args: ["inspect", "words.surgeon"], names: "words.surgeon"),
            Case(args: ["inspect", "dir.keras"], names: "dir.keras"),
            Case(args: ["inspect", "empty.keras"], names: "empty.keras"),
            Case(args: ["inspect", "fake.keras"], names: "fake.keras"),
            Case(args: ["prune", "m.surgeon", "--plan", "dir.json", "-o", "out.surgeon"], names: "dir.json"),
            Case(args: ["prune", "m.surgeon", "--plan", "missing.json", "-o", "out.surgeon"], names: "missing.json"),
            Case(args: ["prune", "m.surgeon", "--plan", "open.json", "-o", "out.surgeon"], names: "open.json"),
            Case(args: ["prune", "m.surgeon", "--plan", "list.json", "-o", "out.surgeon"], names: "list.json"),
            Case(args: ["prune", "m.surgeon", "--plan", "typed.json", "-o", "out.surgeon"], names: "typed.json"),
            Case(args: ["prune", "m.surgeon", "--plan", "groups.json", "-o", "out.surgeon"], names: "groups.json"),
            Case(args: ["run", "dir.yaml", "-o", "runs"], names: "dir.yaml"),
            Case(args: ["run", "missing.yaml", "-o", "runs"], names: "missing.yaml"),
            Case(args: ["run", "open.yaml", "-o", "runs"], names: "open.yaml"),
            Case(args: ["run", "number.yaml", "-o", "runs"], names: "number.yaml"),
            Case(args: ["run", "list.yaml", "-o", "runs"], names: "list.yaml"),
            Case(args: ["eval", "m.surgeon", "--data", "dir.npy", "--labels", "d-y.npy"], names: "dir.npy"),
            Case(args: ["eval", "m.surgeon", "--data", "open.npy", "--labels", "d-y.npy"], names: "open.npy"),
            Case(args: ["eval", "m.surgeon", "--data", "d-x.npy", "--labels", "missing.npy"], names: "missing.npy"),
            Case(
                args: [
                    "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--epochs", "1",
                    "--checkpoint-dir", "file-not-folder", "-o", "out.surgeon",
                ], names: "file-not-folder"),
            Case(args: ["convert", "m.surgeon", "no/such/folder/x.surgeon"], names: "no/such/folder"),
            Case(args: ["convert", "m.surgeon", "dir.json/x.unknown"], names: "x.unknown"),
            Case(args: ["convert", "m.surgeon", "dir.surgeon"], names: "dir.surgeon"),
        ]
    }

    func testBadFilesAndPaths_areRefusedNamingThemWithoutARawErrorDump() throws {
        try prepare()
        for c in cases {
            let run = try surgeon(c.args)
            let command = c.args.joined(separator: " ")
            XCTAssertNotEqual(run.status, 0, "\(command) should fail")
            XCTAssertTrue(run.stderr.contains(c.names), "\(command): the message should name \(c.names): \(run.stderr)")
            for marker in rawDumpMarkers {
                XCTAssertFalse(run.stderr.contains(marker), "\(command) printed a raw error (\(marker)): \(run.stderr)")
            }
            XCTAssertFalse(exists("out.surgeon"), "\(command) left an output behind")
        }
    }

    func testADamagedRunState_isRefusedNamingTheFileWithoutARawErrorDump() throws {
        try writeMNIST(0..<64, as: "d")
        let yaml = """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10, width: 0.25}
            data: {images: d-x.npy, labels: d-y.npy, train: [0, 48], validation: [48, 64]}
            stages:
              - train: {epochs: 1, batch_size: 16}
            """
        try write(yaml, "recipe.yaml")
        try FileManager.default.createDirectory(atPath: path("runs"), withIntermediateDirectories: true)
        for state in ["{", "[]", #"{"recipeStages": 3}"#] {
            try write(state, "runs/state.json")
            let run = try surgeon("run", "recipe.yaml", "-o", "runs", "--threads", "1")
            XCTAssertNotEqual(run.status, 0, state)
            XCTAssertTrue(run.stderr.contains("state.json"), "\(state): \(run.stderr)")
            for marker in rawDumpMarkers {
                XCTAssertFalse(run.stderr.contains(marker), "\(state) printed a raw error (\(marker)): \(run.stderr)")
            }
        }
    }
}
