/*
 * mps_matmul.m — BN_OP_MPS_MATMUL: the dense f32/f16 baseline through Metal Performance
 * Shaders (MPSMatrixMultiplication). macOS only, ARC. Compiled against real SDK headers by
 * shared/tools/macos-check.sh; never linked or run here.
 *
 * C[m][n] = A[m][k] · op(B), op(B) = Bᵀ when b_trans (B is [n][k]) else B (B is [k][n]).
 * All three matrices are dense, row-major, at offset 0 of their buffers: rowBytes is the
 * column count times the element size, which MPS requires to be a multiple of the element
 * size (it is, by construction). Core's validator has checked every buffer's size.
 */
#import "metal/metal_internal.h"

#import <MetalPerformanceShaders/MetalPerformanceShaders.h>

#include <string.h>

/* Kernels kept per shape; a long run of distinct shapes just starts the cache over. */
#define BN_MPS_KERNEL_CACHE_MAX 64

BOOL bn_metal_mps_supports_device(id<MTLDevice> device) {
  @try {
    return device != nil && MPSSupportsMTLDevice(device);
  } @catch (NSException* e) {
    (void)e;
    return NO;
  }
}

static MPSMatrixMultiplication* bn_mps_kernel(BNMetalDevice* d, BOOL b_trans, NSUInteger m,
                                              NSUInteger n, NSUInteger k) {
  NSString* key = [NSString stringWithFormat:@"%lu,%lu,%lu,%d", (unsigned long)m,
                                             (unsigned long)n, (unsigned long)k, (int)b_trans];
  MPSMatrixMultiplication* mm = d.mpsKernels[key];
  if (mm) return mm;
  mm = [[MPSMatrixMultiplication alloc] initWithDevice:d.device
                                         transposeLeft:NO
                                        transposeRight:b_trans
                                            resultRows:m
                                         resultColumns:n
                                       interiorColumns:k
                                                 alpha:1.0
                                                  beta:0.0];
  if (!mm) return nil;
  if (d.mpsKernels.count >= BN_MPS_KERNEL_CACHE_MAX) [d.mpsKernels removeAllObjects];
  d.mpsKernels[key] = mm;
  return mm;
}

static MPSMatrix* bn_mps_matrix(id<MTLBuffer> buf, NSUInteger rows, NSUInteger cols,
                                NSUInteger elem, MPSDataType type) {
  MPSMatrixDescriptor* desc = [MPSMatrixDescriptor matrixDescriptorWithRows:rows
                                                                    columns:cols
                                                                   rowBytes:cols * elem
                                                                   dataType:type];
  return [[MPSMatrix alloc] initWithBuffer:buf descriptor:desc];
}

int32_t bn_metal_encode_mps_matmul(BNMetalDevice* d, id<MTLCommandBuffer> cb,
                                   const bn_cmd_t* cmd) {
  if (!d.mpsSupported)
    return bn_fail(BN_ERR_UNSUPPORTED, "metal: MPS is not supported on %s",
                   bn_metal_cstr(d.device.name));
  bn_mps_matmul_params_t p;
  memcpy(&p, cmd->params, sizeof p);
  BOOL b_trans = (p.flags & 1u) != 0;
  uint32_t dtype = (p.flags >> 8) & 0xffu;
  MPSDataType type;
  NSUInteger elem;
  if (dtype == BN_DTYPE_F32) {
    type = MPSDataTypeFloat32;
    elem = 4;
  } else if (dtype == BN_DTYPE_F16) {
    type = MPSDataTypeFloat16;
    elem = 2;
  } else {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "metal: mps_matmul: unknown dtype %u", dtype);
  }
  if (cmd->n_buffers < 3 || !cmd->mem[0] || !cmd->mem[1] || !cmd->mem[2])
    return bn_fail(BN_ERR_INTERNAL, "metal: mps_matmul needs 3 buffers");
  NSUInteger m = p.m, n = p.n, k = p.k;
  if (m == 0 || n == 0) return BN_OK; /* an empty C: nothing to write */

  id<MTLBuffer> a = (__bridge id<MTLBuffer>)cmd->mem[0]->impl;
  id<MTLBuffer> b = (__bridge id<MTLBuffer>)cmd->mem[1]->impl;
  id<MTLBuffer> c = (__bridge id<MTLBuffer>)cmd->mem[2]->impl;
  MPSMatrix* mc = bn_mps_matrix(c, m, n, elem, type);
  MPSMatrix* ma = nil;
  MPSMatrix* mb = nil;
  MPSMatrixMultiplication* mm = nil;
  if (k == 0) {
    /* An empty sum: C = 0. Written as (m×1 zeros)·(1×n zeros), so MPS writes exactly C's
     * bytes (a blit fill works in 4-byte units on macOS, too coarse for f16). */
    NSUInteger need = (m > n ? m : n) * elem;
    id<MTLBuffer> z =
        bn_metal_grow_buffer(d.device, d.zeros, need, MTLResourceStorageModeShared);
    if (!z)
      return bn_fail(BN_ERR_OUT_OF_MEMORY, "metal: could not allocate %lu bytes",
                     (unsigned long)need);
    if (z != d.zeros) {
      memset(z.contents, 0, z.length);
      d.zeros = z;
    }
    ma = bn_mps_matrix(z, m, 1, elem, type);
    mb = bn_mps_matrix(z, 1, n, elem, type);
    mm = bn_mps_kernel(d, NO, m, n, 1);
  } else {
    ma = bn_mps_matrix(a, m, k, elem, type);
    mb = b_trans ? bn_mps_matrix(b, n, k, elem, type) : bn_mps_matrix(b, k, n, elem, type);
    mm = bn_mps_kernel(d, b_trans, m, n, k);
  }
  if (!ma || !mb || !mc || !mm)
    return bn_fail(BN_ERR_INTERNAL, "metal: could not set up MPSMatrixMultiplication %lux%lux%lu",
                   (unsigned long)m, (unsigned long)n, (unsigned long)k);
  [mm encodeToCommandBuffer:cb leftMatrix:ma rightMatrix:mb resultMatrix:mc];
  return BN_OK;
}
