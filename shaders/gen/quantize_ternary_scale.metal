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
    uint scale_bits[1];
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
    bool _636 = isinf(s);
    bool _642;
    if (!_636)
    {
        _642 = isnan(s);
    }
    else
    {
        _642 = _636;
    }
    if (_642)
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
    uint f = b & 8388607u;
    if (E == 0u)
    {
        int z = 23 - int(spvFindUMSB(f));
        M = f << uint(min(z, 23));
        e = (-149) - z;
    }
    else
    {
        M = f | 8388608u;
        e = int(E) - 150;
    }
    bool _101 = ((b >> uint(31)) == 0u) && (E != 255u);
    bool _109;
    if (_101)
    {
        _109 = (E != 0u) || (f != 0u);
    }
    else
    {
        _109 = _101;
    }
    return _109;
}

static inline __attribute__((always_inline))
uint bn_bit64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    if ((pos < 0) || (pos > 63))
    {
        return 0u;
    }
    uint _125;
    if (pos >= 32)
    {
        _125 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _125 = (ql >> uint(pos)) & 1u;
    }
    return _125;
}

static inline __attribute__((always_inline))
uint bn_shr64_lo(thread const uint& qh, thread const uint& ql, thread const int& sh)
{
    if (sh >= 64)
    {
        return 0u;
    }
    if (sh >= 32)
    {
        return qh >> uint(sh - 32);
    }
    if (sh == 0)
    {
        return ql;
    }
    return (ql >> uint(sh)) | (qh << uint(32 - sh));
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
uint bn_round_q64_bits(thread const uint& qh, thread const uint& ql, thread const int& e2, thread const bool& sticky)
{
    int _227;
    if (qh != 0u)
    {
        _227 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _227 = int(spvFindUMSB(ql));
    }
    int t = _227;
    int sh = max((t - 23), ((-149) - e2));
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh;
    uint mant = bn_shr64_lo(param, param_1, param_2);
    uint param_3 = qh;
    uint param_4 = ql;
    int param_5 = sh - 1;
    uint round_bit = bn_bit64(param_3, param_4, param_5);
    bool _274;
    if (!sticky)
    {
        uint param_6 = qh;
        uint param_7 = ql;
        int param_8 = sh - 1;
        _274 = bn_any_below64(param_6, param_7, param_8);
    }
    else
    {
        _274 = sticky;
    }
    bool rest = _274;
    bool _276 = round_bit != 0u;
    bool _287;
    if (_276)
    {
        bool _286;
        if (!rest)
        {
            _286 = (mant & 1u) != 0u;
        }
        else
        {
            _286 = rest;
        }
        _287 = _286;
    }
    else
    {
        _287 = _276;
    }
    if (_287)
    {
        mant++;
    }
    if (mant >= 16777216u)
    {
        mant = mant >> uint(1);
        sh++;
    }
    if (mant < 8388608u)
    {
        return mant;
    }
    int E = (e2 + sh) + 150;
    if (E > 254)
    {
        return 4294967295u;
    }
    return (uint(E) << uint(23)) | (mant & 8388607u);
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
    bool _347 = bn_decompose(param, param_1, param_2);
    uint Mh = param_1;
    int eh = param_2;
    if ((!_347) || (N >= 2147483648u))
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
        uint _397;
        if (lE == 0u)
        {
            _397 = lb & 8388607u;
        }
        else
        {
            _397 = (lb & 8388607u) | 8388608u;
        }
        uint Ml = _397;
        int _410;
        if (lE == 0u)
        {
            _410 = -149;
        }
        else
        {
            _410 = int(lE) - 150;
        }
        int el = _410;
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
            uint _448;
            if (sh == 0)
            {
                _448 = 0u;
            }
            else
            {
                _448 = Ml >> uint(32 - sh);
            }
            lh = _448;
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
    uint r = bn_round_q64_bits(param_6, param_7, param_8, param_9);
    float _579;
    if (r != 4294967295u)
    {
        _579 = as_type<float>(r);
    }
    else
    {
        _579 = (hi + lo) / float(N);
    }
    return _579;
}

kernel void quantize_ternary_scale(constant QuantizeTernaryParams& p [[buffer(8)]], device Scale& _754 [[buffer(2)]], const device Scratch& _694 [[buffer(7)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float2 red[256];
    uint total = p.n * p.k;
    uint groups = (total / 16384u) + uint((total % 16384u) != 0u);
    uint tid = gl_LocalInvocationID.x;
    float2 acc = float2(0.0);
    for (uint j = tid; j < groups; j += 256u)
    {
        float2 param = acc;
        float2 param_1 = _694.partial[j];
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
        _754.scale_bits[0] = as_type<uint>(bn_ffdiv_u32(param_4, param_5, param_6));
    }
}

