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

struct Scratch
{
    uint sw[1];
};

struct X
{
    uint xw[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
float ext_init(thread const uint& op)
{
    float _246;
    if (op == 3u)
    {
        _246 = as_type<float>(2139095040u);
    }
    else
    {
        _246 = as_type<float>(4286578688u);
    }
    return _246;
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
void bn_kahan_add(thread float& s, thread float& c, thread const float& x)
{
    float y = spvFSub(x, c);
    float t = spvFAdd(s, y);
    float e = spvFSub(spvFSub(t, s), y);
    bool _125 = !isinf(t);
    bool _131;
    if (_125)
    {
        _131 = !isnan(t);
    }
    else
    {
        _131 = _125;
    }
    bool finite = _131;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
bool is_sum_op(thread const uint& op)
{
    return ((op == 0u) || (op == 1u)) || (op == 5u);
}

static inline __attribute__((always_inline))
float bn_kahan_value(thread const float& s, thread const float& c)
{
    float v = spvFSub(s, c);
    bool _142 = isinf(s);
    bool _148;
    if (!_142)
    {
        _148 = isnan(s);
    }
    else
    {
        _148 = _142;
    }
    return _148 ? s : v;
}

static inline __attribute__((always_inline))
bool bn_arg_better(thread const float& v1, thread const uint& i1, thread const float& v2, thread const uint& i2)
{
    bool n1 = isnan(v1);
    bool n2 = isnan(v2);
    if (n1 || n2)
    {
        bool _212;
        if (n2)
        {
            _212 = (!n1) || (i2 < i1);
        }
        else
        {
            _212 = n2;
        }
        return _212;
    }
    bool _216 = v2 > v1;
    bool _227;
    if (!_216)
    {
        _227 = (v2 == v1) && (i2 < i1);
    }
    else
    {
        _227 = _216;
    }
    return _227;
}

static inline __attribute__((always_inline))
float bn_max_nan(thread const float& a, thread const float& b)
{
    float _156;
    if (isnan(a))
    {
        _156 = a;
    }
    else
    {
        _156 = (isnan(b) || (b > a)) ? b : a;
    }
    return _156;
}

static inline __attribute__((always_inline))
float bn_min_nan(thread const float& a, thread const float& b)
{
    float _175;
    if (isnan(a))
    {
        _175 = a;
    }
    else
    {
        _175 = (isnan(b) || (b < a)) ? b : a;
    }
    return _175;
}

static inline __attribute__((always_inline))
void tree(thread const uint& op, thread const Acc& a, thread const uint& tid, thread const uint& lane, thread const uint& stride, thread const uint& lanes, threadgroup float (&red_v)[256], threadgroup uint (&red_i)[256])
{
    uint param = op;
    float _280;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        _280 = bn_kahan_value(param_1, param_2);
    }
    else
    {
        _280 = a.v;
    }
    red_v[tid] = _280;
    red_i[tid] = a.i;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _308 = lanes >> uint(1);
    for (uint h = _308; h > 0u; h = h >> uint(1))
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

kernel void reduce_var_partial(constant ReduceParams& p [[buffer(8)]], const device X& _653 [[buffer(0)]], device Scratch& _614 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red_v[256];
    threadgroup uint red_i[256];
    uint tid = gl_LocalInvocationID.x;
    uint op = p.op;
    bool f16 = p.dtype == 1u;
    uint _422;
    if (p.inner > 128u)
    {
        _422 = 256u;
    }
    else
    {
        uint _430;
        if (p.inner > 64u)
        {
            _430 = 128u;
        }
        else
        {
            uint _438;
            if (p.inner > 32u)
            {
                _438 = 64u;
            }
            else
            {
                uint _446;
                if (p.inner > 16u)
                {
                    _446 = 32u;
                }
                else
                {
                    uint _454;
                    if (p.inner > 8u)
                    {
                        _454 = 16u;
                    }
                    else
                    {
                        uint _461;
                        if (p.inner > 4u)
                        {
                            _461 = 8u;
                        }
                        else
                        {
                            uint _468;
                            if (p.inner > 2u)
                            {
                                _468 = 4u;
                            }
                            else
                            {
                                _468 = (p.inner > 1u) ? 2u : 1u;
                            }
                            _461 = _468;
                        }
                        _454 = _461;
                    }
                    _446 = _454;
                }
                _438 = _446;
            }
            _430 = _438;
        }
        _422 = _430;
    }
    uint cw = _422;
    uint lanes = 256u / cw;
    uint col_tiles = ((p.inner - 1u) / cw) + 1u;
    uint tile = (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
    if (tile >= (p.outer * col_tiles))
    {
        return;
    }
    uint o = tile / col_tiles;
    uint c = ((tile - (o * col_tiles)) * cw) + (tid & (cw - 1u));
    uint lane = tid / cw;
    bool live = c < p.inner;
    uint l0 = 0u;
    uint l1 = p.len;
    uint ns = gl_NumWorkGroups.z;
    uint chunk = ((((((p.len - 1u) / ns) + 1u) - 1u) / lanes) + 1u) * lanes;
    uint sidx = gl_WorkGroupID.z;
    uint _570;
    if (sidx < (((p.len - 1u) / chunk) + 1u))
    {
        _570 = sidx * chunk;
    }
    else
    {
        _570 = p.len;
    }
    l0 = _570;
    l1 = l0 + min(chunk, (p.len - l0));
    uint Q = p.outer * p.inner;
    uint q = (o * p.inner) + c;
    uint rowbase = o * p.len;
    float _608;
    if (live)
    {
        _608 = as_type<float>(_614.sw[((2u * ns) * Q) + q]);
    }
    else
    {
        _608 = 0.0;
    }
    float mean = _608;
    uint param = 0u;
    Acc a = acc_init(param);
    if (live)
    {
        uint _636 = l0 + lane;
        float _647;
        for (uint l = _636; l < l1; l += lanes)
        {
            if (f16)
            {
                uint param_1 = (_653.xw[(((rowbase + l) * p.inner) + c) >> uint(1)] >> (((((rowbase + l) * p.inner) + c) & 1u) << uint(4))) & 65535u;
                _647 = bn_h2f(param_1);
            }
            else
            {
                _647 = as_type<float>(_653.xw[((rowbase + l) * p.inner) + c]);
            }
            float d = spvFSub(_647, mean);
            float d2 = spvFMul(d, d);
            float param_2 = a.s;
            float param_3 = a.c;
            float param_4 = d2;
            bn_kahan_add(param_2, param_3, param_4);
            a.s = param_2;
            a.c = param_3;
        }
    }
    uint param_5 = 0u;
    Acc param_6 = a;
    uint param_7 = tid;
    uint param_8 = lane;
    uint param_9 = cw;
    uint param_10 = lanes;
    tree(param_5, param_6, param_7, param_8, param_9, param_10, red_v, red_i);
    if ((lane == 0u) && live)
    {
        uint at = 2u * ((sidx * Q) + q);
        _614.sw[at] = as_type<uint>(red_v[tid]);
        _614.sw[at + 1u] = 0u;
    }
}

