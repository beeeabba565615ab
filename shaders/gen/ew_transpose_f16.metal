#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct UnaryParams
{
    uint op;
    uint dtype;
    uint rank;
    uint numel;
    uint shape[6];
    uint a_strides[6];
    uint a_offset;
    uint reserved0;
    uint reserved1;
    uint reserved2;
};

struct InA
{
    uint a[1];
};

struct Out
{
    uint o[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(32u, 8u, 1u);

kernel void ew_transpose_f16(constant UnaryParams& pc [[buffer(8)]], const device InA& _154 [[buffer(0)]], device Out& _253 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup uint tile[32][33];
    uint R = pc.shape[pc.rank - 2u];
    uint C = pc.shape[pc.rank - 1u];
    uint S = pc.a_strides[pc.rank - 1u];
    uint c0 = gl_WorkGroupID.x * 32u;
    uint r0 = gl_WorkGroupID.y * 32u;
    uint z = gl_WorkGroupID.z;
    uint base = pc.a_offset;
    uint rem = z;
    for (int d = 3; d >= 0; d--)
    {
        if ((uint(d) + 2u) < pc.rank)
        {
            uint n = pc.shape[d];
            uint q = rem / n;
            base += ((rem - (q * n)) * pc.a_strides[d]);
            rem = q;
        }
    }
    uint tx = gl_LocalInvocationID.x;
    uint ty = gl_LocalInvocationID.y;
    for (int j = 0; j < 32; j += 8)
    {
        uint c = (c0 + ty) + uint(j);
        uint r = r0 + tx;
        if ((c < C) && (r < R))
        {
            tile[ty + uint(j)][tx] = (_154.a[((base + r) + (c * S)) >> uint(1)] >> ((((base + r) + (c * S)) & 1u) << uint(4))) & 65535u;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint out0 = (z * R) * C;
    uint t = (ty * 32u) + tx;
    for (int k = 0; k < 2; k++)
    {
        uint wid = t + uint((k * 32) * 8);
        uint row = wid / 16u;
        uint wc = wid - (row * 16u);
        uint r_1 = r0 + row;
        uint c_1 = c0 + (2u * wc);
        if ((r_1 < R) && (c_1 < C))
        {
            uint lo = tile[2u * wc][row];
            uint hi = tile[(2u * wc) + 1u][row];
            _253.o[((out0 + (r_1 * C)) + c_1) >> uint(1)] = lo | (hi << uint(16));
        }
    }
}

