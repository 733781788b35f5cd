import SurgeonCore

/// A small separable image problem for training tests: the class (0-3) is which quadrant of a
/// `side` x `side` one-channel image is bright. Bright pixels start at `bright`, the others at 0,
/// and every pixel gets uniform noise in `-noise...noise`. Seeded: the same arguments give the
/// same images and labels.
public func quadrantImages(
    count: Int, side: Int, seed: UInt64, bright: Float = 1, noise: Float
) throws
    -> LabeledData
{
    var random = SeededRandom(seed: seed)
    let half = max(side / 2, 1), pixels = side * side
    var images = Tensor(shape: [count, side, side, 1])
    var labels: [Int] = []
    for n in 0..<count {
        let label = Int(random.next() % 4)
        labels.append(label)
        for y in 0..<side {
            for x in 0..<side {
                let base: Float = (y / half) * 2 + x / half == label ? bright : 0
                images.scalars[n * pixels + y * side + x] = base + noise * random.nextFloat(in: -1, 1)
            }
        }
    }
    return try LabeledData(images: images, labels: labels)
}
