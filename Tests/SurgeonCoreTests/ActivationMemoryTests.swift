import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// The activation budget: a pass over a batch is refused before it runs when its activations
/// would not fit, naming the node whose output crosses the budget.
final class ActivationMemoryTests: XCTestCase {
    /// Inference peaks at `concat`: its output (288 floats a sample) while `add` and `conv_a`
    /// (144 each) are still alive, 576 floats; a batch of 10 needs 23,040 bytes.
    func testInference_countsTheValuesAliveAtOnce() throws {
        let graph = try TestGraphs.residual()
        XCTAssertNoThrow(
            try graph.checkActivationMemory(batch: 10, training: false, budget: MemoryBudget(bytes: 23_040)))
        XCTAssertThrowsError(
            try graph.checkActivationMemory(batch: 10, training: false, budget: MemoryBudget(bytes: 23_039))
        ) { error in
            guard case let .activationMemory(node, _, budgetError)? = error as? GraphError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(node, "concat")
            XCTAssertEqual(budgetError.needed, 23_040)
            XCTAssertTrue(
                "\(error)".hasPrefix("node 'concat' (TestJoin): the activations of an inference pass"), "\(error)")
            XCTAssertTrue("\(error)".contains("a smaller batch needs proportionally less"), "\(error)")
        }
    }

    /// Training keeps every output (839 floats a sample) and needs twice the largest (288) for
    /// gradients: 1,415 floats, 56,600 bytes for a batch of 10.
    func testTraining_countsTheWholeTapeAndTheGradients() throws {
        let graph = try TestGraphs.residual()
        XCTAssertNoThrow(
            try graph.checkActivationMemory(batch: 10, training: true, budget: MemoryBudget(bytes: 56_600)))
        XCTAssertThrowsError(
            try graph.checkActivationMemory(batch: 10, training: true, budget: MemoryBudget(bytes: 56_599))
        ) { error in
            guard case let .activationMemory(node, _, budgetError)? = error as? GraphError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(node, "dense")
            XCTAssertEqual(budgetError.needed, 56_600)
        }
    }

    func testABatchWhoseSizeOverflows_isRefusedNotTrapped() throws {
        let graph = try TestGraphs.residual()
        XCTAssertThrowsError(try graph.checkActivationMemory(batch: Int.max / 2, training: true)) { error in
            guard case let .activationMemory(node, _, budgetError)? = error as? GraphError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(node, "input")
            XCTAssertNil(budgetError.needed)
            XCTAssertTrue("\(error)".contains("more than 2^63 bytes"), "\(error)")
        }
    }
}
