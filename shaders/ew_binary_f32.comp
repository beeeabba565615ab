#version 450
// BN_OP_BINARY, f32, dense or scalar-broadcast operands (the contiguous fast path). See ew_binary.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define EW_F16 0
#define EW_STRIDED 0
#include "ew_binary.glsl"
