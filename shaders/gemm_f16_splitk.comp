#version 450
// BN_OP_MATMUL, f16 operands: tiled GEMM, 64 × 64 C tiles, one k slice per workgroup z
// (partial tiles to scratch; gemm_reduce adds them). For few tiles and deep k.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define GEMM_F16 1
#define GEMM_TILE 64
#define GEMM_SPLIT 1
#include "gemm_tiled.glsl"
