import XCTest

@testable import SurgeonPipeline

/// Recipes too deep or with aliases are refused before Yams reads them (no stack overflow, no expansion bomb).
final class RecipeShapeTests: XCTestCase {
    func testARecipeNestedFourThousandDeepIsRefusedWithItsLine() {
        let yaml = "stages: " + String(repeating: "[", count: 4000) + String(repeating: "]", count: 4000) + "\n"
        XCTAssertThrowsError(try RecipeParser(source: "deep.yaml").parse(yaml)) { error in
            XCTAssertTrue("\(error)".contains("deep.yaml:1"), "\(error)")
            XCTAssertTrue("\(error)".contains("levels deep"), "\(error)")
        }
    }

    func testBlockNestingByDashesIsBounded() {
        let yaml = "stages:\n" + String(repeating: "- ", count: 500) + "x\n"
        XCTAssertNotNil(RecipeShapeCheck.problem(in: yaml))
    }

    func testAnAliasIsRefusedByName() {
        let yaml = "a: &a [1, 2]\nb: *a\n"
        XCTAssertEqual(RecipeShapeCheck.problem(in: yaml)?.line, 2)
    }

    func testQuotedStarsCommentsAndShallowNestingAreAccepted() {
        let yaml = "stages:\n  - prune: {strategy: \"*not an alias\", ratio: [0.1, 0.2]}  # a * in a comment\n"
        XCTAssertNil(RecipeShapeCheck.problem(in: yaml))
    }

    func testTheExampleRecipesPassTheShapeCheck() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(at: examples, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            XCTAssertNil(RecipeShapeCheck.problem(in: try String(contentsOf: file, encoding: .utf8)), file.path)
        }
    }
}
