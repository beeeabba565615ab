/*
 * metal_backend.m — the Metal backend (macOS, Objective-C with ARC).
 *
 * Written without a Mac: it is compiled for arm64-apple-macos against the real SDK headers
 * by shared/tools/macos-check.sh, but it has never been linked or run here. It follows
 * Apple's documentation literally; see DESIGN.md, "Metal (written without a Mac)".
 *
 * What it does
 * - Devices: MTLCopyAllDevices() (no side effects), falling back to
 *   MTLCreateSystemDefaultDevice(); no device (headless VM, …) is 0 devices, not an error.
 * - Memory: SHARED = MTLResourceStorageModeShared (host pointer = contents). PRIVATE =
 *   MTLResourceStorageModePrivate only when the GPU lacks unified memory; then writes and
 *   reads go through a shared staging buffer and a blit copy that is waited for.
 * - Kernels: each GPU op is the plan core/ makes (bn_gpu_plan); every stage runs the MSL
 *   that SPIRV-Cross generated from the same SPIR-V the Vulkan backend runs. One MTLLibrary
 *   and one pipeline per shader, built on first use with fast math OFF, cached.
 * - Run: one command buffer per batch, one serial compute encoder (Metal orders dependent
 *   dispatches of a serial encoder on tracked resources), MPS ops between compute encoders;
 *   commit, waitUntilCompleted, then status/error and GPUStart/EndTime.
 * - No Objective-C exception leaves this file: every vtable function has @try/@catch and an
 *   @autoreleasepool (Deno calls from threads Cocoa does not manage).
 */
#import "metal/metal_internal.h"

#include <string.h>

@implementation BNMetalDevice
@end

/* Largest chunk one staging copy moves (private memory on discrete GPUs). */
#define BN_METAL_STAGING_CHUNK (32ull << 20)

/* ---- helpers ------------------------------------------------------------------------ */

static int32_t bn_metal_exception(NSException* e, const char* where) {
  return bn_fail(BN_ERR_INTERNAL, "metal: %s raised %s: %s", where, bn_metal_cstr(e.name),
                 bn_metal_cstr(e.reason));
}

id<MTLBuffer> bn_metal_grow_buffer(id<MTLDevice> device, id<MTLBuffer> current, uint64_t need,
                                   MTLResourceOptions options) {
  if (current && current.length >= need) return current;
  uint64_t len = bn_round_up(need < 4096 ? 4096 : need, 4096);
  if (len > device.maxBufferLength) len = bn_round_up(need, 16); /* try the least size */
  if (len > device.maxBufferLength) return nil;
  return [device newBufferWithLength:(NSUInteger)len options:options];
}

/* Maps a failed command buffer to a status, with Metal's own description in the message. */
static int32_t bn_metal_cb_failure(id<MTLCommandBuffer> cb, const char* what) {
  NSError* err = cb.error;
  int32_t status = BN_ERR_DEVICE_LOST;
  const char* why = "the GPU reported an error";
  long code = err ? (long)err.code : 0;
  if (err && [err.domain isEqualToString:MTLCommandBufferErrorDomain]) {
    switch ((MTLCommandBufferError)err.code) {
      case MTLCommandBufferErrorTimeout:
        why = "the GPU watchdog stopped the work (timeout); split it into smaller batches";
        break;
      case MTLCommandBufferErrorPageFault:
        why = "GPU page fault (a kernel accessed memory out of bounds)";
        break;
      case MTLCommandBufferErrorOutOfMemory:
        status = BN_ERR_OUT_OF_MEMORY;
        why = "the GPU ran out of memory";
        break;
      case MTLCommandBufferErrorAccessRevoked:
      case MTLCommandBufferErrorNotPermitted:
        why = "GPU access was revoked or not permitted for this process";
        break;
      case MTLCommandBufferErrorDeviceRemoved:
        why = "the GPU was removed";
        break;
      case MTLCommandBufferErrorInternal:
        why = "internal GPU error";
        break;
      case MTLCommandBufferErrorInvalidResource:
        status = BN_ERR_INTERNAL;
        why = "invalid resource";
        break;
      default:
        break;
    }
  }
  return bn_fail(status, "metal: %s failed: %s (status %ld, error %ld: %s)", what, why,
                 (long)cb.status, code, err ? bn_metal_cstr(err.localizedDescription) : "none");
}

/* Commits cb, waits for it, and checks it completed. */
static int32_t bn_metal_commit_wait(id<MTLCommandBuffer> cb, const char* what) {
  [cb commit];
  [cb waitUntilCompleted];
  if (cb.status != MTLCommandBufferStatusCompleted) return bn_metal_cb_failure(cb, what);
  return BN_OK;
}

