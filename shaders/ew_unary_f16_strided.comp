#version 450
// BN_OP_UNARY, f16, any strides (generic index math). See ew_unary.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define EW_F16 1
#define EW_STRIDED 1
#include "ew_unary.glsl"
