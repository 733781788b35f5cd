import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

final class LabeledDataTests: XCTestCase {
    func testOneHotLabels_becomeClassIndices() throws {
        let oneHot = Tensor.literal([3, 3], [0, 1, 0, 1, 0, 0, 0, 0, 1])
        XCTAssertEqual(try LabeledData.labels(from: oneHot, source: "y.npy"), [1, 0, 2])
    }

    func testRowThatIsNotOneHot_isAnErrorNamingTheFileAndRow() {
        let bad = Tensor.literal([2, 2], [0, 1, 0.5, 0.5])
        XCTAssertThrowsError(try LabeledData.labels(from: bad, source: "y.npy")) { error in
            XCTAssertEqual(
                "\(error)",
                "y.npy: label 1 is a row that is not one-hot; expected an integer class index or a one-hot row")
        }
    }

    func testFractionalLabel_isAnError() {
        XCTAssertThrowsError(try LabeledData.labels(from: Tensor.literal([2], [1, 2.5]), source: "y.npy")) { error in
            XCTAssertEqual("\(error)", "y.npy: label 1 is 2.5; expected an integer class index or a one-hot row")
        }
    }

    func testCountMismatch_isAnError() {
        XCTAssertThrowsError(try LabeledData(images: Tensor(shape: [3, 2, 2, 1]), labels: [0, 1])) { error in
            XCTAssertEqual("\(error)", "there are 3 samples but 2 labels")
        }
    }

    func testValidationSplit_takesTheTail() throws {
        let data = try LabeledData(images: Tensor.random(shape: [10, 1, 1, 1], seed: 1), labels: Array(0..<10))
        let (train, validation) = try data.split(validationFraction: 0.2)
        XCTAssertEqual(train.labels, Array(0..<8))
        XCTAssertEqual(validation.labels, [8, 9])
        XCTAssertEqual(validation.images.scalars, Array(data.images.scalars[8...]))
        XCTAssertThrowsError(try data.split(validationFraction: 1.5))
    }

    func testNormalization_appliesPerChannelMeanAndStd() throws {
        let x = Tensor.literal([1, 1, 2, 2], [0.5, 1, 0.7, 0])
        let y = try InputNormalization(mean: [0.5, 0.5], std: [0.25, 0.5]).apply(to: x)
        assertClose(y, Tensor.literal([1, 1, 2, 2], [0, 1, 0.8, -1]), tolerance: 1e-6)
        XCTAssertThrowsError(try InputNormalization(mean: [0, 0, 0], std: [1]).apply(to: x)) { error in
            XCTAssertEqual("\(error)", "mean/std give 3/1 values for data with 2 channels; give 1 or 2")
        }
    }
}