/* Runs one blit pass on its own command buffer and waits for it. */
static int32_t bn_metal_blit(BNMetalDevice* d, const char* what,
                             void (^encode)(id<MTLBlitCommandEncoder> blit)) {
  id<MTLCommandBuffer> cb = [d.queue commandBuffer];
  if (!cb) return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: %s: no command buffer", what);
  id<MTLBlitCommandEncoder> blit = [cb blitCommandEncoder];
  if (!blit) return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: %s: no blit encoder", what);
  encode(blit);
  [blit endEncoding];
  return bn_metal_commit_wait(cb, what);
}

/* ---- devices ------------------------------------------------------------------------ */

/* The process-wide device list, made once. Discrete (not low-power) GPUs first, otherwise
 * in MTLCopyAllDevices order. MTLCreateSystemDefaultDevice is only the fallback: on Macs
 * with automatic graphics switching it powers up the discrete GPU. */
static NSArray<id<MTLDevice>>* g_devices;
static uint32_t* g_simd_width; /* per device, from a probe pipeline where not Apple */

static uint32_t bn_metal_probe_simd_width(id<MTLDevice> dev) {
  if ([dev supportsFamily:MTLGPUFamilyApple1]) return 32; /* every Apple GPU */
  NSString* probe = @"#include <metal_stdlib>\n"
                     "using namespace metal;\n"
                     "kernel void bn_probe(device uint* o [[buffer(0)]],\n"
                     "                     uint i [[thread_position_in_grid]]) { o[i] = i; }\n";
  NSError* err = nil;
  id<MTLLibrary> lib = [dev newLibraryWithSource:probe options:nil error:&err];
  id<MTLFunction> fn = lib ? [lib newFunctionWithName:@"bn_probe"] : nil;
  id<MTLComputePipelineState> ps =
      fn ? [dev newComputePipelineStateWithFunction:fn error:&err] : nil;
  return ps ? (uint32_t)ps.threadExecutionWidth : 32;
}

static void bn_metal_init_devices(void) {
  static dispatch_once_t once;
  dispatch_once(&once, ^{
    @autoreleasepool {
      @try {
        NSArray<id<MTLDevice>>* all = MTLCopyAllDevices();
        if (all.count == 0) {
          id<MTLDevice> def = MTLCreateSystemDefaultDevice();
          all = def ? @[ def ] : @[];
        }
        NSMutableArray<id<MTLDevice>>* sorted = [NSMutableArray array];
        for (id<MTLDevice> dev in all)
          if (!dev.lowPower) [sorted addObject:dev];
        for (id<MTLDevice> dev in all)
          if (dev.lowPower) [sorted addObject:dev];
        uint32_t* widths = calloc(sorted.count ? sorted.count : 1, sizeof(uint32_t));
        if (!widths) {
          g_devices = @[];
          return;
        }
        for (NSUInteger i = 0; i < sorted.count; i++)
          widths[i] = bn_metal_probe_simd_width(sorted[i]);
        g_simd_width = widths;
        g_devices = [sorted copy];
      } @catch (NSException* e) {
        (void)e;
        g_devices = @[];
      }
    }
  });
}

static uint32_t bn_metal_enumerate(void) {
  @autoreleasepool {
    @try {
      bn_metal_init_devices();
      return (uint32_t)g_devices.count;
    } @catch (NSException* e) {
      (void)e;
      return 0;
    }
  }
}

static uint32_t bn_metal_caps(id<MTLDevice> dev) {
  uint32_t caps = BN_CAP_INT8_STORAGE | BN_CAP_FP16 | BN_CAP_TIMESTAMPS;
  /* SIMD-scoped reductions (simd_sum, simd_max): Apple7+ and Mac2 (Metal feature tables). */
  if ([dev supportsFamily:MTLGPUFamilyApple7] || [dev supportsFamily:MTLGPUFamilyMac2])
    caps |= BN_CAP_SUBGROUP_ARITH;
  return caps; /* BN_CAP_INT_DOT: Metal has no packed 4×int8 dot product */
}

