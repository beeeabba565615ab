#version 450
// BN_OP_REDUCE, stage 3 of a split VAR (Σ(x − mean)² of one chunk, means from scratch).
// Geometry: shaders/rows_plan.h; body: shaders/reduce.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"
#include "rows_common.glsl"

#define BN_RD_ROLE BN_RD_VAR_PARTIAL
#include "reduce.glsl"
