import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline
import XCTest

/// A run folder's `state.json` comes from outside (a user may edit or damage it): every figure in
/// it is checked against the recipe before a run resumes from it, and one that does not match is
/// refused naming the file, the key, the value and what was expected, never a trap.
final class RunFolderStateTests: XCTestCase {
    private var folder: URL!
    private var stateURL: URL { folder.appendingPathComponent("state.json") }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-state-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func data(_ n: Int) throws -> LabeledData {
        var random = SeededRandom(seed: 3)
        var images = Tensor(shape: [n, 8, 8, 1])
        for i in images.scalars.indices { images.scalars[i] = random.nextFloat(in: 0, 1) }
        return try LabeledData(images: images, labels: (0..<n).map { $0 % 4 })
    }

    /// Three quick stages (no training), run to the end once, so that `state.json` is a real one.
    private func completedRun() throws -> (PipelineRunner, Graph, LabeledData) {
        let recipe = try RecipeParser(source: "test").parse(
            """
            model: {architecture: vgg, input_shape: [8, 8, 1], classes: 4, width: 0.25}
            stages:
              - eval: {}
              - export: {path: final.surgeon}
              - eval: {}
            """)
        guard case let .architecture(name, shape, classes, width) = recipe.model else {
            throw PipelineError("not an architecture")
        }
        let graph = try ArchitectureRegistry.standard.architecture(named: name)
            .build(ArchitectureOptions(inputShape: shape, classes: classes, width: width))
        var runner = PipelineRunner(recipe: recipe, folder: folder)
        runner.measureLatency = false
        let data = try data(16)
        _ = try runner.run(initial: graph, train: data, validation: data)
        return (runner, graph, data)
    }

