/* Fork safety for fastact's OpenMP threads (issue 6, item 5).

   GNU OpenMP's thread pool does not survive fork(): the child inherits the
   parent's pool bookkeeping but not its threads, so the child's next parallel
   region waits forever for threads that only exist in the parent. (LLVM's
   libomp re-initialises itself in the child; treating it the same way costs
   only parallelism.)

   fastact therefore runs serially in a process forked from one that had used
   its threads:

   - fastact_thread_count() is what every call asks before it decides to run
     a parallel region. The first time it answers more than one thread it
     records that this process may now own an OpenMP pool (FASTACT_USED).
   - A pthread_atfork child handler, registered once when the extension
     module is loaded (an ELF constructor), turns FASTACT_USED into
     FASTACT_FORKED in the child. From then on fastact_thread_count() is 1 in
     that child and in every process forked from it: the calls run on the
     calling thread and give the same bits (results never depend on the thread
     count). set_num_threads() still stores the count in OpenMP but cannot
     bring the threads back; get_num_threads() reports 1.
   - The parent is untouched: OMP_NUM_THREADS, set_num_threads and
     threadpoolctl work as before. A process forked before any call with more
     than one thread keeps its threads, since its OpenMP pool cannot exist yet
     (unless another library in the process started a pool of the same libgomp
     in the forking thread: that library's own fork problem, not detected).

   Cost per call: one read of a static int and, until the first threaded call,
   one compare; nothing is written after that first call.

   Without OpenMP, or where pthread_atfork is unavailable (Windows has no
   fork), fastact_thread_count() is simply omp_get_max_threads(). */
#ifndef FASTACT_FORK_H
#define FASTACT_FORK_H

#include "_omp_compat.h"

#if FASTACT_HAVE_OPENMP && defined(__GNUC__) && (defined(__unix__) || defined(__APPLE__))
#define FASTACT_FORK_DETECTION 1
#include <pthread.h>

enum { FASTACT_UNUSED = 0, FASTACT_USED = 1, FASTACT_FORKED = 2 };

/* Written once per process after start-up (UNUSED -> USED; concurrent
   callers may all store the same value) and in the atfork child handler, where
   the child has a single thread. Relaxed atomics: plain loads and stores. */
static int fastact_fork_state = FASTACT_UNUSED;

#define FASTACT_LOAD_STATE() __atomic_load_n(&fastact_fork_state, __ATOMIC_RELAXED)
#define FASTACT_STORE_STATE(v) __atomic_store_n(&fastact_fork_state, (v), __ATOMIC_RELAXED)

static void fastact_atfork_child(void) {
    if (FASTACT_LOAD_STATE() == FASTACT_USED)
        FASTACT_STORE_STATE(FASTACT_FORKED);
}

__attribute__((constructor)) static void fastact_register_atfork(void) {
    /* A failure (ENOMEM) leaves detection off: the old behaviour. */
    (void)pthread_atfork(NULL, NULL, fastact_atfork_child);
}

/* The threads a large call may use now: 1 in a child forked after use. */
static inline int fastact_thread_count(void) {
    int state = FASTACT_LOAD_STATE();
    int n;
    if (state == FASTACT_FORKED)
        return 1;
    n = omp_get_max_threads();
    if (n > 1 && state == FASTACT_UNUSED)
        FASTACT_STORE_STATE(FASTACT_USED);
    return n;
}

/* The same answer, for reporting (get_num_threads): records nothing. */
static inline int fastact_reported_threads(void) {
    return FASTACT_LOAD_STATE() == FASTACT_FORKED ? 1 : omp_get_max_threads();
}

#else
#define FASTACT_FORK_DETECTION 0
static inline int fastact_thread_count(void) { return omp_get_max_threads(); }
static inline int fastact_reported_threads(void) { return omp_get_max_threads(); }
#endif

#endif