static void bn_metal_fill_info(id<MTLDevice> dev, uint32_t simd_width, bn_device_info_t* out) {
  memset(out, 0, sizeof *out);
  NSString* name = dev.name;
  if (!name) name = @""; /* rangeOfString: on nil would "find" at 0 */
  snprintf(out->name, sizeof out->name, "%s", bn_metal_cstr(name));
  out->backend = BN_BACKEND_METAL;
  out->unified_memory = dev.hasUnifiedMemory ? 1u : 0u;
  if ([name rangeOfString:@"Paravirtual" options:NSCaseInsensitiveSearch].location != NSNotFound)
    out->device_type = BN_DEVICE_TYPE_VIRTUAL;
  else
    out->device_type = dev.hasUnifiedMemory ? BN_DEVICE_TYPE_INTEGRATED : BN_DEVICE_TYPE_DISCRETE;
  out->caps = bn_metal_caps(dev);
  out->memory_bytes = dev.recommendedMaxWorkingSetSize;
  out->max_buffer_bytes = dev.maxBufferLength;
  out->subgroup_size = simd_width;
  out->max_threads_per_group = (uint32_t)dev.maxThreadsPerThreadgroup.width;
  out->max_shared_bytes = (uint32_t)dev.maxThreadgroupMemoryLength;
  out->compute_units = 0; /* Metal does not expose the GPU core count */

  uint32_t vendor = 0;
  if ([dev supportsFamily:MTLGPUFamilyApple1]) vendor = 0x106B;
  else if ([name rangeOfString:@"AMD"].location != NSNotFound ||
           [name rangeOfString:@"Radeon"].location != NSNotFound) vendor = 0x1002;
  else if ([name rangeOfString:@"Intel"].location != NSNotFound) vendor = 0x8086;
  else if ([name rangeOfString:@"NVIDIA"].location != NSNotFound ||
           [name rangeOfString:@"GeForce"].location != NSNotFound) vendor = 0x10DE;
  out->vendor_id = vendor;

  /* Driver text: the highest GPU families supported, and the OS version. */
  /* MTLGPUFamilyAppleN = 1000 + N (a fixed ABI value): counted as numbers so that an SDK
   * older than the newest family still compiles (Apple9 needs the macOS 14 SDK). */
  int apple_n = 0;
  for (int f = 9; f >= 1; f--) {
    if ([dev supportsFamily:(MTLGPUFamily)(MTLGPUFamilyApple1 + (f - 1))]) {
      apple_n = f;
      break;
    }
  }
  char fam[40] = "";
  size_t used = 0;
  if (apple_n) used += (size_t)snprintf(fam + used, sizeof fam - used, " Apple%d", apple_n);
  if (used < sizeof fam && [dev supportsFamily:MTLGPUFamilyMac2])
    used += (size_t)snprintf(fam + used, sizeof fam - used, " Mac2");
  if (@available(macOS 13.0, *)) {
    if (used < sizeof fam && [dev supportsFamily:MTLGPUFamilyMetal3])
      snprintf(fam + used, sizeof fam - used, " Metal3");
  }
  NSOperatingSystemVersion v = [NSProcessInfo processInfo].operatingSystemVersion;
  snprintf(out->driver, sizeof out->driver, "Metal%s, macOS %ld.%ld.%ld", fam,
           (long)v.majorVersion, (long)v.minorVersion, (long)v.patchVersion);
}

static int32_t bn_metal_describe(uint32_t local_index, bn_device_info_t* out) {
  @autoreleasepool {
    @try {
      bn_metal_init_devices();
      if (local_index >= g_devices.count)
        return bn_fail(BN_ERR_NOT_FOUND, "metal: no device %u", local_index);
      bn_metal_fill_info(g_devices[local_index], g_simd_width[local_index], out);
      return BN_OK;
    } @catch (NSException* e) {
      return bn_metal_exception(e, "describe");
    }
  }
}

static int32_t bn_metal_open(uint32_t local_index, void** out_dev) {
  @autoreleasepool {
    @try {
      bn_metal_init_devices();
      if (local_index >= g_devices.count)
        return bn_fail(BN_ERR_NOT_FOUND, "metal: no device %u", local_index);
      id<MTLDevice> dev = g_devices[local_index];
      id<MTLCommandQueue> queue = [dev newCommandQueue];
      if (!queue)
        return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not create a command queue on %s",
                       bn_metal_cstr(dev.name));
      BNMetalDevice* d = [BNMetalDevice new];
      d.device = dev;
      d.queue = queue;
      d.pipelines = [NSMutableDictionary dictionary];
      d.mpsKernels = [NSMutableDictionary dictionary];
      d.opSupported = [NSMutableDictionary dictionary];
      d.dummy = [dev newBufferWithLength:256 options:MTLResourceStorageModePrivate];
      if (!d.dummy)
        return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not allocate on %s",
                       bn_metal_cstr(dev.name));
      d.unified = dev.hasUnifiedMemory;
      d.mpsSupported = bn_metal_mps_supports_device(dev);
      d.caps = bn_metal_caps(dev);
      *out_dev = (__bridge_retained void*)d;
      return BN_OK;
    } @catch (NSException* e) {
      return bn_metal_exception(e, "open");
    }
  }
}

