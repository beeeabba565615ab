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
    float a[1];
};

struct MatB
{
    float b[1];
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
    uint _69;
    if (p.m == 1u)
    {
        _69 = p.n;
    }
    else
    {
        _69 = p.m;
    }
    return _69;
}

static inline __attribute__((always_inline))
bool gemv_v_is_a(constant MatmulParams& p)
{
    return p.m == 1u;
}

static inline __attribute__((always_inline))
uint gemm_a_base(thread const uint& z, constant MatmulParams& p)
{
    uint _32;
    if (p.batch > 1u)
    {
        _32 = z * p.a_batch_stride;
    }
    else
    {
        _32 = 0u;
    }
    return _32;
}

static inline __attribute__((always_inline))
uint gemm_b_base(thread const uint& z, constant MatmulParams& p)
{
    uint _48;
    if (p.batch > 1u)
    {
        _48 = z * p.b_batch_stride;
    }
    else
    {
        _48 = 0u;
    }
    return _48;
}

kernel void gemm_gemv_kn_f32(constant MatmulParams& p [[buffer(8)]], const device MatA& _787 [[buffer(0)]], const device MatB& _797 [[buffer(1)]], device MatC& _891 [[buffer(2)]], device Scratch& _903 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red[256];
    uint tx = gl_LocalInvocationID.x;
    uint lane = gl_LocalInvocationID.y;
    uint R = gemv_rows(p);
    uint _107;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _107 = (p.k + 255u) / 256u;
    }
    else
    {
        _107 = 64u;
    }
    uint _123;
    if (_107 < ((1048576u / R) / p.batch))
    {
        uint _131;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _131 = (p.k + 255u) / 256u;
        }
        else
        {
            _131 = 64u;
        }
        _123 = _131;
    }
    else
    {
        _123 = (1048576u / R) / p.batch;
    }
    uint _148;
    if (1u > _123)
    {
        _148 = 1u;
    }
    else
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
        uint _172;
        if (_157 < ((1048576u / R) / p.batch))
        {
            uint _180;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _180 = (p.k + 255u) / 256u;
            }
            else
            {
                _180 = 64u;
            }
            _172 = _180;
        }
        else
        {
            _172 = (1048576u / R) / p.batch;
        }
        _148 = _172;
    }
    uint _204;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _204 = (p.k + 255u) / 256u;
    }
    else
    {
        _204 = 64u;
    }
    uint _219;
    if (_204 < ((1048576u / R) / p.batch))
    {
        uint _227;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _227 = (p.k + 255u) / 256u;
        }
        else
        {
            _227 = 64u;
        }
        _219 = _227;
    }
    else
    {
        _219 = (1048576u / R) / p.batch;
    }
    uint _244;
    if (1u > _219)
    {
        _244 = 1u;
    }
    else
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
        uint _268;
        if (_253 < ((1048576u / R) / p.batch))
        {
            uint _276;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _276 = (p.k + 255u) / 256u;
            }
            else
            {
                _276 = 64u;
            }
            _268 = _276;
        }
        else
        {
            _268 = (1048576u / R) / p.batch;
        }
        _244 = _268;
    }
    uint _303;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _303 = (p.k + 255u) / 256u;
    }
    else
    {
        _303 = 64u;
    }
    uint _318;
    if (_303 < ((1048576u / R) / p.batch))
    {
        uint _326;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _326 = (p.k + 255u) / 256u;
        }
        else
        {
            _326 = 64u;
        }
        _318 = _326;
    }
    else
    {
        _318 = (1048576u / R) / p.batch;
    }
    uint _343;
    if (1u > _318)
    {
        _343 = 1u;
    }
    else
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
        uint _367;
        if (_352 < ((1048576u / R) / p.batch))
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
            _367 = (1048576u / R) / p.batch;
        }
        _343 = _367;
    }
    uint _399;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _399 = (p.k + 255u) / 256u;
    }
    else
    {
        _399 = 64u;
    }
    uint _414;
    if (_399 < ((1048576u / R) / p.batch))
    {
        uint _422;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _422 = (p.k + 255u) / 256u;
        }
        else
        {
            _422 = 64u;
        }
        _414 = _422;
    }
    else
    {
        _414 = (1048576u / R) / p.batch;
    }
    uint _439;
    if (1u > _414)
    {
        _439 = 1u;
    }
    else
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
        uint _463;
        if (_448 < ((1048576u / R) / p.batch))
        {
            uint _471;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _471 = (p.k + 255u) / 256u;
            }
            else
            {
                _471 = 64u;
            }
            _463 = _471;
        }
        else
        {
            _463 = (1048576u / R) / p.batch;
        }
        _439 = _463;
    }
    uint slices = ((p.k + (((p.k + _148) - 1u) / _244)) - 1u) / (((p.k + _343) - 1u) / _439);
    uint _498;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _498 = (p.k + 255u) / 256u;
    }
    else
    {
        _498 = 64u;
    }
    uint _513;
    if (_498 < ((1048576u / R) / p.batch))
    {
        uint _521;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _521 = (p.k + 255u) / 256u;
        }
        else
        {
            _521 = 64u;
        }
        _513 = _521;
    }
    else
    {
        _513 = (1048576u / R) / p.batch;
    }
    uint _538;
    if (1u > _513)
    {
        _538 = 1u;
    }
    else
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
        uint _562;
        if (_547 < ((1048576u / R) / p.batch))
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
            _562 = (1048576u / R) / p.batch;
        }
        _538 = _562;
    }
    uint _594;
    if (((p.k + 255u) / 256u) < 64u)
    {
        _594 = (p.k + 255u) / 256u;
    }
    else
    {
        _594 = 64u;
    }
    uint _609;
    if (_594 < ((1048576u / R) / p.batch))
    {
        uint _617;
        if (((p.k + 255u) / 256u) < 64u)
        {
            _617 = (p.k + 255u) / 256u;
        }
        else
        {
            _617 = 64u;
        }
        _609 = _617;
    }
    else
    {
        _609 = (1048576u / R) / p.batch;
    }
    uint _634;
    if (1u > _609)
    {
        _634 = 1u;
    }
    else
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
        uint _658;
        if (_643 < ((1048576u / R) / p.batch))
        {
            uint _666;
            if (((p.k + 255u) / 256u) < 64u)
            {
                _666 = (p.k + 255u) / 256u;
            }
            else
            {
                _666 = 64u;
            }
            _658 = _666;
        }
        else
        {
            _658 = (1048576u / R) / p.batch;
        }
        _634 = _658;
    }
    uint kslice = ((p.k + _538) - 1u) / _634;
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
    uint _736;
    if (vA)
    {
        uint param = z;
        _736 = gemm_a_base(param, p);
    }
    else
    {
        uint param_1 = z;
        _736 = gemm_b_base(param_1, p);
    }
    uint vbase = _736;
    uint _749;
    if (vA)
    {
        uint param_2 = z;
        _749 = gemm_b_base(param_2, p);
    }
    else
    {
        uint param_3 = z;
        _749 = gemm_a_base(param_3, p);
    }
    uint mbase = _749;
    float acc = 0.0;
    if (col < R)
    {
        if (vA)
        {
            uint _775 = k0 + lane;
            for (uint kk = _775; kk < kend; kk += 4u)
            {
                acc = fma(_787.a[vbase + kk], _797.b[(mbase + (kk * R)) + col], acc);
            }
        }
        else
        {
            uint _816 = k0 + lane;
            for (uint kk_1 = _816; kk_1 < kend; kk_1 += 4u)
            {
                acc = fma(_797.b[vbase + kk_1], _787.a[(mbase + (kk_1 * R)) + col], acc);
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
            _891.c[(z * R) + col] = s;
        }
        else
        {
            _903.partial[(((z * slices) + slice) * R) + col] = s;
        }
    }
}

