// OpenBLAS's own cblas.h (not the reference BLAS one), so openblas_set_num_threads is declared.
#include <cblas.h>

// Stops OpenBLAS's worker threads (exported by libopenblas, not declared in its headers). The
// library starts them when it loads and each spins on sched_yield for about 2^28 cycles before
// sleeping; this project runs OpenBLAS single-threaded, so they only ever spin (BLASThreads).
int blas_thread_shutdown_(void);
