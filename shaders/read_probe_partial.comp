#version 450
// BN_OP_READ_PROBE, stage 1 of 2: partial wrapping sums of the data words.
//
// Workgroup g (of ceil(words / BN_RP_CHUNK_WORDS), grid folded to 2-D) sums the u32 words
// [g·CHUNK, (g+1)·CHUNK) ∩ [0, words): invocation t issues BN_RP_PER_THREAD independent
// 16-byte loads (uvec4 index g·CHUNK/4 + j·256 + t, coalesced); the last partial uvec4 of
// the buffer is read word by word. A shared-memory tree adds the 256 sums; the group's sum
// goes to scratch[g] (binding 7). Integer adds wrap, so the order never matters.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

layout(local_size_x = BN_RP_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform ReadProbeParams {
  uint words;
  uint reserved0;
  uint reserved1;
  uint reserved2;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer Data { uvec4 data[]; };
layout(std430, set = 0, binding = 7) writeonly restrict buffer Scratch { uint partial[]; };

shared uint red[BN_RP_WG];

void main() {
  uint groups = p.words / BN_RP_CHUNK_WORDS + ((p.words % BN_RP_CHUNK_WORDS) != 0u ? 1u : 0u);
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint full4 = p.words >> 2;  // complete uvec4 in the buffer
  uint base4 = g * (BN_RP_CHUNK_WORDS / 4) + tid;
  uvec4 acc = uvec4(0u);
  if ((g + 1u) * (BN_RP_CHUNK_WORDS / 4) <= full4) {
    // Interior workgroup: no bounds checks, all loads independent.
    [[unroll]] for (uint j = 0u; j < BN_RP_PER_THREAD; ++j) acc += data[base4 + j * BN_RP_WG];
  } else {
    for (uint j = 0u; j < BN_RP_PER_THREAD; ++j) {
      uint i4 = base4 + j * BN_RP_WG;
      if (i4 < full4) {
        acc += data[i4];
      } else if (i4 == full4) {
        uint rest = p.words & 3u;
        if (rest > 0u) acc.x += data[i4].x;
        if (rest > 1u) acc.y += data[i4].y;
        if (rest > 2u) acc.z += data[i4].z;
      }
    }
  }
  red[tid] = (acc.x + acc.y) + (acc.z + acc.w);
  barrier();
  [[unroll]] for (uint s = BN_RP_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  if (tid == 0u) partial[g] = red[0];
}
