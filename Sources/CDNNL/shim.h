// oneDNN 2.x's C API (Debian's libdnnl-dev, OpenMP build) and the pieces of it Swift cannot import.
#ifndef SURGEON_DNNL_H
#define SURGEON_DNNL_H

#include <oneapi/dnnl/dnnl.h>

/// DNNL_MEMORY_ALLOCATE is the pointer value -1, which does not import.
static inline void *surgeon_dnnl_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

/// The OpenMP runtime oneDNN runs on (libgomp); omp.h is not on clang's include path.
extern void omp_set_num_threads(int count);
extern int omp_get_max_threads(void);
extern void GOMP_parallel(void (*body)(void *), void *data, unsigned threads, unsigned flags);

/// Runs `body(NULL)` once on each of `threads` OpenMP threads (the team oneDNN will use).
static inline void surgeon_omp_each_thread(void (*body)(void *), int threads) {
    GOMP_parallel(body, (void *)0, (unsigned)threads, 0);
}

#endif
