import Foundation
import SurgeonFormats
import XCTest

/// oneDNN picks its kernels for the CPU at run time: with its instruction sets capped (as on an
/// x86-64 without AVX-512, or without AVX), surgeon runs and predicts what it predicts with all of
/// them. `DNNL_MAX_CPU_ISA` is oneDNN's own cap.
final class CPUDispatchTests: CLITestCase {
    func testPredictions_withTheInstructionSetsCapped_matchTheFullMachine() throws {
        let model = KerasCommandTests.fixture("mobilenetv2_narrow.keras")
        let data = KerasCommandTests.fixture("mobilenetv2_narrow.input.npy")
        XCTAssertEqual(try surgeon("predict", model, "--data", data, "-o", "full.npy").status, 0)
        let full = try floats("full.npy")
        for isa in ["AVX2", "SSE41"] {
            let run = try surgeon(
                ["predict", model, "--data", data, "-o", "\(isa).npy"], environment: ["DNNL_MAX_CPU_ISA": isa])
            XCTAssertEqual(run.status, 0, run.stderr)
            let capped = try floats("\(isa).npy")
            XCTAssertEqual(capped.count, full.count)
            for (a, b) in zip(capped, full) {
                XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), isa)
            }
        }
    }

    private func floats(_ name: String) throws -> [Float] {
        let array = try Npy.decode(try Data(contentsOf: URL(fileURLWithPath: path(name))), source: name)
        guard case .float32(let values) = array.storage else {
            XCTFail("\(name) is not float32")
            return []
        }
        return values
    }
}
