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

struct QuantizeTernaryParams
{
    uint n;
    uint k;
    uint reserved0;
    uint reserved1;
};

struct Weights
{
    float w[1];
};

struct Scratch
{
    float2 partial[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
void bn_ff_add1(thread float& hi, thread float& lo, thread const float& x)
{
    float s = spvFAdd(hi, x);
    float bp = spvFSub(s, hi);
    float e = spvFAdd(spvFSub(hi, spvFSub(s, bp)), spvFSub(x, bp));
    float l = spvFAdd(lo, e);
    bool _69 = !isinf(s);
    bool _75;
    if (_69)
    {
        _75 = !isnan(s);
    }
    else
    {
        _75 = _69;
    }
    bool finite = _75;
    hi = s;
    lo = finite ? l : 0.0;
}

static inline __attribute__((always_inline))
float2 bn_ff_add(thread const float2& a, thread const float2& b)
{
    float s = spvFAdd(a.x, b.x);
    float bp = spvFSub(s, a.x);
    float e = spvFAdd(spvFSub(a.x, spvFSub(s, bp)), spvFSub(b.x, bp));
    float t = spvFAdd(e, spvFAdd(a.y, b.y));
    float hi = spvFAdd(s, t);
    float lo = spvFSub(t, spvFSub(hi, s));
    bool _123 = isinf(s);
    bool _129;
    if (!_123)
    {
        _129 = isnan(s);
    }
    else
    {
        _129 = _123;
    }
    if (_129)
    {
        return float2(s, 0.0);
    }
    return float2(hi, lo);
}

kernel void quantize_ternary_partial(constant QuantizeTernaryParams& p [[buffer(8)]], const device Weights& _205 [[buffer(0)]], device Scratch& _268 [[buffer(7)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float2 red[256];
    uint total = p.n * p.k;
    uint groups = (total / 16384u) + uint((total % 16384u) != 0u);
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint start = (g * 16384u) + tid;
    float hi = 0.0;
    float lo = 0.0;
    for (uint j = 0u; j < 64u; j++)
    {
        uint e = start + (j * 256u);
        if (e < total)
        {
            float param = hi;
            float param_1 = lo;
            float param_2 = abs(_205.w[e]);
            bn_ff_add1(param, param_1, param_2);
            hi = param;
            lo = param_1;
        }
    }
    red[tid] = float2(hi, lo);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128u; s > 0u; s = s >> uint(1))
    {
        if (tid < s)
        {
            float2 param_3 = red[tid];
            float2 param_4 = red[tid + s];
            red[tid] = bn_ff_add(param_3, param_4);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0u)
    {
        _268.partial[g] = red[0];
    }
}