static void bn_metal_close(void* dev) {
  if (!dev) return;
  @autoreleasepool {
    BNMetalDevice* d = (BNMetalDevice*)CFBridgingRelease(dev);
    @try {
      /* Core never closes with work in flight and every run waits, but make sure the queue
       * is idle before the objects go: an empty command buffer completes after all earlier
       * ones on the same queue. */
      id<MTLCommandBuffer> cb = [d.queue commandBuffer];
      if (cb) {
        [cb commit];
        [cb waitUntilCompleted];
      }
    } @catch (NSException* e) {
      (void)e;
    }
    d.pipelines = nil;
    d.mpsKernels = nil;
    d.scratch = nil;
    d.staging = nil;
    d.zeros = nil;
    d.dummy = nil;
    d.opSupported = nil;
    d.queue = nil;
    d.device = nil;
  } /* d is released here */
}

/* ---- memory ------------------------------------------------------------------------- */

static int32_t bn_metal_mem_alloc(void* dev, uint64_t size, uint32_t storage, bn_mem_t* out) {
  @autoreleasepool {
    @try {
      BNMetalDevice* d = (__bridge BNMetalDevice*)dev;
      if (storage != BN_STORAGE_SHARED && storage != BN_STORAGE_PRIVATE)
        return bn_fail(BN_ERR_INVALID_ARGUMENT, "metal: unknown storage %u", storage);
      /* Rounded up so blit copies and fills (4-byte units on macOS) never pass the end. */
      uint64_t len = bn_round_up(size ? size : 1, 16);
      /* Core asks for its pool's bin size, up to 1.5× the buffer it serves; past
       * maxBufferLength (which core's own size check uses) the largest buffer Metal allows
       * still holds that buffer: allocate it and report the smaller size. */
      uint64_t max_len = d.device.maxBufferLength;
      if (len > max_len) len = max_len;
      if (len == 0)
        return bn_fail(BN_ERR_SIZE, "metal: %llu bytes exceed maxBufferLength (%llu) of %s",
                       (unsigned long long)size, (unsigned long long)max_len,
                       bn_metal_cstr(d.device.name));
      /* newBufferWithLength: documents that it clears the new buffer to zero. Private
       * memory only where it is a different memory (no unified memory): elsewhere it is the
       * same memory as shared, and shared keeps writes and reads plain memcpy. */
      BOOL priv = storage == BN_STORAGE_PRIVATE && !d.unified;
      MTLResourceOptions opts =
          priv ? MTLResourceStorageModePrivate : MTLResourceStorageModeShared;
      id<MTLBuffer> buf = [d.device newBufferWithLength:(NSUInteger)len options:opts];
      if (!buf)
        return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not allocate %llu bytes on %s",
                       (unsigned long long)size, bn_metal_cstr(d.device.name));
      out->host = priv ? NULL : buf.contents;
      out->size = size < len ? size : len;
      out->storage = storage;
      out->zeroed = 1;
      out->impl = (__bridge_retained void*)buf;
      return BN_OK;
    } @catch (NSException* e) {
      return bn_metal_exception(e, "mem_alloc");
    }
  }
}

static void bn_metal_mem_free(void* dev, bn_mem_t* mem) {
  (void)dev;
  if (!mem || !mem->impl) return;
  @autoreleasepool {
    id<MTLBuffer> buf = (id<MTLBuffer>)CFBridgingRelease(mem->impl);
    mem->impl = NULL;
    mem->host = NULL;
    (void)buf; /* released when it leaves scope (and by any command buffer still holding it) */
  }
}

/* mem_zero, mem_write, mem_read: the host-visible path is plain C and touches no
 * Objective-C object, so only the staged path needs the autorelease pool. */
static int32_t bn_metal_mem_zero(void* dev, bn_mem_t* mem, uint64_t size) {
  if (size == 0) return BN_OK;
  if (mem->host) {
    memset(mem->host, 0, (size_t)size);
    return BN_OK;
  }
  @autoreleasepool {
    @try {
      BNMetalDevice* d = (__bridge BNMetalDevice*)dev;
      id<MTLBuffer> buf = (__bridge id<MTLBuffer>)mem->impl;
      /* macOS: fill ranges must be multiples of 4; the buffer is allocated rounded to 16. */
      NSRange range = NSMakeRange(0, (NSUInteger)bn_round_up(size, 4));
      if (range.length > buf.length) range.length = buf.length & ~(NSUInteger)3;
      return bn_metal_blit(d, "zero-fill", ^(id<MTLBlitCommandEncoder> blit) {
        [blit fillBuffer:buf range:range value:0];
      });
    } @catch (NSException* e) {
      return bn_metal_exception(e, "mem_zero");
    }
  }
}

