import Foundation
import SurgeonCore
import SurgeonPipeline
import XCTest

final class SurgeryCommandTests: CLITestCase {
    /// Writes a plan deleting the first half of every prunable group, from `groups --template`.
    private func halfPlan(for model: String, to plan: String) throws {
        let run = try surgeon("groups", model, "--template", "template.json", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        var template = try JSONDecoder().decode(
            PruningPlan.self, from: Data(contentsOf: URL(fileURLWithPath: path("template.json"))))
        for k in template.groups.indices where template.groups[k].prunable {
            template.groups[k].delete = Array(0..<(template.groups[k].size / 2))
        }
        try JSONEncoder().encode(template).write(to: URL(fileURLWithPath: path(plan)))
    }

    func testHalfOfEveryGroup_prunesLoadsEvaluatesAndTrainsFurther() throws {
        try writeMNIST(0..<64, as: "d")
        for arch in ["mobilenetv2", "res", "vgg"] {
            var run = try surgeon(
                "new", arch, "--input-shape", "28,28,1", "--classes", "10", "--width", "0.5", "-o", "\(arch).surgeon")
            XCTAssertEqual(run.status, 0, run.stderr)
            try halfPlan(for: "\(arch).surgeon", to: "\(arch)-plan.json")
            run = try surgeon(
                "prune", "\(arch).surgeon", "--plan", "\(arch)-plan.json", "-o", "\(arch)-pruned.surgeon", "--json")
            XCTAssertEqual(run.status, 0, run.stderr)
            let summary = try JSONDecoder().decode(PruningSummary.self, from: Data(run.stdout.utf8))
            XCTAssertLessThan(Double(summary.macsAfter), 0.4 * Double(summary.macsBefore), arch)
            XCTAssertLessThan(summary.paramsAfter, summary.paramsBefore / 2, arch)
            run = try surgeon("eval", "\(arch)-pruned.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--json")
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(try json(run.stdout)["samples"] as? Int, 64)
            run = try surgeon(
                "train", "\(arch)-pruned.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--epochs", "1",
                "--batch-size", "32", "-o", "\(arch)-retrained.surgeon")
            XCTAssertEqual(run.status, 0, run.stderr)
            run = try surgeon("inspect", "\(arch)-retrained.surgeon", "--json")
            XCTAssertEqual(try json(run.stdout)["macs"] as? Int, summary.macsAfter, arch)
        }
    }

    func testDryRun_reportsChangesAndWritesNothing() throws {
        try surgeon("new", "res", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.5", "-o", "m.surgeon")
        try halfPlan(for: "m.surgeon", to: "plan.json")
        let run = try surgeon("prune", "m.surgeon", "--plan", "plan.json", "--dry-run", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("stem_conv") && run.stdout.contains("16 -> 8"), run.stdout)
        XCTAssertTrue(run.stdout.contains("params ") && run.stdout.contains("MACs "), run.stdout)
        XCTAssertFalse(exists("out.surgeon"))
    }

    func testRefusedPlan_namesTheProblemAndWritesNothing() throws {
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.5", "-o", "m.surgeon")
        var run = try surgeon("groups", "m.surgeon", "--template", "plan.json", "--json")
        var plan = try JSONDecoder().decode(
            PruningPlan.self, from: Data(contentsOf: URL(fileURLWithPath: path("plan.json"))))
        let g = plan.groups.first { $0.prunable }!.id
        plan.groups[g].delete = Array(0..<plan.groups[g].size)
        try JSONEncoder().encode(plan).write(to: URL(fileURLWithPath: path("all.json")))
        run = try surgeon("prune", "m.surgeon", "--plan", "all.json", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "the plan deletes all 16 channels of group \(g) (stem_conv, stem_bn, stem_relu, block1_conv); keep at "
                    + "least one"
            ), run.stderr)
        XCTAssertFalse(exists("out.surgeon"))

        // A plan made for another model.
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "-o", "wide.surgeon")
        run = try surgeon("prune", "wide.surgeon", "--plan", "plan.json", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "the plan does not match the model: group 1 has 32 channels in the model, the plan says 16"), run.stderr
        )
        XCTAssertFalse(exists("out.surgeon"))

        try Data("{\"groups\": []}".utf8).write(to: URL(fileURLWithPath: path("bad.json")))
        run = try surgeon("prune", "m.surgeon", "--plan", "bad.json", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("bad.json is not a pruning plan: 'surgeon_plan' is missing at the top level"),
            run.stderr)
        XCTAssertFalse(exists("out.surgeon"))
    }

    func testGroups_listsMembersAndRoles() throws {
        try surgeon("new", "mobilenetv2", "--input-shape", "28,28,1", "--classes", "10", "-o", "m.surgeon")
        var run = try surgeon("groups", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("block_1_depthwise (DepthwiseConv2D) follower, 96 channel(s)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("15 groups, 13 prunable"), run.stdout)
        run = try surgeon("groups", "m.surgeon", "--json")
        let groups = try JSONDecoder().decode([ChannelGroup].self, from: Data(run.stdout.utf8))
        XCTAssertEqual(groups.count, 15)
        let residual = groups.first { $0.members.contains { $0.layer == "block_2_add" } }!
        XCTAssertEqual(
            residual.members.filter { $0.role == .producer }.map(\.layer), ["block_1_project", "block_2_project"])
    }

    func testRules_listsEveryLayerTypeWithItsChannelMap() throws {
        let run = try surgeon("rules")
        XCTAssertEqual(run.status, 0, run.stderr)
        for line in [
            "Conv2D                  fresh", "DepthwiseConv2D         expanded(by: depth_multiplier)",
            "Add                     tied", "Concatenate             concatenated", "Flatten                 flattened",
            "Softmax                 identity, pinned (not prunable)",
        ] {
            XCTAssertTrue(run.stdout.contains(line), "missing '\(line)' in\n\(run.stdout)")
        }
    }
}
