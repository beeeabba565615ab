#version 450
// BN_OP_BITLINEAR, m > 8 (or no subgroup arithmetic), packed int8 dot products (BN_CAP_INT_DOT). See bitlinear_gemm.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_DOT4 1
#include "bitlinear_gemm.glsl"
