#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct ReadProbeParams
{
    uint words;
    uint reserved0;
    uint reserved1;
    uint reserved2;
};

struct Scratch
{
    uint partial[1];
};

struct Sum
{
    uint sum[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

kernel void read_probe_reduce(constant ReadProbeParams& p [[buffer(8)]], device Sum& _102 [[buffer(1)]], const device Scratch& _49 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup uint red[256];
    uint groups = (p.words / 16384u) + uint((p.words % 16384u) != 0u);
    uint tid = gl_LocalInvocationID.x;
    uint acc = 0u;
    for (uint j = tid; j < groups; j += 256u)
    {
        acc += _49.partial[j];
    }
    red[tid] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128u; s > 0u; s = s >> uint(1))
    {
        if (tid < s)
        {
            red[tid] += red[tid + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0u)
    {
        _102.sum[0] = red[0];
    }
}

