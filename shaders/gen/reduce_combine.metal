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

struct Scratch
{
    uint sw[1];
};

struct Out
{
    uint outw[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint nsplit_of(constant ReduceParams& p)
{
    uint _450;
    if (p.inner > 128u)
    {
        _450 = 256u;
    }
    else
    {
        uint _458;
        if (p.inner > 64u)
        {
            _458 = 128u;
        }
        else
        {
            uint _466;
            if (p.inner > 32u)
            {
                _466 = 64u;
            }
            else
            {
                uint _474;
                if (p.inner > 16u)
                {
                    _474 = 32u;
                }
                else
                {
                    uint _482;
                    if (p.inner > 8u)
                    {
                        _482 = 16u;
                    }
                    else
                    {
                        uint _489;
                        if (p.inner > 4u)
                        {
                            _489 = 8u;
                        }
                        else
                        {
                            uint _496;
                            if (p.inner > 2u)
                            {
                                _496 = 4u;
                            }
                            else
                            {
                                _496 = (p.inner > 1u) ? 2u : 1u;
                            }
                            _489 = _496;
                        }
                        _482 = _489;
                    }
                    _474 = _482;
                }
                _466 = _474;
            }
            _458 = _466;
        }
        _450 = _458;
    }
    uint cw = _450;
    uint tiles = p.outer * (((p.inner - 1u) / cw) + 1u);
    bool _522 = tiles >= 128u;
    bool _533;
    if (!_522)
    {
        _533 = p.len <= ((2u * (256u / cw)) * 32u);
    }
    else
    {
        _533 = _522;
    }
    uint _534;
    if (_533)
    {
        _534 = 1u;
    }
    else
    {
        uint _551;
        if ((((p.len - 1u) / ((256u / cw) * 32u)) + 1u) < ((1023u / tiles) + 1u))
        {
            _551 = ((p.len - 1u) / ((256u / cw) * 32u)) + 1u;
        }
        else
        {
            _551 = (1023u / tiles) + 1u;
        }
        uint _569;
        if (_551 < 1024u)
        {
            uint _584;
            if ((((p.len - 1u) / ((256u / cw) * 32u)) + 1u) < ((1023u / tiles) + 1u))
            {
                _584 = ((p.len - 1u) / ((256u / cw) * 32u)) + 1u;
            }
            else
            {
                _584 = (1023u / tiles) + 1u;
            }
            _569 = _584;
        }
        else
        {
            _569 = 1024u;
        }
        _534 = _569;
    }
    return _534;
}

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
float ext_init(thread const uint& op)
{
    float _226;
    if (op == 3u)
    {
        _226 = as_type<float>(2139095040u);
    }
    else
    {
        _226 = as_type<float>(4286578688u);
    }
    return _226;
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
    bool _107 = !isinf(t);
    bool _113;
    if (_107)
    {
        _113 = !isnan(t);
    }
    else
    {
        _113 = _107;
    }
    bool finite = _113;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
bool bn_arg_better(thread const float& v1, thread const uint& i1, thread const float& v2, thread const uint& i2)
{
    bool n1 = isnan(v1);
    bool n2 = isnan(v2);
    if (n1 || n2)
    {
        bool _194;
        if (n2)
        {
            _194 = (!n1) || (i2 < i1);
        }
        else
        {
            _194 = n2;
        }
        return _194;
    }
    bool _198 = v2 > v1;
    bool _209;
    if (!_198)
    {
        _209 = (v2 == v1) && (i2 < i1);
    }
    else
    {
        _209 = _198;
    }
    return _209;
}

static inline __attribute__((always_inline))
float bn_max_nan(thread const float& a, thread const float& b)
{
    float _138;
    if (isnan(a))
    {
        _138 = a;
    }
    else
    {
        _138 = (isnan(b) || (b > a)) ? b : a;
    }
    return _138;
}

static inline __attribute__((always_inline))
float bn_min_nan(thread const float& a, thread const float& b)
{
    float _157;
    if (isnan(a))
    {
        _157 = a;
    }
    else
    {
        _157 = (isnan(b) || (b < a)) ? b : a;
    }
    return _157;
}

static inline __attribute__((always_inline))
void acc_merge(thread Acc& a, thread const uint& op, thread const float& v, thread const uint& i)
{
    uint param = op;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        float param_3 = v;
        bn_kahan_add(param_1, param_2, param_3);
        a.s = param_1;
        a.c = param_2;
    }
    else
    {
        if (op == 4u)
        {
            float param_4 = a.v;
            uint param_5 = a.i;
            float param_6 = v;
            uint param_7 = i;
            if (bn_arg_better(param_4, param_5, param_6, param_7))
            {
                a.v = v;
                a.i = i;
            }
        }
        else
        {
            if (op == 2u)
            {
                float param_8 = a.v;
                float param_9 = v;
                a.v = bn_max_nan(param_8, param_9);
            }
            else
            {
                float param_10 = a.v;
                float param_11 = v;
                a.v = bn_min_nan(param_10, param_11);
            }
        }
    }
}

static inline __attribute__((always_inline))
float bn_kahan_value(thread const float& s, thread const float& c)
{
    float v = spvFSub(s, c);
    bool _124 = isinf(s);
    bool _130;
    if (!_124)
    {
        _130 = isnan(s);
    }
    else
    {
        _130 = _124;
    }
    return _130 ? s : v;
}

static inline __attribute__((always_inline))
void tree(thread const uint& op, thread const Acc& a, thread const uint& tid, thread const uint& lane, thread const uint& stride, thread const uint& lanes, threadgroup float (&red_v)[256], threadgroup uint (&red_i)[256])
{
    uint param = op;
    float _324;
    if (is_sum_op(param))
    {
        float param_1 = a.s;
        float param_2 = a.c;
        _324 = bn_kahan_value(param_1, param_2);
    }
    else
    {
        _324 = a.v;
    }
    red_v[tid] = _324;
    red_i[tid] = a.i;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _351 = lanes >> uint(1);
    for (uint h = _351; h > 0u; h = h >> uint(1))
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

kernel void reduce_combine(constant ReduceParams& p [[buffer(8)]], device Out& _806 [[buffer(1)]], device Scratch& _737 [[buffer(7)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red_v[256];
    threadgroup uint red_i[256];
    uint tid = gl_LocalInvocationID.x;
    uint op = p.op;
    uint Q = p.outer * p.inner;
    uint ns = nsplit_of(p);
    uint _623;
    if (Q > 128u)
    {
        _623 = 256u;
    }
    else
    {
        uint _629;
        if (Q > 64u)
        {
            _629 = 128u;
        }
        else
        {
            uint _635;
            if (Q > 32u)
            {
                _635 = 64u;
            }
            else
            {
                uint _641;
                if (Q > 16u)
                {
                    _641 = 32u;
                }
                else
                {
                    uint _647;
                    if (Q > 8u)
                    {
                        _647 = 16u;
                    }
                    else
                    {
                        uint _653;
                        if (Q > 4u)
                        {
                            _653 = 8u;
                        }
                        else
                        {
                            uint _659;
                            if (Q > 2u)
                            {
                                _659 = 4u;
                            }
                            else
                            {
                                _659 = (Q > 1u) ? 2u : 1u;
                            }
                            _653 = _659;
                        }
                        _647 = _653;
                    }
                    _641 = _647;
                }
                _635 = _641;
            }
            _629 = _635;
        }
        _623 = _629;
    }
    uint cw = _623;
    uint lanes = 256u / cw;
    uint tile = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (tile >= (((Q - 1u) / cw) + 1u))
    {
        return;
    }
    uint q = (tile * cw) + (tid & (cw - 1u));
    uint lane = tid / cw;
    bool live = q < Q;
    uint cop = (op == 5u) ? 0u : op;
    uint param = cop;
    Acc a = acc_init(param);
    if (live)
    {
        for (uint s = lane; s < ns; s += lanes)
        {
            uint at = 2u * ((s * Q) + q);
            Acc param_1 = a;
            uint param_2 = cop;
            float param_3 = as_type<float>(_737.sw[at]);
            uint param_4 = _737.sw[at + 1u];
            acc_merge(param_1, param_2, param_3, param_4);
            a = param_1;
        }
    }
    uint param_5 = cop;
    Acc param_6 = a;
    uint param_7 = tid;
    uint param_8 = lane;
    uint param_9 = cw;
    uint param_10 = lanes;
    tree(param_5, param_6, param_7, param_8, param_9, param_10, red_v, red_i);
    if ((lane == 0u) && live)
    {
        float v = red_v[tid];
        if (op == 1u)
        {
            v /= float(p.len);
        }
        if (op == 5u)
        {
            v /= float(p.len - p.ddof);
        }
        uint _810;
        if (op == 4u)
        {
            _810 = red_i[tid];
        }
        else
        {
            _810 = as_type<uint>(v);
        }
        _806.outw[q] = _810;
    }
}

