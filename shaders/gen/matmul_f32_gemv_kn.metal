#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct MatmulF32Params
{
    uint m;
    uint n;
    uint k;
    uint b_trans;
};

struct MatA
{
    float a[1];
};

struct MatB
{
    float b[1];
};

struct Scratch
{
    float partial[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 4u, 1u);

kernel void matmul_f32_gemv_kn(constant MatmulF32Params& p [[buffer(8)]], const device MatA& _74 [[buffer(0)]], const device MatB& _83 [[buffer(1)]], device Scratch& _145 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float red[256];
    uint tx = gl_LocalInvocationID.x;
    uint lane = gl_LocalInvocationID.y;
    uint col = (gl_WorkGroupID.x * 64u) + tx;
    uint slice = gl_WorkGroupID.y;
    uint k0 = slice * 256u;
    uint kend = min((k0 + 256u), p.k);
    float acc = 0.0;
    if (col < p.n)
    {
        uint _62 = k0 + lane;
        for (uint kk = _62; kk < kend; kk += 4u)
        {
            acc = fma(_74.a[kk], _83.b[(kk * p.n) + col], acc);
        }
    }
    red[(lane * 64u) + tx] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    bool _110 = lane == 0u;
    bool _117;
    if (_110)
    {
        _117 = col < p.n;
    }
    else
    {
        _117 = _110;
    }
    if (_117)
    {
        float s = red[tx];
        for (uint l = 1u; l < 4u; l++)
        {
            s += red[(l * 64u) + tx];
        }
        _145.partial[(slice * p.n) + col] = s;
    }
}

