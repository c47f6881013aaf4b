/* OpenMP is optional: without it the same code builds, runs serially and
   reports one thread. */
#ifndef FASTACT_OMP_COMPAT_H
#define FASTACT_OMP_COMPAT_H
#ifdef _OPENMP
#include <omp.h>
#define FASTACT_HAVE_OPENMP 1
#else
#define FASTACT_HAVE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#endif
#endif
