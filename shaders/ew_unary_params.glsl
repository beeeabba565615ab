// The push constants of BN_OP_UNARY (bn_unary_params_t, 80 bytes), shared by the generic
// unary shaders and the tiled transpose that the plan picks for 2-D COPY.
layout(push_constant) uniform UnaryParams {
  uint op;
  uint dtype;
  uint rank;
  uint numel;
  uint shape[BN_EW_MAX_RANK];
  uint a_strides[BN_EW_MAX_RANK];
  uint a_offset;
  uint reserved0;
  uint reserved1;
  uint reserved2;
} pc;
