import Foundation

/// A 64-bit hash of byte content, for "has this file's content changed?" keys (the report writer
/// skips files whose content it already wrote). Not cryptographic: it guards against stale files,
/// not against an adversary.
///
/// FNV-1a's step applied to 8-byte words: each step `h = (h ^ word) * prime` is a bijection of `h`
/// for a given word, so two inputs that differ in one word always hash differently; a final
/// avalanche spreads the high bits down. About 2-3 GB/s: a 1 MB sprite costs well under a
/// millisecond, far less than encoding it as PNG.
public struct ContentHash: Sendable {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325
    private var length: UInt64 = 0
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        var i = 0
        var h = state
        while i + 8 <= n {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* Self.prime
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n { tail |= UInt64(bytes[i]) << shift; shift += 8; i += 1 }
        if shift > 0 { h = (h ^ tail ^ (shift << 56)) &* Self.prime }
        state = h
        length &+= UInt64(n)
    }

    public mutating func add<C: ContiguousBytes>(_ bytes: C) {
        bytes.withUnsafeBytes { add($0) }
    }

    public mutating func add(_ value: Int) {
        withUnsafeBytes(of: Int64(value).littleEndian) { add($0) }
    }

    public mutating func add(_ text: String) {
        var copy = text
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
        add(0)   // a separator, so ("ab", "c") and ("a", "bc") differ
    }

    /// The hash as 16 hex digits, mixed with the total length (a murmur3-style finalizer).
    public var hex: String {
        var h = state ^ (length &* 0x9e37_79b9_7f4a_7c15)
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        let digits = String(h, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The hex hash of `bytes`.
    public static func of<C: ContiguousBytes>(_ bytes: C) -> String {
        var hash = ContentHash()
        hash.add(bytes)
        return hash.hex
    }
}
