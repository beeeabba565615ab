#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

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

struct Scratch
{
    uint sw[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
float ext_init(thread const uint& op)
{
    float _253;
    if (op == 3u)
    {
        _253 = as_type<float>(2139095040u);
    }
    else
    {
        _253 = as_type<float>(4286578688u);
    }
    return _253;
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
    bool _132 = !isinf(t);
    bool _138;
    if (_132)
    {
        _138 = !isnan(t);
    }
    else
    {
        _138 = _132;
    }
    bool finite = _138;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
float bn_max_nan(thread const float& a, thread const float& b)
{
    float _163;
    if (isnan(a))
    {
        _163 = a;
    }
    else
    {
        _163 = (isnan(b) || (b > a)) ? b : a;
    }
    return _163;
}

static inline __attribute__((always_inline))
float bn_min_nan(thread const float& a, thread const float& b)
{
    float _182;
    if (isnan(a))
    {
        _182 = a;
    }
    else
    {
        _182 = (isnan(b) || (b < a)) ? b : a;
    }
    return _182;
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
            bool _306 = x > a.v;
            bool _319;
            if (!_306)
            {
                bool _311 = isnan(x);
                bool _318;
                if (_311)
                {
                    _318 = !isnan(a.v);
                }
                else
                {
                    _318 = _311;
                }
                _319 = _318;
            }
            else
            {
                _319 = _306;
            }
            bool _326;
            if (!_319)
            {
                _326 = a.i == 4294967295u;
            }
            else
            {
                _326 = _319;
            }
            if (_326)
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
    bool _149 = isinf(s);
    bool _155;
    if (!_149)
    {
        _155 = isnan(s);
    }
    else
    {
        _155 = _149;
    }
    return _155 ? s : v;
}

static inline __attribute__((always_inline))
bool bn_arg_better(thread const float& v1, thread const uint& i1, thread const float& v2, thread const uint& i2)
{
    bool n1 = isnan(v1);
    bool n2 = isnan(v2);
    if (n1 || n2)
    {
        bool _219;
        if (n2)
        {
            _219 = (!n1) || (i2 < i1);
        }
        else
        {
            _219 = n2;
        }
        return _219;
    }
    bool _223 = v2 > v1;
    bool _234;
    if (!_223)
    {
        _234 = (v2 == v1) && (i2 < i1);
    }
    else
    {
        _234 = _223;
    }
    return _234;
}

static inline __attribute__((always_inline))
void tree(thread const uint& op, thread const Acc& a, thread const uint& tid, thread const uint& lane, thread const uint& stride, thread const uint& lanes, threadgroup float (&red_v)[256], threadgroup uint (&red_i)[256])
{
    uint param = op;
    float _362;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        _362 = bn_kahan_value(param_1, param_2);
    }
    else
    {
        _362 = a.v;
    }
    red_v[tid] = _362;
    red_i[tid] = a.i;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _389 = lanes >> uint(1);
    for (uint h = _389; h > 0u; h = h >> uint(1))
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

kernel void reduce_partial(constant ReduceParams& p [[buffer(8)]], const device X& _712 [[buffer(0)]], device Scratch& _794 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red_v[256];
    threadgroup uint red_i[256];
    uint tid = gl_LocalInvocationID.x;
    uint op = p.op;
    bool f16 = p.dtype == 1u;
    uint _502;
    if (p.inner > 128u)
    {
        _502 = 256u;
    }
    else
    {
        uint _510;
        if (p.inner > 64u)
        {
            _510 = 128u;
        }
        else
        {
            uint _518;
            if (p.inner > 32u)
            {
                _518 = 64u;
            }
            else
            {
                uint _526;
                if (p.inner > 16u)
                {
                    _526 = 32u;
                }
                else
                {
                    uint _534;
                    if (p.inner > 8u)
                    {
                        _534 = 16u;
                    }
                    else
                    {
                        uint _541;
                        if (p.inner > 4u)
                        {
                            _541 = 8u;
                        }
                        else
                        {
                            uint _548;
                            if (p.inner > 2u)
                            {
                                _548 = 4u;
                            }
                            else
                            {
                                _548 = (p.inner > 1u) ? 2u : 1u;
                            }
                            _541 = _548;
                        }
                        _534 = _541;
                    }
                    _526 = _534;
                }
                _518 = _526;
            }
            _510 = _518;
        }
        _502 = _510;
    }
    uint cw = _502;
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
    uint _650;
    if (sidx < (((p.len - 1u) / chunk) + 1u))
    {
        _650 = sidx * chunk;
    }
    else
    {
        _650 = p.len;
    }
    l0 = _650;
    l1 = l0 + min(chunk, (p.len - l0));
    uint Q = p.outer * p.inner;
    uint q = (o * p.inner) + c;
    uint rowbase = o * p.len;
    uint param = op;
    Acc a = acc_init(param);
    if (live)
    {
        uint _696 = l0 + lane;
        float _706;
        for (uint l = _696; l < l1; l += lanes)
        {
            if (f16)
            {
                uint param_1 = (_712.xw[(((rowbase + l) * p.inner) + c) >> uint(1)] >> (((((rowbase + l) * p.inner) + c) & 1u) << uint(4))) & 65535u;
                _706 = bn_h2f(param_1);
            }
            else
            {
                _706 = as_type<float>(_712.xw[((rowbase + l) * p.inner) + c]);
            }
            Acc param_2 = a;
            uint param_3 = op;
            float param_4 = _706;
            uint param_5 = l;
            acc_add(param_2, param_3, param_4, param_5);
            a = param_2;
        }
    }
    uint param_6 = op;
    Acc param_7 = a;
    uint param_8 = tid;
    uint param_9 = lane;
    uint param_10 = cw;
    uint param_11 = lanes;
    tree(param_6, param_7, param_8, param_9, param_10, param_11, red_v, red_i);
    if ((lane == 0u) && live)
    {
        uint at = 2u * ((sidx * Q) + q);
        _794.sw[at] = as_type<uint>(red_v[tid]);
        _794.sw[at + 1u] = red_i[tid];
    }
}

