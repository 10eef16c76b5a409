/// One candidate for a feature map's top-k: a probe image, where its map peaks and how high.
public struct Activation: Sendable, Equatable {
    public var image: Int
    public var y: Int
    public var x: Int
    public var value: Float
}

/// Keeps the k strongest activations seen, strongest first; equal values rank the lower probe
/// index first, so results do not depend on batch order.
public struct TopK: Sendable {
    public let k: Int
    public private(set) var items: [Activation] = []

    /// The list's storage is made whole here (k + 1: `offer` inserts before it drops the last),
    /// so no list grows during the top-k pass: a list reallocated between a batch's large
    /// activations pinned the heap where they were freed, and later batches page-faulted fresh
    /// memory instead of reusing theirs.
    public init(k: Int) {
        self.k = k
        items.reserveCapacity(k + 1)
    }

    @inline(__always)
    static func ranksBefore(_ a: Activation, _ b: Activation) -> Bool {
        a.value > b.value || (a.value == b.value && a.image < b.image)
    }

    /// Whether `candidate` entered the list. Offered in probe order, a probe that did not enter
    /// never will: the list's last entry only moves up.
    @discardableResult
    public mutating func offer(_ candidate: Activation) -> Bool {
        if items.count == k, let last = items.last, !Self.ranksBefore(candidate, last) { return false }
        var i = items.count
        while i > 0 && Self.ranksBefore(candidate, items[i - 1]) { i -= 1 }
        items.insert(candidate, at: i)
        if items.count > k { items.removeLast() }
        return i < k
    }
}
