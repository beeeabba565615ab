#version 450
// BN_OP_MATMUL, f16 operands, m == 1 or n == 1 with M stored [R][k] (see gemm_gemv.glsl).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define GEMM_F16 1
#include "gemm_gemv.glsl"
