/* probe.c — the read-bandwidth probe on the CPU: a wrapping u32 sum over all threads. */
#include <stdatomic.h>

#include "core/backend.h"

typedef struct {
  const uint32_t* data;
  uint64_t words, chunk;
  _Atomic uint32_t sum;
} probe_ctx_t;

/* Eight independent 32-lane accumulators: the compiler vectorises this loop (AVX2/AVX-512
 * or NEON) and the adds never wait on each other, so the loads are the limit. */
static void probe_chunk(void* pv, uint32_t i) {
  probe_ctx_t* c = pv;
  uint64_t lo = (uint64_t)i * c->chunk;
  uint64_t hi = lo + c->chunk < c->words ? lo + c->chunk : c->words;
  uint32_t acc[64] = {0};
  uint64_t j = lo;
  for (; j + 64 <= hi; j += 64) {
    for (int l = 0; l < 64; l++) acc[l] += c->data[j + l];
  }
  uint32_t s = 0;
  for (; j < hi; j++) s += c->data[j];
  for (int l = 0; l < 64; l++) s += acc[l];
  atomic_fetch_add(&c->sum, s);
}

int32_t bn_cpu_read_probe(const bn_read_probe_params_t* p, void* const* bufs) {
  probe_ctx_t c = {.data = bufs[0], .words = p->words, .chunk = 1u << 16};
  atomic_init(&c.sum, 0);
  uint32_t tasks = (uint32_t)((c.words + c.chunk - 1) / c.chunk);
  bn_parallel_for(tasks, probe_chunk, &c);
  *(uint32_t*)bufs[1] = atomic_load(&c.sum);
  return BN_OK;
}
