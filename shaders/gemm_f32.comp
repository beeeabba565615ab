#version 450
// BN_OP_MATMUL, f32 operands: tiled GEMM, 64 × 64 C tiles (see gemm_tiled.glsl).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define GEMM_F16 0
#define GEMM_TILE 64
#define GEMM_SPLIT 0
#include "gemm_tiled.glsl"
