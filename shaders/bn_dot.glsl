// bn_dot.glsl — packed 4×8-bit integer dot products, two implementations of one interface.
//
// With BN_DOT4 = 1: SPV_KHR_integer_dot_product (OpSDot / OpSUDot with the 4x8 packed
// format) through GL_EXT_spirv_intrinsics, since the glslang we build with predates
// GL_EXT_integer_dot_product. The device must enable shaderIntegerDotProduct
// (VK_KHR_shader_integer_dot_product or Vulkan 1.3); bn_gpu_plan only picks these shaders
// when caps has BN_CAP_INT_DOT. SPIRV-Cross cannot translate these instructions to MSL, so
// the *_dot4 shaders have no .metal (Apple GPUs have no packed dot product instruction).
// With BN_DOT4 = 0: the same sums from bitfield extracts and integer multiply-adds.
//
//   bn_dot_ss(a, b): Σ_i int8(a_i) · int8(b_i)   (both signed)
//   bn_dot_su(a, b): Σ_i int8(a_i) · uint8(b_i)  (a signed, b unsigned)
// Results are exact: |Σ| <= 4 · 128 · 255.

#if BN_DOT4
// (the including shader declares #extension GL_EXT_spirv_intrinsics : require)

spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int bn_spv_sdot(uint a, uint b, spirv_literal int packed_format);

spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4452)
int bn_spv_sudot(uint a, uint b, spirv_literal int packed_format);

int bn_dot_ss(uint a, uint b) { return bn_spv_sdot(a, b, 0); }
int bn_dot_su(uint a, uint b) { return bn_spv_sudot(a, b, 0); }

#else

int bn_dot_ss(uint a, uint b) {
  ivec4 x = ivec4(bitfieldExtract(int(a), 0, 8), bitfieldExtract(int(a), 8, 8),
                  bitfieldExtract(int(a), 16, 8), int(a) >> 24);
  ivec4 y = ivec4(bitfieldExtract(int(b), 0, 8), bitfieldExtract(int(b), 8, 8),
                  bitfieldExtract(int(b), 16, 8), int(b) >> 24);
  return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
}

int bn_dot_su(uint a, uint b) {
  ivec4 x = ivec4(bitfieldExtract(int(a), 0, 8), bitfieldExtract(int(a), 8, 8),
                  bitfieldExtract(int(a), 16, 8), int(a) >> 24);
  ivec4 y = ivec4(b & 0xFFu, (b >> 8) & 0xFFu, (b >> 16) & 0xFFu, b >> 24);
  return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
}

#endif

// The four signed bytes of a packed int8 word, sign-extended.
ivec4 bn_unpack_s8(uint a) {
  return ivec4(bitfieldExtract(int(a), 0, 8), bitfieldExtract(int(a), 8, 8),
               bitfieldExtract(int(a), 16, 8), int(a) >> 24);
}
