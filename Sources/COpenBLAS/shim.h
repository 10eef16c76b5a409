// OpenBLAS's own cblas.h (not the reference BLAS one), so openblas_set_num_threads is declared.
#include <cblas.h>
