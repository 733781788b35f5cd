import SurgeonCore
import XCTest

/// `Tensor.channelSums` and `addChannelBias` (a bias gradient and a bias), split over threads.
final class ChannelSumsTests: XCTestCase {
    private func values(_ shape: [Int], seed: UInt64) -> Tensor {
        var random = SeededRandom(seed: seed)
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.scalars[i] = random.nextFloat(in: -2, 2) }
        return t
    }

    private func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let before = Compute.threads
        defer { Compute.setThreads(before) }
        Compute.setThreads(n)
        return try body()
    }

    func testChannelSums_equalTheSumsInDoubleOnOneAndThreeThreads() {
        for shape in [[7, 33, 5, 19], [2, 3], [1, 1, 1, 64], [4000, 17]] {
            let t = values(shape, seed: UInt64(shape.reduce(0, +)))
            let c = shape.last!
            var expected = [Double](repeating: 0, count: c)
            for i in 0..<t.count { expected[i % c] += Double(t.scalars[i]) }
            for threads in [1, 3] {
                let sums = withThreads(threads) { t.channelSums() }
                XCTAssertEqual(sums.shape, [c])
                for j in 0..<c {
                    XCTAssertEqual(
                        Double(sums.scalars[j]), expected[j], accuracy: 1e-5 * Double(t.count / c), "\(shape)")
                }
                XCTAssertEqual(withThreads(threads) { t.channelSums() }, sums, "a fixed thread count repeats exactly")
            }
        }
    }

    func testChannelSums_ofAnEmptyTensorAreZeros() {
        XCTAssertEqual(Tensor(shape: [0, 4]).channelSums(), Tensor(shape: [4]))
    }

    func testAddChannelBias_addsToEveryRowOnThreeThreads() {
        let x = values([9, 41, 23, 24], seed: 3)
        let bias = values([24], seed: 4)
        var y = x
        withThreads(3) { y.addChannelBias(bias) }
        for i in 0..<x.count { XCTAssertEqual(y.scalars[i], x.scalars[i] + bias.scalars[i % 24]) }
        var empty = Tensor(shape: [0, 24])
        empty.addChannelBias(bias)
        XCTAssertEqual(empty.count, 0)
    }
}
