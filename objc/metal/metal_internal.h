/*
 * metal_internal.h — shared by the Metal backend's Objective-C files (macOS only; ARC).
 *
 * Not part of the public ABI. build.ts compiles the Objective-C in objc/metal only on
 * macOS, with -fobjc-arc and -DBN_WITH_METAL; nothing on Linux includes this header.
 */
#ifndef BN_METAL_INTERNAL_H
#define BN_METAL_INTERNAL_H

#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include "core/backend.h"

/* One opened Metal device. Held by core as a bridged pointer: created with
 * (__bridge_retained void*) in open, released with CFBridgingRelease in close. Every method
 * of the backend runs with core's per-device lock held, so nothing here needs its own lock. */
@interface BNMetalDevice : NSObject
@property(nonatomic, strong) id<MTLDevice> device;
@property(nonatomic, strong) id<MTLCommandQueue> queue;
/* Compiled compute pipelines, keyed by the address of their bn_shader_blob_t. */
@property(nonatomic, strong) NSMutableDictionary<NSNumber*, id<MTLComputePipelineState>>* pipelines;
/* MPSMatrixMultiplication kernels by shape key (typed id to keep MPS out of this header). */
@property(nonatomic, strong) NSMutableDictionary<NSString*, id>* mpsKernels;
@property(nonatomic, strong) id<MTLBuffer> scratch; /* BN_SCRATCH_BINDING, private, grown  */
@property(nonatomic, strong) id<MTLBuffer> staging; /* shared, for private-memory copies  */
@property(nonatomic, strong) id<MTLBuffer> zeros;   /* shared, all zero, for MPS with k=0 */
@property(nonatomic, strong) id<MTLBuffer> dummy;   /* bound where a shader declares a
                                                       binding the op does not provide    */
/* supports_op answers, by op id (probed once: plan + pipelines build). */
@property(nonatomic, strong) NSMutableDictionary<NSNumber*, NSNumber*>* opSupported;
@property(nonatomic) BOOL unified;                  /* hasUnifiedMemory                   */
@property(nonatomic) BOOL mpsSupported;             /* MPSSupportsMTLDevice               */
@property(nonatomic) uint32_t caps;                 /* BN_CAP_*                           */
@end

/* A C string for a possibly nil NSString (never NULL). */
static inline const char* bn_metal_cstr(NSString* s) {
  const char* c = s ? s.UTF8String : NULL;
  return c ? c : "";
}

/* A buffer of at least `need` bytes with these options: `current` when it is large enough,
 * else a new one (nil when allocation fails; the caller reports it). */
id<MTLBuffer> bn_metal_grow_buffer(id<MTLDevice> device, id<MTLBuffer> current, uint64_t need,
                                   MTLResourceOptions options);

/* mps_matmul.m */
BOOL bn_metal_mps_supports_device(id<MTLDevice> device);
/* Encodes one validated BN_OP_MPS_MATMUL into cb. No compute (or other) encoder may be open
 * on cb. Returns BN_OK or a status with a message (bn_fail). */
int32_t bn_metal_encode_mps_matmul(BNMetalDevice* d, id<MTLCommandBuffer> cb, const bn_cmd_t* cmd);

#endif /* BN_METAL_INTERNAL_H */
