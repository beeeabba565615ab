// reduce.glsl — the body of the BN_OP_REDUCE shaders (reduce*.comp), one per stage of the
// plan in rows_plan.h. Each .comp defines BN_RD_ROLE and includes this file:
//   BN_RD_SINGLE       reduce:             one stage, every row of a tile → out
//   BN_RD_PARTIAL      reduce_partial:     one chunk of rows of a tile → scratch partials
//   BN_RD_VAR_PARTIAL  reduce_var_partial: Σ(x − mean)² of one chunk (means from scratch)
//   BN_RD_COMBINE      reduce_combine:     partials [nsplit][Q] → out
//   BN_RD_VAR_MEAN     reduce_var_mean:    partial sums → means (scratch)
// Sums are Kahan-compensated per invocation, then added in a fixed shared-memory tree.
// MAX/MIN propagate NaN; ARGMAX keeps (value, index) with bn_arg_better (first occurrence,
// a NaN first).

#define BN_RD_SINGLE 0
#define BN_RD_PARTIAL 1
#define BN_RD_VAR_PARTIAL 2
#define BN_RD_COMBINE 3
#define BN_RD_VAR_MEAN 4

layout(local_size_x = BN_RD_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform ReduceParams {
  uint op;
  uint dtype;
  uint outer;
  uint len;
  uint inner;
  uint ddof;
  uint reserved0;
  uint reserved1;
} p;

#if BN_RD_ROLE == BN_RD_SINGLE || BN_RD_ROLE == BN_RD_PARTIAL || BN_RD_ROLE == BN_RD_VAR_PARTIAL
layout(std430, set = 0, binding = 0) readonly restrict buffer X { uint xw[]; };
#endif
#if BN_RD_ROLE == BN_RD_SINGLE || BN_RD_ROLE == BN_RD_COMBINE
layout(std430, set = 0, binding = 1) writeonly restrict buffer Out { uint outw[]; };
#endif
#if BN_RD_ROLE != BN_RD_SINGLE
layout(std430, set = 0, binding = 7) restrict buffer Scratch { uint sw[]; };
#endif

#define OP_SUM 0u
#define OP_MEAN 1u
#define OP_MAX 2u
#define OP_MIN 3u
#define OP_ARGMAX 4u
#define OP_VAR 5u

shared float red_v[BN_RD_WG];
shared uint red_i[BN_RD_WG];

bool is_sum_op(uint op) {
  return op == OP_SUM || op == OP_MEAN || op == OP_VAR;
}

float ext_init(uint op) {
  return op == OP_MIN ? uintBitsToFloat(0x7F800000u) : uintBitsToFloat(0xFF800000u);
}

// Running state of one invocation: Kahan (s, c) for sums; (v, i) for extremes.
struct Acc {
  float s;
  float c;
  float v;
  uint i;
};

Acc acc_init(uint op) {
  Acc a;
  a.s = 0.0;
  a.c = 0.0;
  a.v = ext_init(op);
  a.i = 0xFFFFFFFFu;
  return a;
}

// Folds one element (value x at index l) into the state.
void acc_add(inout Acc a, uint op, float x, uint l) {
  if (is_sum_op(op)) {
    bn_kahan_add(a.s, a.c, x);
  } else if (op == OP_ARGMAX) {
    if (x > a.v || (isnan(x) && !isnan(a.v)) || a.i == 0xFFFFFFFFu) {
      a.v = x;
      a.i = l;
    }
  } else if (op == OP_MAX) {
    a.v = bn_max_nan(a.v, x);
  } else {
    a.v = bn_min_nan(a.v, x);
  }
}

// Folds a partial result (value v, index i) into the state.
void acc_merge(inout Acc a, uint op, float v, uint i) {
  if (is_sum_op(op)) {
    bn_kahan_add(a.s, a.c, v);
  } else if (op == OP_ARGMAX) {
    if (bn_arg_better(a.v, a.i, v, i)) {
      a.v = v;
      a.i = i;
    }
  } else if (op == OP_MAX) {
    a.v = bn_max_nan(a.v, v);
  } else {
    a.v = bn_min_nan(a.v, v);
  }
}

// Tree over `lanes` lanes `stride` invocations apart (invocation tid is lane `lane` of its
// group): columns (tid = lane · cw + col, stride cw) or segments of a row (stride 1).
// Afterwards each group's result is in red_v / red_i at its lane 0, visible to everyone.
void tree(uint op, Acc a, uint tid, uint lane, uint stride, uint lanes) {
  red_v[tid] = is_sum_op(op) ? bn_kahan_value(a.s, a.c) : a.v;
  red_i[tid] = a.i;
  barrier();
  for (uint h = lanes >> 1; h > 0u; h >>= 1) {
    if (lane < h) {
      uint o = tid + h * stride;
      float v1 = red_v[tid];
      float v2 = red_v[o];
      if (is_sum_op(op)) {
        precise float s = v1 + v2;
        red_v[tid] = s;
      } else if (op == OP_ARGMAX) {
        if (bn_arg_better(v1, red_i[tid], v2, red_i[o])) {
          red_v[tid] = v2;
          red_i[tid] = red_i[o];
        }
      } else if (op == OP_MAX) {
        red_v[tid] = bn_max_nan(v1, v2);
      } else {
        red_v[tid] = bn_min_nan(v1, v2);
      }
    }
    barrier();
  }
}

uint nsplit_of() {
  uint cw = BN_RD_CW(p.inner);
  uint tiles = p.outer * BN_RD_CDIV(p.inner, cw);
  return BN_RD_NSPLIT(tiles, p.len, uint(BN_RD_WG) / cw);
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint op = p.op;
#if BN_RD_ROLE == BN_RD_SINGLE || BN_RD_ROLE == BN_RD_PARTIAL || BN_RD_ROLE == BN_RD_VAR_PARTIAL
  bool f16 = p.dtype == 1u;
#if BN_RD_ROLE == BN_RD_SINGLE
  if (BN_RD_SEGMENTED(p.len, p.inner)) {
    // ---- short contiguous rows: L lanes per row, BN_RD_WG / L rows per workgroup ----------
    uint L = BN_RD_SEG_LANES(p.len);
    uint lane = tid & (L - 1u);
    uint o = bn_group_linear() * (uint(BN_RD_WG) / L) + tid / L;
    bool live = o < p.outer;
    uint base = o * p.len;
    Acc a = acc_init(op);
    if (live) {
      for (uint l = lane; l < p.len; l += L) acc_add(a, op, BN_LOAD(xw, base + l, f16), l);
    }
    tree(op, a, tid, lane, 1u, L);
    if (op == OP_VAR) {
      float mean = red_v[tid - lane] / float(p.len);
      barrier();
      Acc b = acc_init(OP_SUM);
      if (live) {
        for (uint l = lane; l < p.len; l += L) {
          precise float d = BN_LOAD(xw, base + l, f16) - mean;
          precise float d2 = d * d;
          bn_kahan_add(b.s, b.c, d2);
        }
      }
      tree(OP_SUM, b, tid, lane, 1u, L);
      if (lane == 0u && live) outw[o] = floatBitsToUint(red_v[tid] / float(p.len - p.ddof));
    } else if (lane == 0u && live) {
      float v = red_v[tid];
      if (op == OP_MEAN) v = v / float(p.len);
      outw[o] = op == OP_ARGMAX ? red_i[tid] : floatBitsToUint(v);
    }
    return;
  }
#endif
  // ---- a tile of columns of one outer index, over (a chunk of) len -------------------------
  uint cw = BN_RD_CW(p.inner);
  uint lanes = uint(BN_RD_WG) / cw;
  uint col_tiles = BN_RD_CDIV(p.inner, cw);
  uint tile = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (tile >= p.outer * col_tiles) return;  // whole workgroup: uniform
  uint o = tile / col_tiles;
  uint c = (tile - o * col_tiles) * cw + (tid & (cw - 1u));
  uint lane = tid / cw;
  bool live = c < p.inner;
  uint l0 = 0u;
  uint l1 = p.len;
#if BN_RD_ROLE != BN_RD_SINGLE
  uint ns = gl_NumWorkGroups.z;
  uint chunk = BN_RD_CDIV(BN_RD_CDIV(p.len, ns), lanes) * lanes;
  uint sidx = gl_WorkGroupID.z;
  l0 = sidx < BN_RD_CDIV(p.len, chunk) ? sidx * chunk : p.len;
  l1 = l0 + min(chunk, p.len - l0);
  uint Q = p.outer * p.inner;
  uint q = o * p.inner + c;
#endif
  uint rowbase = o * p.len;  // (rowbase + l) · inner + c is element (o, l, c)
#if BN_RD_ROLE == BN_RD_VAR_PARTIAL
  float mean = live ? uintBitsToFloat(sw[2u * ns * Q + q]) : 0.0;
  Acc a = acc_init(OP_SUM);
  if (live) {
    for (uint l = l0 + lane; l < l1; l += lanes) {
      precise float d = BN_LOAD(xw, (rowbase + l) * p.inner + c, f16) - mean;
      precise float d2 = d * d;
      bn_kahan_add(a.s, a.c, d2);
    }
  }
  tree(OP_SUM, a, tid, lane, cw, lanes);
  if (lane == 0u && live) {
    uint at = 2u * (sidx * Q + q);
    sw[at] = floatBitsToUint(red_v[tid]);
    sw[at + 1u] = 0u;
  }
#else
  Acc a = acc_init(op);
  if (live) {
    for (uint l = l0 + lane; l < l1; l += lanes) {
      acc_add(a, op, BN_LOAD(xw, (rowbase + l) * p.inner + c, f16), l);
    }
  }
  tree(op, a, tid, lane, cw, lanes);
#if BN_RD_ROLE == BN_RD_PARTIAL
  if (lane == 0u && live) {
    uint at = 2u * (sidx * Q + q);
    sw[at] = floatBitsToUint(red_v[tid]);
    sw[at + 1u] = red_i[tid];
  }
#else
  // BN_RD_SINGLE
  uint outq = o * p.inner + c;
  if (op == OP_VAR) {
    // Second pass over the same rows with the column's mean.
    float mean = live ? red_v[tid & (cw - 1u)] / float(p.len) : 0.0;
    barrier();
    Acc b = acc_init(OP_SUM);
    if (live) {
      for (uint l = lane; l < p.len; l += lanes) {
        precise float d = BN_LOAD(xw, (rowbase + l) * p.inner + c, f16) - mean;
        precise float d2 = d * d;
        bn_kahan_add(b.s, b.c, d2);
      }
    }
    tree(OP_SUM, b, tid, lane, cw, lanes);
    if (lane == 0u && live) outw[outq] = floatBitsToUint(red_v[tid] / float(p.len - p.ddof));
  } else if (lane == 0u && live) {
    float v = red_v[tid];
    if (op == OP_MEAN) v = v / float(p.len);
    outw[outq] = op == OP_ARGMAX ? red_i[tid] : floatBitsToUint(v);
  }
#endif
#endif
#else
  // ---- combine the partials [nsplit][Q] of QW consecutive outputs ----------------------------
  uint Q = p.outer * p.inner;
  uint ns = nsplit_of();
  uint cw = BN_RD_CW(Q);
  uint lanes = uint(BN_RD_WG) / cw;
  uint tile = bn_group_linear();
  if (tile >= BN_RD_CDIV(Q, cw)) return;  // whole workgroup: uniform
  uint q = tile * cw + (tid & (cw - 1u));
  uint lane = tid / cw;
  bool live = q < Q;
  uint cop = op == OP_VAR ? OP_SUM : op;
  Acc a = acc_init(cop);
  if (live) {
    for (uint s = lane; s < ns; s += lanes) {
      uint at = 2u * (s * Q + q);
      acc_merge(a, cop, uintBitsToFloat(sw[at]), sw[at + 1u]);
    }
  }
  tree(cop, a, tid, lane, cw, lanes);
  if (lane == 0u && live) {
    float v = red_v[tid];
#if BN_RD_ROLE == BN_RD_VAR_MEAN
    sw[2u * ns * Q + q] = floatBitsToUint(v / float(p.len));
#else
    if (op == OP_MEAN) v = v / float(p.len);
    if (op == OP_VAR) v = v / float(p.len - p.ddof);
    outw[q] = op == OP_ARGMAX ? red_i[tid] : floatBitsToUint(v);
#endif
  }
#endif
}
