#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

// Implementation of the unsigned GLSL findMSB() function
template<typename T>
inline T spvFindUMSB(T x)
{
    return select(clz(T(0)) - (clz(x) + T(1)), T(-1), x == T(0));
}

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

struct Scratch
{
    float2 partial[1];
};

struct Scale
{
    float scale[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
float2 bn_ff_add(thread const float2& a, thread const float2& b)
{
    float s = spvFAdd(a.x, b.x);
    float bp = spvFSub(s, a.x);
    float e = spvFAdd(spvFSub(a.x, spvFSub(s, bp)), spvFSub(b.x, bp));
    float t = spvFAdd(e, spvFAdd(a.y, b.y));
    float hi = spvFAdd(s, t);
    float lo = spvFSub(t, spvFSub(hi, s));
    bool _577 = isinf(s);
    bool _583;
    if (!_577)
    {
        _583 = isnan(s);
    }
    else
    {
        _583 = _577;
    }
    if (_583)
    {
        return float2(s, 0.0);
    }
    return float2(hi, lo);
}

static inline __attribute__((always_inline))
bool bn_decompose(thread const float& x, thread uint& M, thread int& e)
{
    uint b = as_type<uint>(x);
    uint E = (b >> uint(23)) & 255u;
    M = (b & 8388607u) | 8388608u;
    e = int(E) - 150;
    return (((b >> uint(31)) == 0u) && (E != 0u)) && (E != 255u);
}

static inline __attribute__((always_inline))
uint bn_bit64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    uint _86;
    if (pos >= 32)
    {
        _86 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _86 = (ql >> uint(pos)) & 1u;
    }
    return _86;
}

static inline __attribute__((always_inline))
bool bn_any_below64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    if (pos <= 0)
    {
        return false;
    }
    if (pos < 32)
    {
        return (ql & ((1u << uint(pos)) - 1u)) != 0u;
    }
    if (ql != 0u)
    {
        return true;
    }
    if (pos == 32)
    {
        return false;
    }
    if (pos >= 64)
    {
        return qh != 0u;
    }
    return (qh & ((1u << uint(pos - 32)) - 1u)) != 0u;
}

static inline __attribute__((always_inline))
float bn_round_q64(thread const uint& qh, thread const uint& ql, thread const int& e2, thread const bool& sticky)
{
    int _156;
    if (qh != 0u)
    {
        _156 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _156 = int(spvFindUMSB(ql));
    }
    int t = _156;
    int sh = t - 23;
    uint _172;
    if (sh >= 32)
    {
        _172 = qh >> uint(sh - 32);
    }
    else
    {
        _172 = (ql >> uint(sh)) | (qh << uint(32 - sh));
    }
    uint mant = _172;
    mant &= 16777215u;
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh - 1;
    uint round_bit = bn_bit64(param, param_1, param_2);
    bool _218;
    if (!sticky)
    {
        uint param_3 = qh;
        uint param_4 = ql;
        int param_5 = sh - 1;
        _218 = bn_any_below64(param_3, param_4, param_5);
    }
    else
    {
        _218 = sticky;
    }
    bool rest = _218;
    bool _220 = round_bit != 0u;
    bool _231;
    if (_220)
    {
        bool _230;
        if (!rest)
        {
            _230 = (mant & 1u) != 0u;
        }
        else
        {
            _230 = rest;
        }
        _231 = _230;
    }
    else
    {
        _231 = _220;
    }
    if (_231)
    {
        mant++;
        if (mant == 16777216u)
        {
            mant = 8388608u;
            sh++;
        }
    }
    int E = (e2 + sh) + 150;
    if ((E < 1) || (E > 254))
    {
        return -1.0;
    }
    return as_type<float>((uint(E) << uint(23)) | (mant & 8388607u));
}

