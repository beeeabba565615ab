#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct MatmulParams
{
    uint m;
    uint n;
    uint k;
    uint batch;
    uint flags;
    uint a_batch_stride;
    uint b_batch_stride;
    uint reserved0;
};

struct MatA
{
    uint a[1];
};

struct MatB
{
    uint b[1];
};

struct MatC
{
    float c[1];
};

struct Scratch
{
    float partial[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 4u, 1u);

static inline __attribute__((always_inline))
uint gemv_rows(constant MatmulParams& p)
{
    uint _75;
    if (p.m == 1u)
    {
        _75 = p.n;
    }
    else
    {
        _75 = p.m;
    }
    return _75;
}

static inline __attribute__((always_inline))
bool gemv_v_is_a(constant MatmulParams& p)
{
    return p.m == 1u;
}

static inline __attribute__((always_inline))
uint gemm_a_base(thread const uint& z, constant MatmulParams& p)
{
    uint _38;
    if (p.batch > 1u)
    {
        _38 = z * p.a_batch_stride;
    }
    else
    {
        _38 = 0u;
    }
    return _38;
}

static inline __attribute__((always_inline))
uint gemm_b_base(thread const uint& z, constant MatmulParams& p)
{
    uint _54;
    if (p.batch > 1u)
    {
        _54 = z * p.b_batch_stride;
    }
    else
    {
        _54 = 0u;
    }
    return _54;
}

static inline __attribute__((always_inline))
float gemm_half(thread const uint& word, thread const uint& e)
{
    float2 h = float2(as_type<half2>(word));
    float _96;
    if ((e & 1u) != 0u)
    {
        _96 = h.y;
    }
    else
    {
        _96 = h.x;
    }
    return _96;
}

kernel void gemm_gemv_kn_f16(constant MatmulParams& p [[buffer(8)]], const device MatA& _811 [[buffer(0)]], const device MatB& _828 [[buffer(1)]], device MatC& _951 [[buffer(2)]], device Scratch& _964 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red[256];
    uint tx = gl_LocalInvocationID.x;
    uint lane = gl_LocalInvocationID.y;
    uint R = gemv_rows(p);
    uint _133;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _133 = (p.k + 255u) / 256u;
    }
    else
    {
        _133 = 64u;
    }
    uint _149;
    if (_133 < ((1048576u / R) / p.batch))
    {
        uint _157;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _157 = (p.k + 255u) / 256u;
        }
        else
        {
            _157 = 64u;
        }
        _149 = _157;
    }
    else
    {
        _149 = (1048576u / R) / p.batch;
    }
    uint _174;
    if (1u > _149)
    {
        _174 = 1u;
    }
    else
    {
        uint _183;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _183 = (p.k + 255u) / 256u;
        }
        else
        {
            _183 = 64u;
        }
        uint _198;
        if (_183 < ((1048576u / R) / p.batch))
        {
            uint _206;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _206 = (p.k + 255u) / 256u;
            }
            else
            {
                _206 = 64u;
            }
            _198 = _206;
        }
        else
        {
            _198 = (1048576u / R) / p.batch;
        }
        _174 = _198;
    }
    uint _230;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _230 = (p.k + 255u) / 256u;
    }
    else
    {
        _230 = 64u;
    }
    uint _245;
    if (_230 < ((1048576u / R) / p.batch))
    {
        uint _253;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _253 = (p.k + 255u) / 256u;
        }
        else
        {
            _253 = 64u;
        }
        _245 = _253;
    }
    else
    {
        _245 = (1048576u / R) / p.batch;
    }
    uint _270;
    if (1u > _245)
    {
        _270 = 1u;
    }
    else
    {
        uint _279;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _279 = (p.k + 255u) / 256u;
        }
        else
        {
            _279 = 64u;
        }
        uint _294;
        if (_279 < ((1048576u / R) / p.batch))
        {
            uint _302;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _302 = (p.k + 255u) / 256u;
            }
            else
            {
                _302 = 64u;
            }
            _294 = _302;
        }
        else
        {
            _294 = (1048576u / R) / p.batch;
        }
        _270 = _294;
    }
    uint _329;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _329 = (p.k + 255u) / 256u;
    }
    else
    {
        _329 = 64u;
    }
    uint _344;
    if (_329 < ((1048576u / R) / p.batch))
    {
        uint _352;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _352 = (p.k + 255u) / 256u;
        }
        else
        {
            _352 = 64u;
        }
        _344 = _352;
    }
    else
    {
        _344 = (1048576u / R) / p.batch;
    }
    uint _369;
    if (1u > _344)
    {
        _369 = 1u;
    }
    else
    {
        uint _378;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _378 = (p.k + 255u) / 256u;
        }
        else
        {
            _378 = 64u;
        }
        uint _393;
        if (_378 < ((1048576u / R) / p.batch))
        {
            uint _401;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _401 = (p.k + 255u) / 256u;
            }
            else
            {
                _401 = 64u;
            }
            _393 = _401;
        }
        else
        {
            _393 = (1048576u / R) / p.batch;
        }
        _369 = _393;
    }
    uint _425;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _425 = (p.k + 255u) / 256u;
    }
    else
    {
        _425 = 64u;
    }
    uint _440;
    if (_425 < ((1048576u / R) / p.batch))
    {
        uint _448;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _448 = (p.k + 255u) / 256u;
        }
        else
        {
            _448 = 64u;
        }
        _440 = _448;
    }
    else
    {
        _440 = (1048576u / R) / p.batch;
    }
    uint _465;
    if (1u > _440)
    {
        _465 = 1u;
    }
    else
    {
        uint _474;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _474 = (p.k + 255u) / 256u;
        }
        else
        {
            _474 = 64u;
        }
        uint _489;
        if (_474 < ((1048576u / R) / p.batch))
        {
            uint _497;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _497 = (p.k + 255u) / 256u;
            }
            else
            {
                _497 = 64u;
            }
            _489 = _497;
        }
        else
        {
            _489 = (1048576u / R) / p.batch;
        }
        _465 = _489;
    }
    uint slices = ((p.k + (((p.k + _174) - 1u) / _270)) - 1u) / (((p.k + _369) - 1u) / _465);
    uint _524;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _524 = (p.k + 255u) / 256u;
    }
    else
    {
        _524 = 64u;
    }
    uint _539;
    if (_524 < ((1048576u / R) / p.batch))
    {
        uint _547;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _547 = (p.k + 255u) / 256u;
        }
        else
        {
            _547 = 64u;
        }
        _539 = _547;
    }
    else
    {
        _539 = (1048576u / R) / p.batch;
    }
    uint _564;
    if (1u > _539)
    {
        _564 = 1u;
    }
    else
    {
        uint _573;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _573 = (p.k + 255u) / 256u;
        }
        else
        {
            _573 = 64u;
        }
        uint _588;
        if (_573 < ((1048576u / R) / p.batch))
        {
            uint _596;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _596 = (p.k + 255u) / 256u;
            }
            else
            {
                _596 = 64u;
            }
            _588 = _596;
        }
        else
        {
            _588 = (1048576u / R) / p.batch;
        }
        _564 = _588;
    }
    uint _620;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _620 = (p.k + 255u) / 256u;
    }
    else
    {
        _620 = 64u;
    }
    uint _635;
    if (_620 < ((1048576u / R) / p.batch))
    {
        uint _643;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _643 = (p.k + 255u) / 256u;
        }
        else
        {
            _643 = 64u;
        }
        _635 = _643;
    }
    else
    {
        _635 = (1048576u / R) / p.batch;
    }
    uint _660;
    if (1u > _635)
    {
        _660 = 1u;
    }
    else
    {
        uint _669;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _669 = (p.k + 255u) / 256u;
        }
        else
        {
            _669 = 64u;
        }
        uint _684;
        if (_669 < ((1048576u / R) / p.batch))
        {
            uint _692;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _692 = (p.k + 255u) / 256u;
            }
            else
            {
                _692 = 64u;
            }
            _684 = _692;
        }
        else
        {
            _684 = (1048576u / R) / p.batch;
        }
        _660 = _684;
    }
    uint kslice = ((p.k + _564) - 1u) / _660;
    uint fold = gl_WorkGroupID.y / slices;
    uint slice = gl_WorkGroupID.y - (fold * slices);
    uint z = gl_WorkGroupID.z + (gl_NumWorkGroups.z * fold);
    if (z >= p.batch)
    {
        return;
    }
    uint col = (gl_WorkGroupID.x * 64u) + tx;
    uint k0 = slice * kslice;
    uint kend = min((k0 + kslice), p.k);
    bool vA = gemv_v_is_a(p);
    uint _762;
    if (vA)
    {
        uint param = z;
        _762 = gemm_a_base(param, p);
    }
    else
    {
        uint param_1 = z;
        _762 = gemm_b_base(param_1, p);
    }
    uint vbase = _762;
    uint _775;
    if (vA)
    {
        uint param_2 = z;
        _775 = gemm_b_base(param_2, p);
    }
    else
    {
        uint param_3 = z;
        _775 = gemm_a_base(param_3, p);
    }
    uint mbase = _775;
    float acc = 0.0;
    if (col < R)
    {
        if (vA)
        {
            uint _799 = k0 + lane;
            for (uint kk = _799; kk < kend; kk += 4u)
            {
                uint param_4 = _811.a[(vbase + kk) >> uint(1)];
                uint param_5 = vbase + kk;
                uint param_6 = _828.b[((mbase + (kk * R)) + col) >> uint(1)];
                uint param_7 = (mbase + (kk * R)) + col;
                acc = fma(gemm_half(param_4, param_5), gemm_half(param_6, param_7), acc);
            }
        }
        else
        {
            uint _858 = k0 + lane;
            for (uint kk_1 = _858; kk_1 < kend; kk_1 += 4u)
            {
                uint param_8 = _828.b[(vbase + kk_1) >> uint(1)];
                uint param_9 = vbase + kk_1;
                uint param_10 = _811.a[((mbase + (kk_1 * R)) + col) >> uint(1)];
                uint param_11 = (mbase + (kk_1 * R)) + col;
                acc = fma(gemm_half(param_8, param_9), gemm_half(param_10, param_11), acc);
            }
        }
    }
    red[(lane * 64u) + tx] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if ((lane == 0u) && (col < R))
    {
        float s = red[tx];
        for (uint l = 1u; l < 4u; l++)
        {
            s += red[(l * 64u) + tx];
        }
        if (slices == 1u)
        {
            _951.c[(z * R) + col] = s;
        }
        else
        {
            _964.partial[(((z * slices) + slice) * R) + col] = s;
        }
    }
}