/* Copies between host memory and a private buffer through the staging buffer, in chunks.
 * macOS needs 4-byte aligned blit offsets and sizes: each chunk covers the aligned range
 * [a0, a1) around the bytes asked for; for a write whose ends are not aligned, that range
 * is first read back so the bytes outside the request keep their values. */
static int32_t bn_metal_staged_copy(BNMetalDevice* d, bn_mem_t* mem, uint64_t off,
                                    const void* src, void* dst, uint64_t len) {
  if ((src == NULL) == (dst == NULL)) /* exactly one: src (a write) or dst (a read) */
    return bn_fail(BN_ERR_INTERNAL, "metal: staged copy needs one host pointer");
  bool to_device = src != NULL;
  id<MTLBuffer> buf = (__bridge id<MTLBuffer>)mem->impl;
  uint64_t end = off + len;
  if (end < off || bn_round_up(end, 4) > buf.length)
    return bn_fail(BN_ERR_SIZE, "metal: copy of %llu bytes at %llu is outside the buffer",
                   (unsigned long long)len, (unsigned long long)off);
  uint64_t span = bn_round_up(end, 4) - (off & ~3ull);
  uint64_t need = span < BN_METAL_STAGING_CHUNK ? span : BN_METAL_STAGING_CHUNK;
  id<MTLBuffer> staging =
      bn_metal_grow_buffer(d.device, d.staging, need, MTLResourceStorageModeShared);
  if (!staging)
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not allocate a %llu-byte staging buffer",
                   (unsigned long long)need);
  d.staging = staging;
  uint8_t* stage = (uint8_t*)staging.contents;
  uint64_t pos = off;
  while (pos < end) {
    uint64_t a0 = pos & ~3ull;
    uint64_t cend = end < a0 + BN_METAL_STAGING_CHUNK ? end : a0 + BN_METAL_STAGING_CHUNK;
    uint64_t a1 = bn_round_up(cend, 4);
    NSUInteger n = (NSUInteger)(a1 - a0);
    bool partial = a0 != pos || a1 != cend;
    if (!to_device || partial) {
      int32_t st = bn_metal_blit(d, "read from private memory", ^(id<MTLBlitCommandEncoder> blit) {
        [blit copyFromBuffer:buf sourceOffset:(NSUInteger)a0 toBuffer:staging
              destinationOffset:0 size:n];
      });
      if (st != BN_OK) return st;
    }
    if (to_device) {
      memcpy(stage + (pos - a0), (const uint8_t*)src + (pos - off), (size_t)(cend - pos));
      int32_t st = bn_metal_blit(d, "write to private memory", ^(id<MTLBlitCommandEncoder> blit) {
        [blit copyFromBuffer:staging sourceOffset:0 toBuffer:buf
              destinationOffset:(NSUInteger)a0 size:n];
      });
      if (st != BN_OK) return st;
    } else {
      memcpy((uint8_t*)dst + (pos - off), stage + (pos - a0), (size_t)(cend - pos));
    }
    pos = cend;
  }
  return BN_OK;
}

static int32_t bn_metal_mem_write(void* dev, bn_mem_t* mem, uint64_t off, const void* src,
                                  uint64_t len) {
  if (len == 0) return BN_OK;
  if (mem->host) {
    memcpy((uint8_t*)mem->host + off, src, (size_t)len);
    return BN_OK;
  }
  @autoreleasepool {
    @try {
      return bn_metal_staged_copy((__bridge BNMetalDevice*)dev, mem, off, src, NULL, len);
    } @catch (NSException* e) {
      return bn_metal_exception(e, "mem_write");
    }
  }
}

static int32_t bn_metal_mem_read(void* dev, bn_mem_t* mem, uint64_t off, void* dst,
                                 uint64_t len) {
  if (len == 0) return BN_OK;
  if (mem->host) {
    memcpy(dst, (const uint8_t*)mem->host + off, (size_t)len);
    return BN_OK;
  }
  @autoreleasepool {
    @try {
      return bn_metal_staged_copy((__bridge BNMetalDevice*)dev, mem, off, NULL, dst, len);
    } @catch (NSException* e) {
      return bn_metal_exception(e, "mem_read");
    }
  }
}

/* ---- pipelines ---------------------------------------------------------------------- */

