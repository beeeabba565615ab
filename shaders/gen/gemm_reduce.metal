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

struct Scratch
{
    float partial[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
uint gemv_rows(constant MatmulParams& p)
{
    uint _42;
    if (p.m == 1u)
    {
        _42 = p.n;
    }
    else
    {
        _42 = p.m;
    }
    return _42;
}

static inline __attribute__((always_inline))
uint gemm_splits(constant MatmulParams& p)
{
    uint tiles = (((p.m + 63u) / 64u) * ((p.n + 63u) / 64u)) * p.batch;
    uint _74;
    if (tiles >= 128u)
    {
        _74 = 1u;
    }
    else
    {
        uint _89;
        if ((((256u + tiles) - 1u) / tiles) < (p.k / 256u))
        {
            _89 = ((256u + tiles) - 1u) / tiles;
        }
        else
        {
            _89 = p.k / 256u;
        }
        uint _104;
        if (_89 < 32u)
        {
            uint _116;
            if ((((256u + tiles) - 1u) / tiles) < (p.k / 256u))
            {
                _116 = ((256u + tiles) - 1u) / tiles;
            }
            else
            {
                _116 = p.k / 256u;
            }
            _104 = _116;
        }
        else
        {
            _104 = 32u;
        }
        uint _132;
        if (1u > _104)
        {
            _132 = 1u;
        }
        else
        {
            uint _145;
            if ((((256u + tiles) - 1u) / tiles) < (p.k / 256u))
            {
                _145 = ((256u + tiles) - 1u) / tiles;
            }
            else
            {
                _145 = p.k / 256u;
            }
            uint _159;
            if (_145 < 32u)
            {
                uint _171;
                if ((((256u + tiles) - 1u) / tiles) < (p.k / 256u))
                {
                    _171 = ((256u + tiles) - 1u) / tiles;
                }
                else
                {
                    _171 = p.k / 256u;
                }
                _159 = _171;
            }
            else
            {
                _159 = 32u;
            }
            _132 = _159;
        }
        _74 = _132;
    }
    uint s = _74;
    uint chunk = (((((p.k + s) - 1u) / s) + 15u) / 16u) * 16u;
    return ((p.k + chunk) - 1u) / chunk;
}

kernel void gemm_reduce(constant MatmulParams& p [[buffer(8)]], device MatC& _692 [[buffer(2)]], const device Scratch& _664 [[buffer(7)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint idx = (bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups) * 256u) + gl_LocalInvocationID.x;
    uint mn = p.m * p.n;
    if (idx >= (p.batch * mn))
    {
        return;
    }
    bool _234 = p.m == 1u;
    bool _241;
    if (!_234)
    {
        _241 = p.n == 1u;
    }
    else
    {
        _241 = _234;
    }
    uint slices;
    if (_241)
    {
        uint _255;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _255 = (p.k + 255u) / 256u;
        }
        else
        {
            _255 = 64u;
        }
        uint _271;
        if (_255 < ((1048576u / gemv_rows(p)) / p.batch))
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
            _271 = _279;
        }
        else
        {
            _271 = (1048576u / gemv_rows(p)) / p.batch;
        }
        uint _296;
        if (1u > _271)
        {
            _296 = 1u;
        }
        else
        {
            uint _305;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _305 = (p.k + 255u) / 256u;
            }
            else
            {
                _305 = 64u;
            }
            uint _320;
            if (_305 < ((1048576u / gemv_rows(p)) / p.batch))
            {
                uint _328;
                if (((p.k + 255u) / 256u) < 64u)
                {
                    _328 = (p.k + 255u) / 256u;
                }
                else
                {
                    _328 = 64u;
                }
                _320 = _328;
            }
            else
            {
                _320 = (1048576u / gemv_rows(p)) / p.batch;
            }
            _296 = _320;
        }
        uint _352;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _352 = (p.k + 255u) / 256u;
        }
        else
        {
            _352 = 64u;
        }
        uint _367;
        if (_352 < ((1048576u / gemv_rows(p)) / p.batch))
        {
            uint _375;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _375 = (p.k + 255u) / 256u;
            }
            else
            {
                _375 = 64u;
            }
            _367 = _375;
        }
        else
        {
            _367 = (1048576u / gemv_rows(p)) / p.batch;
        }
        uint _392;
        if (1u > _367)
        {
            _392 = 1u;
        }
        else
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
            uint _416;
            if (_401 < ((1048576u / gemv_rows(p)) / p.batch))
            {
                uint _424;
                if (((p.k + 255u) / 256u) < 64u)
                {
                    _424 = (p.k + 255u) / 256u;
                }
                else
                {
                    _424 = 64u;
                }
                _416 = _424;
            }
            else
            {
                _416 = (1048576u / gemv_rows(p)) / p.batch;
            }
            _392 = _416;
        }
        uint _451;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _451 = (p.k + 255u) / 256u;
        }
        else
        {
            _451 = 64u;
        }
        uint _466;
        if (_451 < ((1048576u / gemv_rows(p)) / p.batch))
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
            _466 = _474;
        }
        else
        {
            _466 = (1048576u / gemv_rows(p)) / p.batch;
        }
        uint _491;
        if (1u > _466)
        {
            _491 = 1u;
        }
        else
        {
            uint _500;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _500 = (p.k + 255u) / 256u;
            }
            else
            {
                _500 = 64u;
            }
            uint _515;
            if (_500 < ((1048576u / gemv_rows(p)) / p.batch))
            {
                uint _523;
                if (((p.k + 255u) / 256u) < 64u)
                {
                    _523 = (p.k + 255u) / 256u;
                }
                else
                {
                    _523 = 64u;
                }
                _515 = _523;
            }
            else
            {
                _515 = (1048576u / gemv_rows(p)) / p.batch;
            }
            _491 = _515;
        }
        uint _547;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _547 = (p.k + 255u) / 256u;
        }
        else
        {
            _547 = 64u;
        }
        uint _562;
        if (_547 < ((1048576u / gemv_rows(p)) / p.batch))
        {
            uint _570;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _570 = (p.k + 255u) / 256u;
            }
            else
            {
                _570 = 64u;
            }
            _562 = _570;
        }
        else
        {
            _562 = (1048576u / gemv_rows(p)) / p.batch;
        }
        uint _587;
        if (1u > _562)
        {
            _587 = 1u;
        }
        else
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
            uint _611;
            if (_596 < ((1048576u / gemv_rows(p)) / p.batch))
            {
                uint _619;
                if (((p.k + 255u) / 256u) < 64u)
                {
                    _619 = (p.k + 255u) / 256u;
                }
                else
                {
                    _619 = 64u;
                }
                _611 = _619;
            }
            else
            {
                _611 = (1048576u / gemv_rows(p)) / p.batch;
            }
            _587 = _611;
        }
        slices = ((p.k + (((p.k + _296) - 1u) / _392)) - 1u) / (((p.k + _491) - 1u) / _587);
    }
    else
    {
        slices = gemm_splits(p);
    }
    uint z = idx / mn;
    uint e = idx - (z * mn);
    uint base = ((z * slices) * mn) + e;
    float s = _664.partial[base];
    for (uint i = 1u; i < slices; i++)
    {
        s += _664.partial[base + (i * mn)];
    }
    _692.c[idx] = s;
}

