#version 450
// BN_OP_REDUCE, one stage (the whole len of a tile per workgroup).
// Geometry: shaders/rows_plan.h; body: shaders/reduce.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"
#include "rows_common.glsl"

#define BN_RD_ROLE BN_RD_SINGLE
#include "reduce.glsl"
