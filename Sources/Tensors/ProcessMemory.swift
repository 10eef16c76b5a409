import CMalloc

/// Process-wide allocator policy for the executables (the CLI and the benchmark call it first).
public enum ProcessMemory {
    /// Every training step allocates and frees the same few large tensors (conv1's activations
    /// alone are 12.8 MB at batch 128). glibc serves such blocks with mmap and returns them with
    /// munmap, or trims the heap after a free, so each step page-faulted ~2,000 fresh pages
    /// (measured with `perf stat -e page-faults`: 164k faults per 80 steps). Serving blocks up to
    /// 32 MB (glibc's maximum) from the heap and never trimming it lets the next step reuse the
    /// same pages: faults drop to the data set's first touch only. Peak memory is unchanged, since
    /// the freed blocks are exactly the ones the next step needs again.
    ///
    /// One arena for all threads: with per-thread arenas the background monitor's thread kept its
    /// own high-water mark beside the trainer's (measured: peak 520 MiB for a full-data epoch with
    /// the monitor, 351 MiB with one arena). The step allocates a few dozen large blocks, so the
    /// shared arena's lock is not contended. Call before any thread starts.
    public static func keepFreedBlocksForReuse() {
        _ = mallopt(M_ARENA_MAX, 1)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
    }
}
