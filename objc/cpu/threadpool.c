/*
 * threadpool.c — the CPU backend's persistent worker pool and its instruction-set level.
 *
 * bn_parallel_for(n, fn, ctx) runs fn(ctx, i) for every i in [0, n) on the pool's workers
 * and the calling thread, and returns when all are done. Items are claimed one at a time
 * from an atomic counter, so callers choose the granularity (a GEMV uses tens of items
 * of 5-10 µs). A call costs ~1 µs when the workers are awake (they poll for BN_SPIN_NS
 * after each job, then sleep on a condition variable) and ~10 µs when they sleep.
 *
 * Job protocol. `state` packs a generation (bits 33..63), a "closed" bit (32) and the
 * number of workers inside the job (bits 0..31). A worker may join only the current,
 * open generation, by CAS on `state`, and reads the job fields only after joining. The
 * caller publishes a job (fields, then state with the next generation, release), works
 * through the items itself, sets "closed" (no more joins) and waits until no worker is
 * inside. So a job's fields and ctx are never read after bn_parallel_for returns, and a
 * slow worker that wakes late just finds a closed or newer job and goes back to waiting.
 * Concurrent callers are serialised by call_mu; a bn_parallel_for from inside an item
 * runs its items inline (no deadlock, no oversubscription).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#define BN_MAX_THREADS 256u
/* How long an idle worker polls for the next job before it sleeps. Back-to-back kernels
 * (the layers of a model) find it awake; an idle process stops burning CPU soon. */
#define BN_SPIN_NS 200000ll

#define ST_ACTIVE_MASK 0xffffffffull
#define ST_CLOSED (1ull << 32)
#define ST_GEN_SHIFT 33

typedef struct pool {
  pthread_mutex_t call_mu; /* one bn_parallel_for at a time                     */
  pthread_mutex_t sleep_mu;
  pthread_cond_t sleep_cv;
  _Atomic uint64_t state;
  _Alignas(64) _Atomic uint32_t next; /* next unclaimed item (own cache line)     */
  _Alignas(64) _Atomic uint32_t sleepers;
  _Atomic uint32_t stop;
  _Atomic uint32_t worker_ids; /* hands out thread indexes 1..                     */
  /* The current job: written only while no worker can be inside (see above). */
  void (*fn)(void* ctx, uint32_t i);
  void* ctx;
  uint32_t n;
  uint32_t nthreads; /* workers + the caller */
  uint32_t nworkers;
  pthread_t tid[BN_MAX_THREADS];
} pool_t;

static pool_t g_pool = {
    .call_mu = PTHREAD_MUTEX_INITIALIZER,
    .sleep_mu = PTHREAD_MUTEX_INITIALIZER,
    .sleep_cv = PTHREAD_COND_INITIALIZER,
    .nthreads = 1,
};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Atomic int g_started;

/* Set while this thread runs items (workers always): nested calls run inline. */
static _Thread_local int tl_in_pool;
static _Thread_local uint32_t tl_index;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static uint64_t st_gen(uint64_t s) { return s >> ST_GEN_SHIFT; }

static void run_items(pool_t* p) {
  void (*fn)(void*, uint32_t) = p->fn;
  void* ctx = p->ctx;
  uint32_t n = p->n;
  for (;;) {
    uint32_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (i >= n) break;
    fn(ctx, i);
  }
}

