import Foundation
import XCTest

/// Command-line numbers near `Int.max` (or NaN) are refused by `validate()` with the option, the
/// value and the accepted range: they never trap in arithmetic or run for ever.
final class NumberBoundsTests: CLITestCase {
    func testHugeOrNaNNumbers_areUsageErrorsNamingTheOption() throws {
        let made = try surgeon(
            "new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(made.status, 0, made.stderr)
        let train = ["train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "-o", "o.surgeon"]
        let prune = ["prune", "m.surgeon", "--strategy", "l1", "-o", "p.surgeon"]
        let cases: [([String], String)] = [
            (train + ["--epochs", "9223372036854775807"], "--epochs: 9223372036854775807 is out of range"),
            (
                train + ["--threads", "2147483648"],
                "--threads: 2147483648 is out of range (expected an integer in 1...1024)"
            ),
            (train + ["--batch-size", "9223372036854775807"], "--batch-size: 9223372036854775807 is out of range"),
            (
                prune + ["--ratio", "0.5", "--steps", "9223372036854775807"],
                "--steps: 9223372036854775807 is out of range"
            ),
            (
                prune + ["--ratio", "0.5", "--round-to", "9223372036854775807"],
                "--round-to (round_to:): 9223372036854775807"
            ),
            (prune + ["--threshold", "nan"], "the threshold (--threshold, threshold:): nan is not finite"),
            (prune + ["--ratio", "nan"], "the ratio (--ratio, ratio:): nan is not finite"),
            (
                ["new", "vgg", "--input-shape", "1000000,28,1", "--classes", "10", "-o", "n.surgeon"],
                "sizes in 1...65536, got [1000000, 28, 1]"
            ),
        ]
        for (arguments, message) in cases {
            let run = try surgeon(arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            XCTAssertFalse(exists("o.surgeon") || exists("p.surgeon") || exists("n.surgeon"))
        }
    }
}
