import COpenBLAS
import Foundation

/// `C = alpha * op(A) * op(B) + beta * C`, row-major, the only caller of `cblas_sgemm`.
///
/// op(A) is (m, k), op(B) is (k, n), C is (m, n); `lda`, `ldb`, `ldc` are row strides.
///
/// OpenBLAS runs single-threaded and large products are split into column (or row) panels,
/// one per core, on the same thread pool as im2col and pooling. With OpenBLAS's own threads,
/// its idle workers spin in sched_yield while our threads work (measured: 17% of all cycles).
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    BLASThreads.ensureSingleThreaded()
    // The split depends only on the core count, never on the current ComputeBudget: a panel's
    // width can change OpenBLAS's rounding at tile edges, and results must not depend on whether a
    // monitor pass happened to run beside this batch. The budget only limits how many threads
    // work through the panels (parallelFor).
    let parts = BLASThreads.panels
    // Below ~4 MFLOP a split costs more in synchronization than it saves.
    guard parts > 1, m * n * k >= 2_000_000 else {
        serialGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    if n >= m {
        // Column panels: C[:, j0..<j1] = op(A) * op(B)[:, j0..<j1]
        let step = (n + parts - 1) / parts
        parallelFor(parts) { p in
            let j0 = p * step, j1 = min(n, j0 + step)
            guard j0 < j1 else { return }
            serialGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: j1 - j0, k: k, alpha: alpha,
                       a: a, lda: lda, b: transposeB ? b + j0 * ldb : b + j0, ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
        }
    } else {
        // Row panels: C[i0..<i1, :] = op(A)[i0..<i1, :] * op(B)
        let step = (m + parts - 1) / parts
        parallelFor(parts) { p in
            let i0 = p * step, i1 = min(m, i0 + step)
            guard i0 < i1 else { return }
            serialGEMM(transposeA: transposeA, transposeB: transposeB, m: i1 - i0, n: n, k: k, alpha: alpha,
                       a: transposeA ? a + i0 : a + i0 * lda, lda: lda, b: b, ldb: ldb, beta: beta, c: c + i0 * ldc, ldc: ldc)
        }
    }
}

/// `gemm` on the calling thread only: for callers that parallelize across many small GEMMs
/// themselves (a convolution's per-image products, each on its own thread's cache-sized buffers).
@inline(__always)
public func serialGEMM(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    BLASThreads.ensureSingleThreaded()
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS treats k == 0 as C = beta*C; keep that behaviour without calling into it.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k),
        alpha, a, blasint(lda), b, blasint(ldb),
        beta, c, blasint(ldc))
}

/// Naive triple loop with the same contract as `gemm`: the test oracle for the fast path.
public func naiveGEMM(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: [Float], lda: Int,
    b: [Float], ldb: Int,
    beta: Float = 0,
    c: inout [Float], ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Double = 0
            for p in 0..<k {
                let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(av) * Double(bv)
            }
            let old = beta == 0 ? 0 : beta * c[i * ldc + j]
            c[i * ldc + j] = alpha * Float(sum) + old
        }
    }
}

/// How GEMMs use the cores: OpenBLAS itself stays single-threaded and `gemm` splits large
/// products into `panels` parts on the shared thread pool.
public enum BLASThreads {
    /// Single-threaded, and without the worker threads OpenBLAS started when it loaded: each of
    /// those spins on sched_yield for its first ~2^28 cycles (about 0.1 s) and again after any
    /// threaded call, beside this process's own threads on a machine with few cores. Measured with
    /// perf on `deconvscope monitor --force` (one zf-fmnist snapshot, 2 cores): the spinning worker
    /// took 14.6% of the process's CPU samples. A serial OpenBLAS never restarts them.
    private static let setup: Void = {
        openblas_set_num_threads(1)
        _ = blas_thread_shutdown_()
    }()
    nonisolated(unsafe) public private(set) static var panels = ProcessInfo.processInfo.activeProcessorCount

    /// Call at start-up (the executables do), so the workers stop before they spin for long.
    @inline(__always) public static func ensureSingleThreaded() { _ = setup }

    /// Cores a large GEMM is split across (1 = serial); used by benchmarks to measure scaling.
    public static func set(_ count: Int) {
        ensureSingleThreaded()
        panels = max(1, count)
    }
}