    private func savedState() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
    }

    private func write(_ state: [String: Any]) throws {
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
    }

    /// Runs again on the tampered state and returns the refusal's message.
    private func refusal(
        _ runner: PipelineRunner, _ graph: Graph, _ data: LabeledData, file: StaticString = #filePath,
        line: UInt = #line
    ) -> String {
        var message = ""
        XCTAssertThrowsError(try runner.run(initial: graph, train: data, validation: data), file: file, line: line) {
            message = "\($0)"
        }
        XCTAssertTrue(message.contains(stateURL.path), "names the file: \(message)", file: file, line: line)
        return message
    }

    /// Edits the first completed stage of a copy of `state`.
    private func editingFirstStage(_ state: [String: Any], _ edit: (inout [String: Any]) -> Void) -> [String: Any] {
        var state = state
        var completed = state["completed"] as? [[String: Any]] ?? []
        edit(&completed[0])
        state["completed"] = completed
        return state
    }

    func testUntouchedState_resumesAsCompleted() throws {
        let (runner, graph, data) = try completedRun()
        let again = try runner.run(initial: graph, train: data, validation: data)
        XCTAssertEqual(again.map(\.label), ["eval", "export", "eval"])
    }

    func testMoreCompletedStagesThanTheRecipeHas_isRefused() throws {
        let (runner, graph, data) = try completedRun()
        var state = try savedState()
        var completed = state["completed"] as? [[String: Any]] ?? []
        completed.append(completed[2])
        state["completed"] = completed
        try write(state)
        let message = refusal(runner, graph, data)
        XCTAssertTrue(
            message.contains(
                "the number of completed stages: 4 is out of range (expected an integer in 0...3); at most the "
                    + "recipe's 3 stages"), message)
    }

    func testStageIndexOutOfRange_isRefusedNamingTheKey() throws {
        let (runner, graph, data) = try completedRun()
        for index in [7, -1, 1, Int(Int32.max)] {
            try write(editingFirstStage(try savedState()) { $0["index"] = index })
            let message = refusal(runner, graph, data)
            XCTAssertTrue(
                message.contains("completed[0].index: \(index) is out of range (expected an integer in 0...0)"),
                message)
            try write(editingFirstStage(try savedState()) { $0["index"] = 0 })
        }
    }

    func testNegativeAndOutOfRangeFigures_areRefusedNamingTheKeyAndTheValue() throws {
        let (runner, graph, data) = try completedRun()
        let original = try savedState()
        let epoch: [String: Any] = [
            "epoch": -3, "loss": 1.0, "accuracy": 0.5, "learningRate": 0.1, "penalty": 0.0,
            "regularizerReport": [String: Double](), "seconds": 1.0,
        ]
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("params", { $0["params"] = -5 }, "completed[0].params: -5 is out of range"),
            ("macs", { $0["macs"] = -1 }, "completed[0].macs: -1 is out of range"),
            ("accuracy", { $0["accuracy"] = 2.5 }, "completed[0].accuracy: 2.5 is out of range (expected a finite"),
            ("loss", { $0["loss"] = -0.5 }, "completed[0].loss: -0.5 is out of range"),
            ("seconds", { $0["seconds"] = -1 }, "completed[0].seconds: -1 is out of range"),
            ("gammas", { $0["gammas"] = [0.5, -2] }, "completed[0].gammas[1]: -2 is out of range"),
            ("epoch", { $0["history"] = [epoch] }, "completed[0].history[0].epoch: -3 is out of range"),
        ]
        for (name, edit, expected) in cases {
            try write(editingFirstStage(original, edit))
            let message = refusal(runner, graph, data)
            XCTAssertTrue(message.contains(expected), "\(name): \(message)")
        }
    }

    func testNaNHugeNumbersAndWrongTypes_areRefusedWithoutATrap() throws {
        let (runner, graph, data) = try completedRun()
        let original = try String(contentsOf: stateURL, encoding: .utf8)
        // What the message must say (beyond the file), when the value can be named.
        let edits: [(String, String, String)] = [
            ("NaN", #""accuracy":NaN,"#, "not valid JSON"),
            ("infinite", #""accuracy":1e999,"#, "not valid JSON"),
            (
                "huge index", #""index":1e300,"#,
                "completed[0].index: 1e+300 is out of range (expected an integer in -2^53...2^53)"
            ),
            (
                "huge integer", #""params":123456789012345678901234567890,"#,
                "completed[0].params: 1.2345678901234568e+29 is out of range"
            ),
            ("negative huge", #""macs":-1e400,"#, "not valid JSON"),
            ("fraction", #""index":0.5,"#, "completed[0].index: 0.5 is not a whole number"),
            ("string", #""index":"zero","#, "expected an integer at completed[0].index, found a string"),
            ("null", #""index":null,"#, "completed[0].index"),
            ("array", #""macs":[1],"#, "completed[0].macs"),
        ]
        for (name, replacement, expected) in edits {
            // Replace the first stage's field of the same key.
            let key = String(replacement.prefix { $0 != ":" })
            guard let range = original.range(of: key + ":") ?? original.range(of: key + " : ") else {
                XCTFail("\(key) not in \(original)")
                continue
            }
            let end = try XCTUnwrap(original[range.upperBound...].firstIndex { $0 == "," || $0 == "}" })
            var tampered = original
            tampered.replaceSubrange(range.lowerBound...end, with: replacement)
            try Data(tampered.utf8).write(to: stateURL)
            let message = refusal(runner, graph, data)
            XCTAssertTrue(message.contains(expected), "\(name): \(message)")
        }
        for top in ["[]", "{}", #"{"recipeStages": ["eval", "export", "eval"], "completed": {}}"#, "7"] {
            try Data(top.utf8).write(to: stateURL)
            _ = refusal(runner, graph, data)
        }
    }

    func testStageNamesOfAnotherRecipe_areRefusedSayingWhatWasExpected() throws {
        let (runner, graph, data) = try completedRun()
        let original = try savedState()
        var state = original
        state["recipeStages"] = ["train", "prune", "eval"]
        try write(state)
        var message = refusal(runner, graph, data)
        XCTAssertTrue(
            message.contains("recipeStages is [train, prune, eval], but the recipe's stages are [eval, export, eval]"),
            message)

        state = original
        var completed = state["completed"] as? [[String: Any]] ?? []
        completed[1]["stage"] = "train"
        state["completed"] = completed
        try write(state)
        message = refusal(runner, graph, data)
        XCTAssertTrue(
            message.contains("completed[1].stage is 'train' (label 'export'), but stage 2 of the recipe is 'export'"),
            message)
    }

    func testStateThatIsAFolder_isRefusedNamingIt() throws {
        let (runner, graph, data) = try completedRun()
        try FileManager.default.removeItem(at: stateURL)
        try FileManager.default.createDirectory(at: stateURL, withIntermediateDirectories: false)
        let message = refusal(runner, graph, data)
        XCTAssertTrue(message.hasPrefix("cannot read \(stateURL.path), the state of the run: "), message)
    }
}
