/// A small, fast, seedable pseudo-random generator (xoshiro256**, Blackman & Vigna 2018).
///
/// Every random choice in surgeon (weight initialisation, shuffling, dropout masks) goes through
/// this type, so that the same seed gives the same result on every run.
public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole state is derived from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform value in `[0, 1)` with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform value in `[low, high)`.
    public mutating func nextFloat(in low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnitFloat()
    }

    /// A standard normal value (Box-Muller).
    public mutating func nextNormal() -> Float {
        var u1 = nextUnitFloat()
        if u1 < 1e-12 { u1 = 1e-12 }
        let u2 = nextUnitFloat()
        return (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
    }

    /// A generator for an independent stream, e.g. per layer or per step.
    public func derived(_ salt: UInt64) -> SeededRandom {
        var copy = self
        return SeededRandom(seed: copy.next() ^ (salt &* 0x2545_F491_4F6C_DD1D))
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
