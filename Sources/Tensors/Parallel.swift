import Dispatch

/// Runs `body(i)` for i in 0..<count across the cores; GEMM-free work only (im2col, pooling),
/// so it never competes with OpenBLAS's own threads for the same cores at the same time.
@inline(__always)
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { if count == 1 { body(0) }; return }
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
}
