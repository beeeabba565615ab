#version 450
// BN_OP_UNARY COPY of a batched 2-D transpose, f16, tiled through shared memory. See ew_transpose.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define EW_F16 1
#include "ew_transpose.glsl"