/* Joins generation gen if it is still open; returns whether it did. */
static bool try_join(pool_t* p, uint64_t gen) {
  uint64_t s = atomic_load_explicit(&p->state, memory_order_relaxed);
  while (st_gen(s) == gen && !(s & ST_CLOSED)) {
    if (atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acquire,
                                              memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

static void* worker_main(void* arg) {
  pool_t* p = arg;
  tl_in_pool = 1;
  tl_index = atomic_fetch_add(&p->worker_ids, 1);
  uint64_t seen = st_gen(atomic_load(&p->state));
  while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
    /* Wait for a generation other than the last one seen: spin, then sleep. */
    uint64_t gen = st_gen(atomic_load_explicit(&p->state, memory_order_acquire));
    if (gen == seen) {
      int64_t t0 = now_ns();
      for (uint32_t spins = 1;; spins++) {
        gen = st_gen(atomic_load_explicit(&p->state, memory_order_acquire));
        if (gen != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
        cpu_relax();
        if ((spins & 255u) == 0 && now_ns() - t0 > BN_SPIN_NS) {
          pthread_mutex_lock(&p->sleep_mu);
          atomic_fetch_add(&p->sleepers, 1); /* seq_cst: pairs with the publish in
                                                bn_parallel_for (Dekker) */
          while (st_gen(atomic_load(&p->state)) == seen && !atomic_load(&p->stop)) {
            pthread_cond_wait(&p->sleep_cv, &p->sleep_mu);
          }
          atomic_fetch_sub(&p->sleepers, 1);
          pthread_mutex_unlock(&p->sleep_mu);
          t0 = now_ns();
        }
      }
      if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
    }
    seen = gen;
    if (try_join(p, gen)) {
      run_items(p);
      atomic_fetch_sub_explicit(&p->state, 1, memory_order_release);
    }
  }
  return NULL;
}

static uint32_t default_threads(void) {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  uint32_t n = online > 0 ? (uint32_t)online : 1;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c > 0 && (uint32_t)c < n) n = (uint32_t)c;
  }
#endif
  return n;
}

static void pool_init(void) {
  pool_t* p = &g_pool;
  uint32_t n = default_threads();
  const char* env = getenv("BITNET_THREADS");
  if (env && *env) {
    char* end = NULL;
    long v = strtol(env, &end, 10);
    if (end && end != env) n = v < 1 ? 1u : (v > (long)BN_MAX_THREADS ? BN_MAX_THREADS : (uint32_t)v);
  }
  if (n > BN_MAX_THREADS) n = BN_MAX_THREADS;
  atomic_store(&p->worker_ids, 1);
  uint32_t made = 0;
  for (uint32_t i = 0; i + 1 < n; i++) {
    if (pthread_create(&p->tid[made], NULL, worker_main, p) != 0) break; /* run with fewer */
    made++;
  }
  p->nworkers = made;
  p->nthreads = made + 1;
  atomic_store(&g_started, 1);
}

/* Stops and joins the workers when the library is unloaded (Deno's dlopen close) or the
 * process exits, so no thread is left running code that is about to be unmapped. */
__attribute__((destructor)) static void pool_shutdown(void) {
  pool_t* p = &g_pool;
  if (!atomic_load(&g_started)) return;
  pthread_mutex_lock(&p->call_mu); /* let a running job finish */
  atomic_store(&p->stop, 1);
  pthread_mutex_lock(&p->sleep_mu);
  pthread_cond_broadcast(&p->sleep_cv);
  pthread_mutex_unlock(&p->sleep_mu);
  for (uint32_t i = 0; i < p->nworkers; i++) pthread_join(p->tid[i], NULL);
  p->nworkers = 0;
  p->nthreads = 1;
  pthread_mutex_unlock(&p->call_mu);
}

uint32_t bn_cpu_threads(void) {
  pthread_once(&g_once, pool_init);
  return g_pool.nthreads;
}

uint32_t bn_cpu_thread_index(void) { return tl_index; }

void bn_parallel_for(uint32_t n, void (*fn)(void* ctx, uint32_t i), void* ctx) {
  if (n == 0) return;
  pool_t* p = &g_pool;
  pthread_once(&g_once, pool_init);
  if (n == 1 || tl_in_pool || p->nworkers == 0) {
    for (uint32_t i = 0; i < n; i++) fn(ctx, i);
    return;
  }
  pthread_mutex_lock(&p->call_mu);
  if (atomic_load(&p->stop)) { /* after shutdown: no workers */
    pthread_mutex_unlock(&p->call_mu);
    for (uint32_t i = 0; i < n; i++) fn(ctx, i);
    return;
  }
  /* The previous job is closed and empty, so nobody reads these fields now. */
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  uint64_t gen = st_gen(atomic_load(&p->state)) + 1;
  atomic_store(&p->state, gen << ST_GEN_SHIFT); /* seq_cst publish: open, nobody inside */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->sleep_mu);
    pthread_cond_broadcast(&p->sleep_cv);
    pthread_mutex_unlock(&p->sleep_mu);
  }
  tl_in_pool = 1;
  tl_index = 0;
  run_items(p);
  tl_in_pool = 0;
  /* Close, then wait for the workers still inside (they are finishing their last item). */
  uint64_t s = atomic_fetch_or(&p->state, ST_CLOSED) | ST_CLOSED;
  for (uint32_t spins = 0; (s & ST_ACTIVE_MASK) != 0; spins++) {
    /* A worker still inside may have been preempted (more runnable threads than cores):
     * after ~50 µs of polling, give it our core instead of burning a time slice. */
    if (spins < 4096) cpu_relax();
    else sched_yield();
    s = atomic_load_explicit(&p->state, memory_order_acquire);
  }
  pthread_mutex_unlock(&p->call_mu);
}

/* ---- instruction-set level ------------------------------------------------------------ */

static _Atomic int32_t g_isa_cap = -1;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;
static uint32_t g_isa_detected;

static void isa_init(void) {
  uint32_t lvl = BN_ISA_SCALAR;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    lvl = BN_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
      lvl = BN_ISA_AVX512;
      if (__builtin_cpu_supports("avx512vnni")) lvl = BN_ISA_AVX512_VNNI;
    }
  }
#elif defined(__aarch64__)
  lvl = BN_ISA_NEON;
#endif
  const char* env = getenv("BITNET_CPU_ISA");
  if (env && *env) {
    uint32_t cap = lvl;
    if (!strcmp(env, "scalar")) cap = BN_ISA_SCALAR;
    else if (!strcmp(env, "avx2") || !strcmp(env, "neon")) cap = BN_ISA_AVX2;
    else if (!strcmp(env, "avx512")) cap = BN_ISA_AVX512;
    if (cap < lvl) lvl = cap;
  }
  g_isa_detected = lvl;
}

uint32_t bn_cpu_isa(void) {
  pthread_once(&g_isa_once, isa_init);
  int32_t cap = atomic_load_explicit(&g_isa_cap, memory_order_relaxed);
  if (cap >= 0 && (uint32_t)cap < g_isa_detected) return (uint32_t)cap;
  return g_isa_detected;
}

void bn_cpu_isa_cap(int32_t level) { atomic_store(&g_isa_cap, level); }
