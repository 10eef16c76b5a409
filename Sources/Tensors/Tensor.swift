import Glibc

/// A dense float32 array in C (row-major) order. Images are NCHW: (batch, channels, height, width).
///
/// A value type over `[Float]`: copies are cheap until written (copy-on-write), and the hot
/// loops work through `withUnsafe(Mutable)BufferPointer` so no per-element allocation happens.
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A tensor whose every element the caller writes before reading: skips the zero fill
    /// (measured 2-4% of a training step in memset).
    public init(uninitialized shape: [Int], initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, data: [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initializer(buffer)
            initialized = count
        })
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// Same values, new shape of the same size (a flatten is a reshape in C order).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Values of sample `index` along the first axis, as a tensor of the remaining shape.
    public func sample(_ index: Int) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: Array(shape.dropFirst()), data: Array(data[index * per ..< (index + 1) * per]))
    }

    /// Stacks equally shaped tensors along a new first axis.
    public static func stack(_ items: [Tensor]) -> Tensor {
        precondition(!items.isEmpty, "cannot stack nothing")
        let inner = items[0].shape
        var data = [Float]()
        data.reserveCapacity(items.count * items[0].count)
        for item in items {
            precondition(item.shape == inner, "stack of mismatched shapes \(item.shape) vs \(inner)")
            data.append(contentsOf: item.data)
        }
        return Tensor(shape: [items.count] + inner, data: data)
    }

    /// Elements `[from, to)` of the first axis.
    public func slice(_ range: Range<Int>) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), data: Array(data[range.lowerBound * per ..< range.upperBound * per]))
    }

    public subscript(flat index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }
}

/// Whether two float buffers hold the same bits (memcmp): the right test for a cache keyed by
/// weights (`==` on floats never matches NaN, and an element loop is slower).
public func sameBits(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Bool {
    a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count * MemoryLayout<Float>.stride) == 0)
}

extension Tensor {
    /// Sum of elementwise products: the inner product used by adjoint and gradient checks.
    public func dot(_ other: Tensor) -> Double {
        precondition(count == other.count)
        var sum = 0.0
        for i in 0..<count { sum += Double(data[i]) * Double(other.data[i]) }
        return sum
    }

    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}