/* The pipeline of a shader: one MTLLibrary from its embedded MSL, built on first use. */
static int32_t bn_metal_pipeline(BNMetalDevice* d, const bn_shader_blob_t* sh,
                                 id<MTLComputePipelineState>* out) {
  NSNumber* key = @((uintptr_t)sh);
  id<MTLComputePipelineState> ps = d.pipelines[key];
  if (!ps) {
    const char* name = sh->name ? sh->name : "?";
    if (!sh->msl || !sh->msl_entry)
      return bn_fail(BN_ERR_INTERNAL, "metal: shader %s has no MSL", name);
    NSString* src = [NSString stringWithUTF8String:sh->msl];
    NSString* entry = [NSString stringWithUTF8String:sh->msl_entry];
    if (!src || !entry)
      return bn_fail(BN_ERR_INTERNAL, "metal: shader %s: MSL is not valid UTF-8", name);
    MTLCompileOptions* opts = [MTLCompileOptions new];
    /* SPIRV-Cross generates MSL 2.3 (macOS 11+). */
    opts.languageVersion = MTLLanguageVersion2_3;
    /* Fast math defaults to YES; it must be off so results match Vulkan and the CPU.
     * fastMathEnabled = NO is documented to set mathMode = safe (and precise math
     * functions) on macOS 15+, where the property is deprecated in favour of mathMode. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
    opts.fastMathEnabled = NO;
#pragma clang diagnostic pop
    NSError* err = nil;
    id<MTLLibrary> lib = [d.device newLibraryWithSource:src options:opts error:&err];
    /* A non-nil library can come with an error object holding warnings: only nil fails. */
    if (!lib)
      return bn_fail(BN_ERR_COMPILE, "metal: compiling shader %s failed: %s", name,
                     err ? bn_metal_cstr(err.localizedDescription) : "no error information");
    id<MTLFunction> fn = [lib newFunctionWithName:entry];
    if (!fn)
      return bn_fail(BN_ERR_COMPILE, "metal: shader %s has no kernel function %s", name,
                     sh->msl_entry);
    err = nil;
    ps = [d.device newComputePipelineStateWithFunction:fn error:&err];
    if (!ps)
      return bn_fail(BN_ERR_COMPILE, "metal: pipeline for shader %s failed: %s", name,
                     err ? bn_metal_cstr(err.localizedDescription) : "no error information");
    d.pipelines[key] = ps;
  }
  /* Metal must dispatch exactly the shader's local_size threads per threadgroup. */
  uint64_t threads = (uint64_t)sh->local_size[0] * sh->local_size[1] * sh->local_size[2];
  MTLSize maxdim = d.device.maxThreadsPerThreadgroup;
  if (threads == 0 || threads > ps.maxTotalThreadsPerThreadgroup ||
      sh->local_size[0] > maxdim.width || sh->local_size[1] > maxdim.height ||
      sh->local_size[2] > maxdim.depth)
    return bn_fail(BN_ERR_UNSUPPORTED,
                   "metal: shader %s needs %ux%ux%u threads per threadgroup; this pipeline on "
                   "%s allows %lu in all",
                   sh->name ? sh->name : "?", sh->local_size[0], sh->local_size[1],
                   sh->local_size[2], bn_metal_cstr(d.device.name),
                   (unsigned long)ps.maxTotalThreadsPerThreadgroup);
  *out = ps;
  return BN_OK;
}

/* ---- ops ---------------------------------------------------------------------------- */

/* An op is supported when its plan, for a typical shape, names shaders whose pipelines
 * build on this device with their local_size (as the Vulkan backend decides). */
static bool bn_metal_probe(BNMetalDevice* d, uint32_t op, const void* params) {
  const bn_op_desc_t* desc = bn_op_get(op);
  if (!desc || desc->n_buffers > BN_SCRATCH_BINDING) return false;
  bn_cmd_t cmd;
  memset(&cmd, 0, sizeof cmd);
  cmd.op = op;
  memcpy(cmd.params, params, sizeof cmd.params);
  cmd.params_size = desc->params_size;
  cmd.n_buffers = desc->n_buffers;
  if (desc->buffer_bytes && desc->buffer_bytes(cmd.params, cmd.bytes) != BN_OK) return false;
  bn_mem_t fake[8];
  memset(fake, 0, sizeof fake);
  for (uint32_t i = 0; i < cmd.n_buffers; i++) {
    fake[i].size = cmd.bytes[i] ? cmd.bytes[i] : 16;
    fake[i].storage = BN_STORAGE_PRIVATE;
    cmd.mem[i] = &fake[i];
  }
  bn_gpu_plan_t plan;
  memset(&plan, 0, sizeof plan);
  if (bn_gpu_plan(&cmd, d.caps, &plan) != BN_OK) return false;
  if (plan.n_stages == 0 || plan.n_stages > BN_MAX_STAGES) return false;
  for (uint32_t s = 0; s < plan.n_stages; s++) {
    id<MTLComputePipelineState> ps = nil;
    if (!plan.stages[s].shader || bn_metal_pipeline(d, plan.stages[s].shader, &ps) != BN_OK)
      return false;
  }
  return true;
}

