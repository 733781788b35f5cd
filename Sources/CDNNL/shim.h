// oneDNN 2.x's C API (Debian's libdnnl-dev, OpenMP build) and the pieces of it Swift cannot import.
#ifndef SURGEON_DNNL_H
#define SURGEON_DNNL_H

#include <oneapi/dnnl/dnnl.h>

/// DNNL_MEMORY_ALLOCATE is the pointer value -1, which does not import.
static inline void *surgeon_dnnl_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

/// The OpenMP runtime oneDNN runs on (libgomp); omp.h is not on clang's include path.
extern void omp_set_num_threads(int count);
extern int omp_get_max_threads(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern void GOMP_parallel(void (*body)(void *), void *data, unsigned threads, unsigned flags);

/// One parallel region of surgeon's own kernels: `body(context, i)` for every i in 0..<count.
typedef void (*surgeon_omp_body)(void *context, long index);

struct surgeon_omp_job {
    surgeon_omp_body body;
    void *context;
    long count;
};

static void surgeon_omp_job_run(void *data) {
    const struct surgeon_omp_job *job = (const struct surgeon_omp_job *)data;
    long threads = omp_get_num_threads();
    // The team may be smaller than asked for: each thread takes every threads-th index.
    for (long i = omp_get_thread_num(); i < job->count; i += threads) job->body(job->context, i);
}

/// Runs `body(context, i)` for i in 0..<count on a team of `count` OpenMP threads: the same
/// threads oneDNN runs on, so that surgeon's kernels and oneDNN's never compete for cores.
static inline void surgeon_omp_run(long count, surgeon_omp_body body, void *context) {
    struct surgeon_omp_job job = {body, context, count};
    GOMP_parallel(surgeon_omp_job_run, &job, (unsigned)count, 0);
}

#endif