static inline __attribute__((always_inline))
float bn_ffdiv_u32(thread const float& hi, thread const float& lo, thread const uint& N)
{
    if (N == 0u)
    {
        return 0.0;
    }
    if ((hi == 0.0) && (lo == 0.0))
    {
        return 0.0;
    }
    float param = hi;
    uint param_1;
    int param_2;
    bool _287 = bn_decompose(param, param_1, param_2);
    uint Mh = param_1;
    int eh = param_2;
    if ((!_287) || (N >= 2147483648u))
    {
        return (hi + lo) / float(N);
    }
    uint ah = Mh << uint(8);
    uint al = 0u;
    bool frac = false;
    uint lb = as_type<uint>(lo);
    if ((lb & 2147483647u) != 0u)
    {
        uint lE = (lb >> uint(23)) & 255u;
        if (lE == 255u)
        {
            return (hi + lo) / float(N);
        }
        uint _337;
        if (lE == 0u)
        {
            _337 = lb & 8388607u;
        }
        else
        {
            _337 = (lb & 8388607u) | 8388608u;
        }
        uint Ml = _337;
        int _350;
        if (lE == 0u)
        {
            _350 = -149;
        }
        else
        {
            _350 = int(lE) - 150;
        }
        int el = _350;
        int sh = (el + 40) - eh;
        if (sh > 16)
        {
            return (hi + lo) / float(N);
        }
        uint lh = 0u;
        uint ll = 0u;
        if (sh >= 0)
        {
            ll = Ml << uint(sh);
            uint _389;
            if (sh == 0)
            {
                _389 = 0u;
            }
            else
            {
                _389 = Ml >> uint(32 - sh);
            }
            lh = _389;
        }
        else
        {
            if (sh > (-32))
            {
                ll = Ml >> uint(-sh);
                frac = (Ml & ((1u << uint(-sh)) - 1u)) != 0u;
            }
            else
            {
                frac = true;
            }
        }
        if ((lb >> uint(31)) != 0u)
        {
            if (frac)
            {
                ll++;
                if (ll == 0u)
                {
                    lh++;
                }
            }
            uint borrow = uint(al < ll);
            al -= ll;
            ah = (ah - lh) - borrow;
        }
        else
        {
            uint nl = al + ll;
            uint carry = uint(nl < al);
            al = nl;
            ah = (ah + lh) + carry;
        }
    }
    uint qh = 0u;
    uint ql = 0u;
    uint rem = 0u;
    for (int i = 63; i >= 0; i--)
    {
        uint param_3 = ah;
        uint param_4 = al;
        int param_5 = i;
        rem = (rem << uint(1)) | bn_bit64(param_3, param_4, param_5);
        qh = (qh << uint(1)) | (ql >> uint(31));
        ql = ql << uint(1);
        if (rem >= N)
        {
            rem -= N;
            ql |= 1u;
        }
    }
    uint param_6 = qh;
    uint param_7 = ql;
    int param_8 = eh - 40;
    bool param_9 = frac || (rem != 0u);
    float r = bn_round_q64(param_6, param_7, param_8, param_9);
    float _521;
    if (r >= 0.0)
    {
        _521 = r;
    }
    else
    {
        _521 = (hi + lo) / float(N);
    }
    return _521;
}

kernel void quantize_ternary_scale(constant QuantizeTernaryParams& p [[buffer(8)]], device Scale& _695 [[buffer(2)]], const device Scratch& _635 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float2 red[256];
    uint total = p.n * p.k;
    uint groups = (total / 16384u) + uint((total % 16384u) != 0u);
    uint tid = gl_LocalInvocationID.x;
    float2 acc = float2(0.0);
    for (uint j = tid; j < groups; j += 256u)
    {
        float2 param = acc;
        float2 param_1 = _635.partial[j];
        acc = bn_ff_add(param, param_1);
    }
    red[tid] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128u; s > 0u; s = s >> uint(1))
    {
        if (tid < s)
        {
            float2 param_2 = red[tid];
            float2 param_3 = red[tid + s];
            red[tid] = bn_ff_add(param_2, param_3);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0u)
    {
        float2 sum = red[0];
        float param_4 = sum.x;
        float param_5 = sum.y;
        uint param_6 = total;
        _695.scale[0] = bn_ffdiv_u32(param_4, param_5, param_6);
    }
}

