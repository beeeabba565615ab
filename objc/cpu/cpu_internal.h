/*
 * cpu_internal.h — what the CPU kernels share besides backend.h: the instruction-set level
 * chosen at run time and the index of the pool thread running a bn_parallel_for item.
 */
#ifndef BN_CPU_INTERNAL_H
#define BN_CPU_INTERNAL_H

#include <stdint.h>

/* SIMD levels, ordered: a kernel uses the best path whose level is <= bn_cpu_isa().
 * x86-64: detected with __builtin_cpu_supports (which also checks that the OS saves the
 * AVX / AVX-512 state); the code of each level is compiled with target attributes, never
 * -march, so one binary runs everywhere. aarch64: NEON is the baseline, level 1. */
enum {
  BN_ISA_SCALAR = 0,
  BN_ISA_AVX2 = 1,        /* AVX2 + FMA                                        */
  BN_ISA_AVX512 = 2,      /* + AVX-512 F/BW/VL (f32 matmul uses it)            */
  BN_ISA_AVX512_VNNI = 3, /* + AVX-512 VNNI (bitlinear's VPDPBUSD path)        */
  BN_ISA_NEON = 1         /* aarch64                                           */
};

/* The level the kernels use: the detected one, capped by the environment variable
 * BITNET_CPU_ISA (scalar | avx2 | avx512 | vnni | neon) read once, and by
 * bn_cpu_isa_cap. */
uint32_t bn_cpu_isa(void);
/* Test hook: caps the level for every later call (a negative value removes the cap).
 * Lets one process check every path against the scalar reference. */
void bn_cpu_isa_cap(int32_t level);

/* Inside a bn_parallel_for item: the index of the running thread, 0 ..
 * bn_cpu_threads() - 1, unique among the threads of that call (the caller is 0). Kernels
 * use it to pick a per-thread scratch slice. Outside an item it is 0. */
uint32_t bn_cpu_thread_index(void);

/* A row stride >= bytes, a multiple of 64, that is not within 256 bytes of a multiple of
 * 4 KiB. Rows read together at a stride near 4 KiB·j map to the same L1 sets and banks
 * (on Zen 4 that halves the load rate of an 8-row tile), so kernels copy small operands
 * that have such a stride (k = 1024, 4096, … activations) into rows of this stride. */
static inline uint64_t bn_cpu_unaliased_stride(uint64_t bytes) {
  uint64_t s = (bytes + 63) & ~63ull;
  while (s % 4096 < 256 || s % 4096 > 3840) s += 64;
  return s;
}

#endif /* BN_CPU_INTERNAL_H */
