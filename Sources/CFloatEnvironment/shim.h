// The floating-point control bits Swift cannot set: subnormal floats flushed to zero.
#ifndef SURGEON_FLOAT_ENVIRONMENT_H
#define SURGEON_FLOAT_ENVIRONMENT_H

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

/// Sets flush-to-zero and denormals-are-zero for the calling thread: subnormal results become 0
/// and subnormal inputs read as 0. x86-64: MXCSR bits FTZ (15) and DAZ (6); arm64: FPCR.FZ (24).
/// Without them one subnormal operand makes an SSE/AVX multiply take ~100 cycles.
static inline void surgeon_flush_subnormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040u);
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (1ul << 24)));
#endif
}

/// True when the calling thread flushes subnormals to zero.
static inline int surgeon_flushes_subnormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (_mm_getcsr() & 0x8040u) == 0x8040u;
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr >> 24) & 1;
#else
    return 0;
#endif
}

/// OpenBLAS's own worker threads are started when the library loads, before any code of ours
/// runs, and keep the floating-point control bits they started with. `blas_thread_shutdown_`
/// (exported by OpenBLAS for its fork handler) stops them; the next multi-threaded call starts
/// them again from the calling thread, whose bits they then inherit. Weak: a BLAS without it
/// leaves its threads as they are.
extern int blas_thread_shutdown_(void) __attribute__((weak));

static inline void surgeon_restart_blas_threads(void) {
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

#endif