static bool bn_metal_supports_op(void* dev, uint32_t op) {
  @autoreleasepool {
    @try {
      BNMetalDevice* d = (__bridge BNMetalDevice*)dev;
      if (op == BN_OP_MPS_MATMUL) return d.mpsSupported;
      if (op == 0 || op >= BN_OP_COUNT_ || !bn_op_get(op)) return false;
      NSNumber* known = d.opSupported[@(op)];
      if (known) return known.boolValue;
      /* Typical shapes from core make the plan pick every shader family of the op. */
      uint64_t params[BN_MAX_PARAMS_BYTES / 8];
      bool ok = true, any = false;
      for (uint32_t i = 0; ok && bn_op_probe_params(op, i, params); i++) {
        any = true;
        ok = bn_metal_probe(d, op, params);
      }
      ok = ok && any;
      d.opSupported[@(op)] = @(ok);
      return ok;
    } @catch (NSException* e) {
      (void)e;
      return false;
    }
  }
}

/* Encodes the stages of one GPU command into the compute encoder (created on demand). */
static int32_t bn_metal_encode_plan(BNMetalDevice* d, id<MTLCommandBuffer> cb,
                                    id<MTLComputeCommandEncoder> __strong* enc,
                                    const bn_cmd_t* cmd, const bn_gpu_plan_t* plan) {
  for (uint32_t s = 0; s < plan->n_stages; s++) {
    const bn_gpu_stage_t* st = &plan->stages[s];
    const bn_shader_blob_t* sh = st->shader;
    if (!sh) return bn_fail(BN_ERR_INTERNAL, "metal: op %u stage %u has no shader", cmd->op, s);
    if (st->groups[0] == 0 || st->groups[1] == 0 || st->groups[2] == 0) continue; /* empty */
    if (sh->push_constant_bytes > sizeof cmd->params)
      return bn_fail(BN_ERR_INTERNAL, "metal: shader %s wants %u bytes of push constants",
                     sh->name, sh->push_constant_bytes);
    if (sh->binding_mask & (1u << BN_MSL_PUSH_CONSTANT_INDEX))
      return bn_fail(BN_ERR_INTERNAL, "metal: shader %s uses buffer index %u for a binding",
                     sh->name, BN_MSL_PUSH_CONSTANT_INDEX);
    id<MTLComputePipelineState> ps = nil;
    int32_t rc = bn_metal_pipeline(d, sh, &ps);
    if (rc != BN_OK) return rc;
    if (!ps) return bn_fail(BN_ERR_INTERNAL, "metal: shader %s has no pipeline", sh->name);
    if (!*enc) {
      *enc = [cb computeCommandEncoderWithDispatchType:MTLDispatchTypeSerial];
      if (!*enc) return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: no compute command encoder");
    }
    id<MTLComputeCommandEncoder> e = *enc;
    [e setComputePipelineState:ps];
    /* The op's buffers at 0..n_buffers-1, scratch at 7; any other binding the shader
     * declares gets a small dummy buffer, as in the Vulkan backend (Metal requires every
     * declared buffer argument to be bound). */
    uint32_t mask = sh->binding_mask;
    for (uint32_t b = 0; b < cmd->n_buffers && b < BN_SCRATCH_BINDING; b++) mask |= 1u << b;
    for (uint32_t b = 0; b < 31; b++) {
      if (!(mask & (1u << b))) continue;
      id<MTLBuffer> buf = d.dummy;
      if (b < cmd->n_buffers && b < BN_SCRATCH_BINDING && cmd->mem[b] && cmd->mem[b]->impl)
        buf = (__bridge id<MTLBuffer>)cmd->mem[b]->impl;
      else if (b == BN_SCRATCH_BINDING && plan->scratch_bytes > 0 && d.scratch)
        buf = d.scratch;
      [e setBuffer:buf offset:0 atIndex:b];
    }
    [e setBytes:cmd->params length:cmd->params_size atIndex:BN_MSL_PUSH_CONSTANT_INDEX];
    [e dispatchThreadgroups:MTLSizeMake(st->groups[0], st->groups[1], st->groups[2])
        threadsPerThreadgroup:MTLSizeMake(sh->local_size[0], sh->local_size[1],
                                          sh->local_size[2])];
  }
  return BN_OK;
}

