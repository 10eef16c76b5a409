/// The columns of a (rows, columns) row-major matrix where any row holds a nonzero value, in
/// increasing order: for a sparse gradient (a deconvnet seed going down), the positions where any
/// channel carries signal. Writes them to `positions` (room for `columns`) and returns how many.
///
/// Branch-free over the rows: their bit patterns are OR-ed into `scratch` (`columns` words) eight at
/// a time, streaming each row once, and a column counts when its OR without the sign bit is nonzero,
/// the same test as `!= 0` (-0 is zero, NaN is not). Only the final pass over `scratch` branches.
/// The per-row test-and-mark loop this replaces branched on every group of eight of every row: most
/// of a projection's conv1 input gradient.
public func nonzeroColumns(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int,
                           scratch: UnsafeMutablePointer<UInt32>, positions: UnsafeMutablePointer<Int32>) -> Int {
    let source = UnsafeRawPointer(matrix), any = UnsafeMutableRawPointer(scratch)
    let whole = columns & ~7
    scratch.update(repeating: 0, count: columns)
    for r in 0..<rows {
        let row = source + r * columns * 4
        var q = 0
        while q < whole {
            let offset = q * 4
            let merged = any.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt32>.self)
                | row.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt32>.self)
            any.storeBytes(of: merged, toByteOffset: offset, as: SIMD8<UInt32>.self)
            q += 8
        }
        while q < columns { scratch[q] |= row.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self); q += 1 }
    }
    var found = 0
    var q = 0
    while q < whole {
        let magnitude = any.loadUnaligned(fromByteOffset: q * 4, as: SIMD8<UInt32>.self) &<< 1
        if magnitude != .zero {
            for lane in 0..<8 where magnitude[lane] != 0 { positions[found] = Int32(truncatingIfNeeded: q + lane); found += 1 }
        }
        q += 8
    }
    while q < columns {
        if scratch[q] << 1 != 0 { positions[found] = Int32(truncatingIfNeeded: q); found += 1 }
        q += 1
    }
    return found
}
