#version 450
// BN_OP_REDUCE, last stage of a split reduction (partials → out).
// Geometry: shaders/rows_plan.h; body: shaders/reduce.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"
#include "rows_common.glsl"

#define BN_RD_ROLE BN_RD_COMBINE
#include "reduce.glsl"