static int32_t bn_metal_run_impl(BNMetalDevice* d, const bn_cmd_t* cmds, uint32_t n,
                                 double* gpu_seconds) {
  if (n == 0) {
    if (gpu_seconds) *gpu_seconds = 0;
    return BN_OK;
  }
  /* Plan every command first: the scratch buffer is sized once for the whole batch. */
  bn_gpu_plan_t* plans = calloc(n, sizeof *plans);
  if (!plans) return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: out of host memory");
  uint64_t scratch = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (cmds[i].op == BN_OP_MPS_MATMUL) {
      if (!d.mpsSupported) {
        free(plans);
        return bn_fail(BN_ERR_UNSUPPORTED, "metal: MPS is not supported on %s",
                       bn_metal_cstr(d.device.name));
      }
      continue;
    }
    int32_t rc = bn_gpu_plan(&cmds[i], d.caps, &plans[i]);
    if (rc != BN_OK) {
      free(plans);
      return rc;
    }
    if (plans[i].n_stages > BN_MAX_STAGES) {
      uint32_t stages = plans[i].n_stages;
      free(plans);
      return bn_fail(BN_ERR_INTERNAL, "metal: op %u has %u stages", cmds[i].op, stages);
    }
    if (plans[i].scratch_bytes > scratch) scratch = plans[i].scratch_bytes;
  }
  if (scratch > 0) {
    id<MTLBuffer> sb =
        bn_metal_grow_buffer(d.device, d.scratch, scratch, MTLResourceStorageModePrivate);
    if (!sb) {
      free(plans);
      return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not allocate %llu bytes of scratch",
                     (unsigned long long)scratch);
    }
    d.scratch = sb; /* an older, smaller one stays alive as long as a command buffer uses it */
  }

  id<MTLCommandBuffer> cb = [d.queue commandBuffer];
  if (!cb) {
    free(plans);
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: no command buffer");
  }
  id<MTLComputeCommandEncoder> enc = nil;
  int32_t rc = BN_OK;
  for (uint32_t i = 0; i < n && rc == BN_OK; i++) {
    if (cmds[i].op == BN_OP_MPS_MATMUL) {
      /* MPS encodes its own passes: the compute encoder must be ended first. */
      if (enc) {
        [enc endEncoding];
        enc = nil;
      }
      rc = bn_metal_encode_mps_matmul(d, cb, &cmds[i]);
    } else {
      if (plans[i].scratch_bytes > 0) {
        /* Scratch starts zeroed for every command that uses it (as on Vulkan): a blit fill,
         * between compute passes; Metal orders the passes on the tracked scratch buffer. */
        if (enc) {
          [enc endEncoding];
          enc = nil;
        }
        id<MTLBlitCommandEncoder> blit = [cb blitCommandEncoder];
        if (!blit) {
          rc = bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: no blit encoder");
          break;
        }
        NSUInteger len = (NSUInteger)bn_round_up(plans[i].scratch_bytes, 4);
        [blit fillBuffer:d.scratch range:NSMakeRange(0, len) value:0];
        [blit endEncoding];
      }
      rc = bn_metal_encode_plan(d, cb, &enc, &cmds[i], &plans[i]);
    }
  }
  free(plans);
  if (enc) {
    [enc endEncoding];
    enc = nil;
  }
  if (rc != BN_OK) return rc; /* cb is dropped uncommitted: nothing ran */

  /* No completion handler is needed: waitUntilCompleted returns once the GPU is done,
   * after which status, error and the GPU times are valid. */
  rc = bn_metal_commit_wait(cb, "batch");
  if (rc != BN_OK) return rc;
  if (gpu_seconds) {
    CFTimeInterval t0 = cb.GPUStartTime, t1 = cb.GPUEndTime;
    *gpu_seconds = (t1 > 0 && t1 >= t0) ? (double)(t1 - t0) : -1.0;
  }
  return BN_OK;
}

static int32_t bn_metal_run(void* dev, const bn_cmd_t* cmds, uint32_t n, double* gpu_seconds) {
  @autoreleasepool {
    @try {
      return bn_metal_run_impl((__bridge BNMetalDevice*)dev, cmds, n, gpu_seconds);
    } @catch (NSException* e) {
      return bn_metal_exception(e, "run");
    }
  }
}

const bn_backend_t bn_backend_metal = {
    .name = "metal",
    .backend_id = BN_BACKEND_METAL,
    .enumerate = bn_metal_enumerate,
    .describe = bn_metal_describe,
    .open = bn_metal_open,
    .close = bn_metal_close,
    .mem_alloc = bn_metal_mem_alloc,
    .mem_free = bn_metal_mem_free,
    .mem_zero = bn_metal_mem_zero,
    .mem_write = bn_metal_mem_write,
    .mem_read = bn_metal_mem_read,
    .supports_op = bn_metal_supports_op,
    .run = bn_metal_run,
};
