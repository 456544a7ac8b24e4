// One thread count for our OpenMP loops and for OpenBLAS.
#include <omp.h>

#include "tensor/kernels.h"

// OpenBLAS's own setter and name (declared in its cblas.h, repeated here to keep that header local
// to matmul.c).
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

void gw_set_threads(int n) {
  GW_CHECK(n >= 1, "threads: %d asked; use 1 or more", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int gw_get_threads(void) { return omp_get_max_threads(); }

const char *gw_blas_core(void) { return openblas_get_corename(); }
