#version 450
// BN_OP_BITLINEAR, m > 8 (or no subgroup arithmetic), plain integer math. See bitlinear_gemm.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_DOT4 0
#include "bitlinear_gemm.glsl"
