/* cpu_backend.c — the CPU backend: host memory and the kernels in objc/cpu/.
 * Memory is 64-byte aligned (page-aligned and lazily zeroed by mmap for large blocks), so
 * every buffer is SHARED in practice; PRIVATE is accepted and behaves the same. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"

#define MMAP_MIN (1u << 20)

static uint32_t cpu_enumerate(void) { return 1; }

static void cpu_model_name(char* out, size_t cap) {
  snprintf(out, cap, "CPU");
#if defined(__linux__)
  FILE* f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char* colon = strchr(line, ':');
      if (colon) {
        char* v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t n = strcspn(v, "\n");
        snprintf(out, cap, "%.*s", (int)n, v);
      }
      break;
    }
  }
  fclose(f);
#endif
}

static int32_t cpu_describe(uint32_t local_index, bn_device_info_t* out) {
  if (local_index != 0) return bn_fail(BN_ERR_NOT_FOUND, "the CPU backend has one device");
  memset(out, 0, sizeof *out);
  char model[100];
  cpu_model_name(model, sizeof model);
  snprintf(out->name, sizeof out->name, "%s (%u threads)", model, bn_cpu_threads());
  out->backend = BN_BACKEND_CPU;
  out->device_type = BN_DEVICE_TYPE_CPU;
  out->unified_memory = 1;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  out->memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : (1ull << 32);
  out->max_buffer_bytes = out->memory_bytes;
  out->subgroup_size = 1;
  out->max_threads_per_group = bn_cpu_threads();
  out->compute_units = bn_cpu_threads();
  out->caps = BN_CAP_INT8_STORAGE;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) out->caps |= BN_CAP_INT_DOT;
  snprintf(out->driver, sizeof out->driver, "bitnet-metal CPU (%s)",
           __builtin_cpu_supports("avx512vnni") ? "AVX-512 VNNI"
           : __builtin_cpu_supports("avx2")     ? "AVX2"
                                                : "scalar");
#elif defined(__aarch64__)
#if defined(__ARM_FEATURE_DOTPROD)
  out->caps |= BN_CAP_INT_DOT;
#endif
  snprintf(out->driver, sizeof out->driver, "bitnet-metal CPU (NEON)");
#else
  snprintf(out->driver, sizeof out->driver, "bitnet-metal CPU (scalar)");
#endif
  return BN_OK;
}

static int32_t cpu_open(uint32_t local_index, void** out_dev) {
  if (local_index != 0) return bn_fail(BN_ERR_NOT_FOUND, "the CPU backend has one device");
  static int token;
  *out_dev = &token;
  return BN_OK;
}

static void cpu_close(void* dev) { (void)dev; }

static int32_t cpu_mem_alloc(void* dev, uint64_t size, uint32_t storage, bn_mem_t* out) {
  (void)dev;
  if (size > SIZE_MAX / 2) return bn_fail(BN_ERR_SIZE, "buffer too large for this process");
  void* p;
  uint32_t zeroed = 0;
  if (size >= MMAP_MIN) {
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) p = NULL;
    zeroed = 1;
  } else {
    p = aligned_alloc(64, (size_t)bn_round_up(size, 64));
  }
  if (!p) {
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "could not allocate %llu bytes of host memory",
                   (unsigned long long)size);
  }
  *out = (bn_mem_t){.impl = p, .host = p, .size = size, .storage = storage, .zeroed = zeroed};
  return BN_OK;
}

static void cpu_mem_free(void* dev, bn_mem_t* mem) {
  (void)dev;
  if (!mem->host) return;
  if (mem->size >= MMAP_MIN) munmap(mem->host, (size_t)mem->size);
  else free(mem->host);
  mem->host = mem->impl = NULL;
}

static int32_t cpu_mem_zero(void* dev, bn_mem_t* mem, uint64_t size) {
  (void)dev;
  memset(mem->host, 0, (size_t)size);
  return BN_OK;
}

static int32_t cpu_mem_write(void* dev, bn_mem_t* mem, uint64_t off, const void* src, uint64_t len) {
  (void)dev;
  memcpy((char*)mem->host + off, src, (size_t)len);
  return BN_OK;
}

static int32_t cpu_mem_read(void* dev, bn_mem_t* mem, uint64_t off, void* dst, uint64_t len) {
  (void)dev;
  memcpy(dst, (const char*)mem->host + off, (size_t)len);
  return BN_OK;
}

static bool cpu_supports_op(void* dev, uint32_t op) {
  (void)dev;
  return op != BN_OP_MPS_MATMUL && bn_op_get(op) != NULL;
}

static int32_t cpu_run(void* dev, const bn_cmd_t* cmds, uint32_t n, double* gpu_seconds) {
  (void)dev;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int32_t st = BN_OK;
  for (uint32_t i = 0; i < n && st == BN_OK; i++) {
    const bn_cmd_t* c = &cmds[i];
    void* bufs[8];
    for (uint32_t j = 0; j < c->n_buffers; j++) bufs[j] = c->mem[j]->host;
    uint64_t params[BN_MAX_PARAMS_BYTES / 8]; /* aligned copy */
    memcpy(params, c->params, sizeof params);
    switch (c->op) {
      case BN_OP_QUANTIZE_TERNARY: st = bn_cpu_quantize_ternary((const void*)params, bufs); break;
      case BN_OP_QUANTIZE_ACT_INT8: st = bn_cpu_quantize_act_int8((const void*)params, bufs); break;
      case BN_OP_BITLINEAR: st = bn_cpu_bitlinear((const void*)params, bufs); break;
      case BN_OP_DEQUANTIZE_TERNARY: st = bn_cpu_dequantize_ternary((const void*)params, bufs); break;
      case BN_OP_MATMUL_F32: st = bn_cpu_matmul_f32((const void*)params, bufs); break;
      case BN_OP_READ_PROBE: st = bn_cpu_read_probe((const void*)params, bufs); break;
      case BN_OP_MATMUL: st = bn_cpu_matmul((const void*)params, bufs); break;
      case BN_OP_BINARY: st = bn_cpu_binary((const void*)params, bufs); break;
      case BN_OP_UNARY: st = bn_cpu_unary((const void*)params, bufs); break;
      case BN_OP_REDUCE: st = bn_cpu_reduce((const void*)params, bufs); break;
      case BN_OP_SOFTMAX: st = bn_cpu_softmax((const void*)params, bufs); break;
      case BN_OP_RMSNORM: st = bn_cpu_rmsnorm((const void*)params, bufs); break;
      case BN_OP_ROPE: st = bn_cpu_rope((const void*)params, bufs); break;
      case BN_OP_RMSNORM_QUANT: st = bn_cpu_rmsnorm_quant((const void*)params, bufs); break;
      default: st = bn_fail(BN_ERR_UNSUPPORTED, "op %u is not supported on the CPU", c->op);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *gpu_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  return st;
}

const bn_backend_t bn_backend_cpu = {
    .name = "cpu",
    .backend_id = BN_BACKEND_CPU,
    .enumerate = cpu_enumerate,
    .describe = cpu_describe,
    .open = cpu_open,
    .close = cpu_close,
    .mem_alloc = cpu_mem_alloc,
    .mem_free = cpu_mem_free,
    .mem_zero = cpu_mem_zero,
    .mem_write = cpu_mem_write,
    .mem_read = cpu_mem_read,
    .supports_op = cpu_supports_op,
    .run = cpu_run,
};
