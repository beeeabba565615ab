#version 450
// BN_OP_READ_PROBE, stage 2 of 2: sum[0] = Σ of the stage-1 partials (scratch, binding 7),
// mod 2^32. One workgroup.
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

layout(std430, set = 0, binding = 1) writeonly restrict buffer Sum { uint sum[]; };
layout(std430, set = 0, binding = 7) readonly restrict buffer Scratch { uint partial[]; };

shared uint red[BN_RP_WG];

void main() {
  uint groups = p.words / BN_RP_CHUNK_WORDS + ((p.words % BN_RP_CHUNK_WORDS) != 0u ? 1u : 0u);
  uint tid = gl_LocalInvocationID.x;
  uint acc = 0u;
  for (uint j = tid; j < groups; j += BN_RP_WG) acc += partial[j];
  red[tid] = acc;
  barrier();
  [[unroll]] for (uint s = BN_RP_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  if (tid == 0u) sum[0] = red[0];
}
