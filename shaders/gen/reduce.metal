#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T>
[[clang::optnone]] T spvFMul(T l, T r)
{
    return fma(l, r, T(0));
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Cols> spvFMulVectorMatrix(vec<T, Rows> v, matrix<T, Cols, Rows> m)
{
    vec<T, Cols> res = vec<T, Cols>(0);
    for (uint i = Rows; i > 0; --i)
    {
        vec<T, Cols> tmp(0);
        for (uint j = 0; j < Cols; ++j)
        {
            tmp[j] = m[j][i - 1];
        }
        res = fma(tmp, vec<T, Cols>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Rows> spvFMulMatrixVector(matrix<T, Cols, Rows> m, vec<T, Cols> v)
{
    vec<T, Rows> res = vec<T, Rows>(0);
    for (uint i = Cols; i > 0; --i)
    {
        res = fma(m[i - 1], vec<T, Rows>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int LCols, int LRows, int RCols, int RRows>
[[clang::optnone]] matrix<T, RCols, LRows> spvFMulMatrixMatrix(matrix<T, LCols, LRows> l, matrix<T, RCols, RRows> r)
{
    matrix<T, RCols, LRows> res;
    for (uint i = 0; i < RCols; i++)
    {
        vec<T, RCols> tmp(0);
        for (uint j = 0; j < LCols; j++)
        {
            tmp = fma(vec<T, RCols>(r[i][j]), l[j], tmp);
        }
        res[i] = tmp;
    }
    return res;
}

template<typename T>
[[clang::optnone]] T spvFAdd(T l, T r)
{
    return fma(T(1), l, r);
}

template<typename T>
[[clang::optnone]] T spvFSub(T l, T r)
{
    return fma(T(-1), r, l);
}

struct Acc
{
    float s;
    float c;
    float v;
    uint i;
};

struct ReduceParams
{
    uint op;
    uint dtype;
    uint outer;
    uint len;
    uint inner;
    uint ddof;
    uint reserved0;
    uint reserved1;
};

struct X
{
    uint xw[1];
};

struct Out
{
    uint outw[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
float ext_init(thread const uint& op)
{
    float _271;
    if (op == 3u)
    {
        _271 = as_type<float>(2139095040u);
    }
    else
    {
        _271 = as_type<float>(4286578688u);
    }
    return _271;
}

static inline __attribute__((always_inline))
Acc acc_init(thread const uint& op)
{
    Acc a;
    a.s = 0.0;
    a.c = 0.0;
    uint param = op;
    a.v = ext_init(param);
    a.i = 4294967295u;
    return a;
}

static inline __attribute__((always_inline))
float bn_h2f(thread const uint& h)
{
    uint _sign = (h & 32768u) << uint(16);
    uint em = h & 32767u;
    uint b;
    if (em < 1024u)
    {
        b = as_type<uint>(float(em) * 5.9604644775390625e-08);
    }
    else
    {
        if (em >= 31744u)
        {
            b = (em << uint(13)) | 2139095040u;
        }
        else
        {
            b = (em << uint(13)) + 939524096u;
        }
    }
    return as_type<float>(b | _sign);
}

static inline __attribute__((always_inline))
bool is_sum_op(thread const uint& op)
{
    return ((op == 0u) || (op == 1u)) || (op == 5u);
}

static inline __attribute__((always_inline))
void bn_kahan_add(thread float& s, thread float& c, thread const float& x)
{
    float y = spvFSub(x, c);
    float t = spvFAdd(s, y);
    float e = spvFSub(spvFSub(t, s), y);
    bool _152 = !isinf(t);
    bool _158;
    if (_152)
    {
        _158 = !isnan(t);
    }
    else
    {
        _158 = _152;
    }
    bool finite = _158;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
float bn_max_nan(thread const float& a, thread const float& b)
{
    float _183;
    if (isnan(a))
    {
        _183 = a;
    }
    else
    {
        _183 = (isnan(b) || (b > a)) ? b : a;
    }
    return _183;
}

static inline __attribute__((always_inline))
float bn_min_nan(thread const float& a, thread const float& b)
{
    float _202;
    if (isnan(a))
    {
        _202 = a;
    }
    else
    {
        _202 = (isnan(b) || (b < a)) ? b : a;
    }
    return _202;
}

static inline __attribute__((always_inline))
void acc_add(thread Acc& a, thread const uint& op, thread const float& x, thread const uint& l)
{
    uint param = op;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        float param_3 = x;
        bn_kahan_add(param_1, param_2, param_3);
        a.s = param_1;
        a.c = param_2;
    }
    else
    {
        if (op == 4u)
        {
            bool _324 = x > a.v;
            bool _337;
            if (!_324)
            {
                bool _329 = isnan(x);
                bool _336;
                if (_329)
                {
                    _336 = !isnan(a.v);
                }
                else
                {
                    _336 = _329;
                }
                _337 = _336;
            }
            else
            {
                _337 = _324;
            }
            bool _344;
            if (!_337)
            {
                _344 = a.i == 4294967295u;
            }
            else
            {
                _344 = _337;
            }
            if (_344)
            {
                a.v = x;
                a.i = l;
            }
        }
        else
        {
            if (op == 2u)
            {
                float param_4 = a.v;
                float param_5 = x;
                a.v = bn_max_nan(param_4, param_5);
            }
            else
            {
                float param_6 = a.v;
                float param_7 = x;
                a.v = bn_min_nan(param_6, param_7);
            }
        }
    }
}

static inline __attribute__((always_inline))
float bn_kahan_value(thread const float& s, thread const float& c)
{
    float v = spvFSub(s, c);
    bool _169 = isinf(s);
    bool _175;
    if (!_169)
    {
        _175 = isnan(s);
    }
    else
    {
        _175 = _169;
    }
    return _175 ? s : v;
}

static inline __attribute__((always_inline))
bool bn_arg_better(thread const float& v1, thread const uint& i1, thread const float& v2, thread const uint& i2)
{
    bool n1 = isnan(v1);
    bool n2 = isnan(v2);
    if (n1 || n2)
    {
        bool _239;
        if (n2)
        {
            _239 = (!n1) || (i2 < i1);
        }
        else
        {
            _239 = n2;
        }
        return _239;
    }
    bool _243 = v2 > v1;
    bool _254;
    if (!_243)
    {
        _254 = (v2 == v1) && (i2 < i1);
    }
    else
    {
        _254 = _243;
    }
    return _254;
}

static inline __attribute__((always_inline))
void tree(thread const uint& op, thread const Acc& a, thread const uint& tid, thread const uint& lane, thread const uint& stride, thread const uint& lanes, threadgroup float (&red_v)[256], threadgroup uint (&red_i)[256])
{
    uint param = op;
    float _380;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        _380 = bn_kahan_value(param_1, param_2);
    }
    else
    {
        _380 = a.v;
    }
    red_v[tid] = _380;
    red_i[tid] = a.i;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _407 = lanes >> uint(1);
    for (uint h = _407; h > 0u; h = h >> uint(1))
    {
        if (lane < h)
        {
            uint o = tid + (h * stride);
            float v1 = red_v[tid];
            float v2 = red_v[o];
            uint param_3 = op;
            if (is_sum_op(param_3))
            {
                float s = spvFAdd(v1, v2);
                red_v[tid] = s;
            }
            else
            {
                if (op == 4u)
                {
                    float param_4 = v1;
                    uint param_5 = red_i[tid];
                    float param_6 = v2;
                    uint param_7 = red_i[o];
                    if (bn_arg_better(param_4, param_5, param_6, param_7))
                    {
                        red_v[tid] = v2;
                        red_i[tid] = red_i[o];
                    }
                }
                else
                {
                    if (op == 2u)
                    {
                        float param_8 = v1;
                        float param_9 = v2;
                        red_v[tid] = bn_max_nan(param_8, param_9);
                    }
                    else
                    {
                        float param_10 = v1;
                        float param_11 = v2;
                        red_v[tid] = bn_min_nan(param_10, param_11);
                    }
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
}

kernel void reduce(constant ReduceParams& p [[buffer(8)]], const device X& _744 [[buffer(0)]], device Out& _895 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red_v[256];
    threadgroup uint red_i[256];
    uint tid = gl_LocalInvocationID.x;
    uint op = p.op;
    bool f16 = p.dtype == 1u;
    bool _514 = p.inner == 1u;
    bool _607;
    if (_514)
    {
        uint _525;
        if ((((p.len - 1u) / 8u) + 1u) > 128u)
        {
            _525 = 256u;
        }
        else
        {
            uint _536;
            if ((((p.len - 1u) / 8u) + 1u) > 64u)
            {
                _536 = 128u;
            }
            else
            {
                uint _547;
                if ((((p.len - 1u) / 8u) + 1u) > 32u)
                {
                    _547 = 64u;
                }
                else
                {
                    uint _558;
                    if ((((p.len - 1u) / 8u) + 1u) > 16u)
                    {
                        _558 = 32u;
                    }
                    else
                    {
                        uint _568;
                        if ((((p.len - 1u) / 8u) + 1u) > 8u)
                        {
                            _568 = 16u;
                        }
                        else
                        {
                            uint _578;
                            if ((((p.len - 1u) / 8u) + 1u) > 4u)
                            {
                                _578 = 8u;
                            }
                            else
                            {
                                uint _588;
                                if ((((p.len - 1u) / 8u) + 1u) > 2u)
                                {
                                    _588 = 4u;
                                }
                                else
                                {
                                    _588 = ((((p.len - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                                }
                                _578 = _588;
                            }
                            _568 = _578;
                        }
                        _558 = _568;
                    }
                    _547 = _558;
                }
                _536 = _547;
            }
            _525 = _536;
        }
        _607 = _525 < 256u;
    }
    else
    {
        _607 = _514;
    }
    if (_607)
    {
        uint _617;
        if ((((p.len - 1u) / 8u) + 1u) > 128u)
        {
            _617 = 256u;
        }
        else
        {
            uint _627;
            if ((((p.len - 1u) / 8u) + 1u) > 64u)
            {
                _627 = 128u;
            }
            else
            {
                uint _637;
                if ((((p.len - 1u) / 8u) + 1u) > 32u)
                {
                    _637 = 64u;
                }
                else
                {
                    uint _647;
                    if ((((p.len - 1u) / 8u) + 1u) > 16u)
                    {
                        _647 = 32u;
                    }
                    else
                    {
                        uint _657;
                        if ((((p.len - 1u) / 8u) + 1u) > 8u)
                        {
                            _657 = 16u;
                        }
                        else
                        {
                            uint _667;
                            if ((((p.len - 1u) / 8u) + 1u) > 4u)
                            {
                                _667 = 8u;
                            }
                            else
                            {
                                uint _677;
                                if ((((p.len - 1u) / 8u) + 1u) > 2u)
                                {
                                    _677 = 4u;
                                }
                                else
                                {
                                    _677 = ((((p.len - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                                }
                                _667 = _677;
                            }
                            _657 = _667;
                        }
                        _647 = _657;
                    }
                    _637 = _647;
                }
                _627 = _637;
            }
            _617 = _627;
        }
        uint L = _617;
        uint lane = tid & (L - 1u);
        uint o = (bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups) * (256u / L)) + (tid / L);
        bool live = o < p.outer;
        uint base = o * p.len;
        uint param = op;
        Acc a = acc_init(param);
        if (live)
        {
            float _738;
            for (uint l = lane; l < p.len; l += L)
            {
                if (f16)
                {
                    uint param_1 = (_744.xw[(base + l) >> uint(1)] >> (((base + l) & 1u) << uint(4))) & 65535u;
                    _738 = bn_h2f(param_1);
                }
                else
                {
                    _738 = as_type<float>(_744.xw[base + l]);
                }
                Acc param_2 = a;
                uint param_3 = op;
                float param_4 = _738;
                uint param_5 = l;
                acc_add(param_2, param_3, param_4, param_5);
                a = param_2;
            }
        }
        uint param_6 = op;
        Acc param_7 = a;
        uint param_8 = tid;
        uint param_9 = lane;
        uint param_10 = 1u;
        uint param_11 = L;
        tree(param_6, param_7, param_8, param_9, param_10, param_11, red_v, red_i);
        if (op == 5u)
        {
            float mean = red_v[tid - lane] / float(p.len);
            threadgroup_barrier(mem_flags::mem_threadgroup);
            uint param_12 = 0u;
            Acc b = acc_init(param_12);
            if (live)
            {
                float _827;
                for (uint l_1 = lane; l_1 < p.len; l_1 += L)
                {
                    if (f16)
                    {
                        uint param_13 = (_744.xw[(base + l_1) >> uint(1)] >> (((base + l_1) & 1u) << uint(4))) & 65535u;
                        _827 = bn_h2f(param_13);
                    }
                    else
                    {
                        _827 = as_type<float>(_744.xw[base + l_1]);
                    }
                    float d = spvFSub(_827, mean);
                    float d2 = spvFMul(d, d);
                    float param_14 = b.s;
                    float param_15 = b.c;
                    float param_16 = d2;
                    bn_kahan_add(param_14, param_15, param_16);
                    b.s = param_14;
                    b.c = param_15;
                }
            }
            uint param_17 = 0u;
            Acc param_18 = b;
            uint param_19 = tid;
            uint param_20 = lane;
            uint param_21 = 1u;
            uint param_22 = L;
            tree(param_17, param_18, param_19, param_20, param_21, param_22, red_v, red_i);
            if ((lane == 0u) && live)
            {
                _895.outw[o] = as_type<uint>(red_v[tid] / float(p.len - p.ddof));
            }
        }
        else
        {
            if ((lane == 0u) && live)
            {
                float v = red_v[tid];
                if (op == 1u)
                {
                    v /= float(p.len);
                }
                uint _933;
                if (op == 4u)
                {
                    _933 = red_i[tid];
                }
                else
                {
                    _933 = as_type<uint>(v);
                }
                _895.outw[o] = _933;
            }
        }
        return;
    }
    uint _949;
    if (p.inner > 128u)
    {
        _949 = 256u;
    }
    else
    {
        uint _956;
        if (p.inner > 64u)
        {
            _956 = 128u;
        }
        else
        {
            uint _963;
            if (p.inner > 32u)
            {
                _963 = 64u;
            }
            else
            {
                uint _970;
                if (p.inner > 16u)
                {
                    _970 = 32u;
                }
                else
                {
                    uint _977;
                    if (p.inner > 8u)
                    {
                        _977 = 16u;
                    }
                    else
                    {
                        uint _984;
                        if (p.inner > 4u)
                        {
                            _984 = 8u;
                        }
                        else
                        {
                            uint _991;
                            if (p.inner > 2u)
                            {
                                _991 = 4u;
                            }
                            else
                            {
                                _991 = (p.inner > 1u) ? 2u : 1u;
                            }
                            _984 = _991;
                        }
                        _977 = _984;
                    }
                    _970 = _977;
                }
                _963 = _970;
            }
            _956 = _963;
        }
        _949 = _956;
    }
    uint cw = _949;
    uint lanes = 256u / cw;
    uint col_tiles = ((p.inner - 1u) / cw) + 1u;
    uint tile = (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
    if (tile >= (p.outer * col_tiles))
    {
        return;
    }
    uint o_1 = tile / col_tiles;
    uint c = ((tile - (o_1 * col_tiles)) * cw) + (tid & (cw - 1u));
    uint lane_1 = tid / cw;
    bool live_1 = c < p.inner;
    uint l0 = 0u;
    uint l1 = p.len;
    uint rowbase = o_1 * p.len;
    uint param_23 = op;
    Acc a_1 = acc_init(param_23);
    if (live_1)
    {
        uint _1079 = l0 + lane_1;
        float _1089;
        for (uint l_2 = _1079; l_2 < l1; l_2 += lanes)
        {
            if (f16)
            {
                uint param_24 = (_744.xw[(((rowbase + l_2) * p.inner) + c) >> uint(1)] >> (((((rowbase + l_2) * p.inner) + c) & 1u) << uint(4))) & 65535u;
                _1089 = bn_h2f(param_24);
            }
            else
            {
                _1089 = as_type<float>(_744.xw[((rowbase + l_2) * p.inner) + c]);
            }
            Acc param_25 = a_1;
            uint param_26 = op;
            float param_27 = _1089;
            uint param_28 = l_2;
            acc_add(param_25, param_26, param_27, param_28);
            a_1 = param_25;
        }
    }
    uint param_29 = op;
    Acc param_30 = a_1;
    uint param_31 = tid;
    uint param_32 = lane_1;
    uint param_33 = cw;
    uint param_34 = lanes;
    tree(param_29, param_30, param_31, param_32, param_33, param_34, red_v, red_i);
    uint outq = (o_1 * p.inner) + c;
    if (op == 5u)
    {
        float _1168;
        if (live_1)
        {
            _1168 = red_v[tid & (cw - 1u)] / float(p.len);
        }
        else
        {
            _1168 = 0.0;
        }
        float mean_1 = _1168;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        uint param_35 = 0u;
        Acc b_1 = acc_init(param_35);
        if (live_1)
        {
            float _1202;
            for (uint l_3 = lane_1; l_3 < p.len; l_3 += lanes)
            {
                if (f16)
                {
                    uint param_36 = (_744.xw[(((rowbase + l_3) * p.inner) + c) >> uint(1)] >> (((((rowbase + l_3) * p.inner) + c) & 1u) << uint(4))) & 65535u;
                    _1202 = bn_h2f(param_36);
                }
                else
                {
                    _1202 = as_type<float>(_744.xw[((rowbase + l_3) * p.inner) + c]);
                }
                float d_1 = spvFSub(_1202, mean_1);
                float d2_1 = spvFMul(d_1, d_1);
                float param_37 = b_1.s;
                float param_38 = b_1.c;
                float param_39 = d2_1;
                bn_kahan_add(param_37, param_38, param_39);
                b_1.s = param_37;
                b_1.c = param_38;
            }
        }
        uint param_40 = 0u;
        Acc param_41 = b_1;
        uint param_42 = tid;
        uint param_43 = lane_1;
        uint param_44 = cw;
        uint param_45 = lanes;
        tree(param_40, param_41, param_42, param_43, param_44, param_45, red_v, red_i);
        if ((lane_1 == 0u) && live_1)
        {
            _895.outw[outq] = as_type<uint>(red_v[tid] / float(p.len - p.ddof));
        }
    }
    else
    {
        if ((lane_1 == 0u) && live_1)
        {
            float v_1 = red_v[tid];
            if (op == 1u)
            {
                v_1 /= float(p.len);
            }
            uint _1319;
            if (op == 4u)
            {
                _1319 = red_i[tid];
            }
            else
            {
                _1319 = as_type<uint>(v_1);
            }
            _895.outw[outq] = _1319;
        }
    }
}

