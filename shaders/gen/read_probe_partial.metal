#pragma clang diagnostic ignored "-Wmissing-prototypes"

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

struct Data
{
    uint4 data[1];
};

struct Scratch
{
    uint partial[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

kernel void read_probe_partial(constant ReadProbeParams& p [[buffer(8)]], const device Data& _92 [[buffer(0)]], device Scratch& _229 [[buffer(7)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup uint red[256];
    uint groups = (p.words / 16384u) + uint((p.words % 16384u) != 0u);
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint full4 = p.words >> uint(2);
    uint base4 = (g * 4096u) + tid;
    uint4 acc = uint4(0u);
    if (((g + 1u) * 4096u) <= full4)
    {
        for (uint j = 0u; j < 16u; j++)
        {
            acc += _92.data[base4 + (j * 256u)];
        }
    }
    else
    {
        for (uint j_1 = 0u; j_1 < 16u; j_1++)
        {
            uint i4 = base4 + (j_1 * 256u);
            if (i4 < full4)
            {
                acc += _92.data[i4];
            }
            else
            {
                if (i4 == full4)
                {
                    uint rest = p.words & 3u;
                    if (rest > 0u)
                    {
                        acc.x += ((device uint*)&_92.data[i4])[0u];
                    }
                    if (rest > 1u)
                    {
                        acc.y += ((device uint*)&_92.data[i4])[1u];
                    }
                    if (rest > 2u)
                    {
                        acc.z += ((device uint*)&_92.data[i4])[2u];
                    }
                }
            }
        }
    }
    red[tid] = (acc.x + acc.y) + (acc.z + acc.w);
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
        _229.partial[g] = red[0];
    }
}

