#version 450
// BN_OP_MATMUL, f32 operands: tiled GEMM, 128 × 128 C tiles, 8 × 8 per invocation (see
// gemm_tiled.glsl). For large outputs.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define GEMM_F16 0
#define GEMM_TILE 128
#define GEMM_SPLIT 0
#include "gemm_tiled.glsl"
