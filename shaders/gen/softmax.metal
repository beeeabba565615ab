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

struct SoftmaxParams
{
    uint rows;
    uint cols;
    uint causal;
    uint dtype;
};

struct X
{
    uint xw[1];
};

struct Y
{
    uint yw[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
uint valid_cols(thread const uint& row, constant SoftmaxParams& p)
{
    if (p.causal == 0u)
    {
        return p.cols;
    }
    return min(p.cols, ((row + (p.cols - p.rows)) + 1u));
}

static inline __attribute__((always_inline))
float bn_h2f(thread const uint& h)
{
    uint _sign = (h & 32768u) << uint(16);
    uint em = h & 32767u;
    uint b;
    if (em < 1024u)
    {
        b = as_type<uint>(float(em) * 5.9604644775390625e-08);
    }
    else
    {
        if (em >= 31744u)
        {
            b = (em << uint(13)) | 2139095040u;
        }
        else
        {
            b = (em << uint(13)) + 939524096u;
        }
    }
    return as_type<float>(b | _sign);
}

static inline __attribute__((always_inline))
float bn_seg_max(thread const float& v, thread const uint& L, thread uint3& gl_LocalInvocationID, threadgroup float (&bn_tree)[256])
{
    uint tid = gl_LocalInvocationID.x;
    uint lane = tid & (L - 1u);
    bn_tree[tid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _316 = L >> uint(1);
    for (uint h = _316; h > 0u; h = h >> uint(1))
    {
        bool _326 = lane < h;
        bool _338;
        if (_326)
        {
            _338 = bn_tree[tid + h] > bn_tree[tid];
        }
        else
        {
            _338 = _326;
        }
        if (_338)
        {
            bn_tree[tid] = bn_tree[tid + h];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float r = bn_tree[tid - lane];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return r;
}

static inline __attribute__((always_inline))
void bn_kahan_add(thread float& s, thread float& c, thread const float& x)
{
    float y = spvFSub(x, c);
    float t = spvFAdd(s, y);
    float e = spvFSub(spvFSub(t, s), y);
    bool _215 = !isinf(t);
    bool _221;
    if (_215)
    {
        _221 = !isnan(t);
    }
    else
    {
        _221 = _215;
    }
    bool finite = _221;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
float bn_kahan_value(thread const float& s, thread const float& c)
{
    float v = spvFSub(s, c);
    bool _232 = isinf(s);
    bool _238;
    if (!_232)
    {
        _238 = isnan(s);
    }
    else
    {
        _238 = _232;
    }
    return _238 ? s : v;
}

static inline __attribute__((always_inline))
float bn_seg_sum(thread const float& v, thread const uint& L, thread uint3& gl_LocalInvocationID, threadgroup float (&bn_tree)[256])
{
    uint tid = gl_LocalInvocationID.x;
    uint lane = tid & (L - 1u);
    bn_tree[tid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _266 = L >> uint(1);
    for (uint h = _266; h > 0u; h = h >> uint(1))
    {
        if (lane < h)
        {
            float s = spvFAdd(bn_tree[tid], bn_tree[tid + h]);
            bn_tree[tid] = s;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float r = bn_tree[tid - lane];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return r;
}

static inline __attribute__((always_inline))
float2 row_stats(thread const uint& row, thread const bool& live, thread const uint& lane, thread const uint& L, thread const bool& f16, thread uint3& gl_LocalInvocationID, threadgroup float (&bn_tree)[256], constant SoftmaxParams& p, const device X& v_422)
{
    uint base = row * p.cols;
    uint _393;
    if (live)
    {
        uint param = row;
        _393 = valid_cols(param, p);
    }
    else
    {
        _393 = 0u;
    }
    uint valid = _393;
    float m = as_type<float>(4286578688u);
    float _416;
    for (uint j = lane; j < valid; j += L)
    {
        if (f16)
        {
            uint param_1 = (v_422.xw[(base + j) >> uint(1)] >> (((base + j) & 1u) << uint(4))) & 65535u;
            _416 = bn_h2f(param_1);
        }
        else
        {
            _416 = as_type<float>(v_422.xw[base + j]);
        }
        float x = _416;
        m = (x > m) ? x : m;
    }
    float param_2 = m;
    uint param_3 = L;
    float _462 = bn_seg_max(param_2, param_3, gl_LocalInvocationID, bn_tree);
    m = _462;
    float s = 0.0;
    float c = 0.0;
    float _477;
    for (uint j_1 = lane; j_1 < valid; j_1 += L)
    {
        if (f16)
        {
            uint param_4 = (v_422.xw[(base + j_1) >> uint(1)] >> (((base + j_1) & 1u) << uint(4))) & 65535u;
            _477 = bn_h2f(param_4);
        }
        else
        {
            _477 = as_type<float>(v_422.xw[base + j_1]);
        }
        float d = spvFSub(_477, m);
        float param_5 = s;
        float param_6 = c;
        float param_7 = exp(d);
        bn_kahan_add(param_5, param_6, param_7);
        s = param_5;
        c = param_6;
    }
    float param_8 = s;
    float param_9 = c;
    float param_10 = bn_kahan_value(param_8, param_9);
    uint param_11 = L;
    float _527 = bn_seg_sum(param_10, param_11, gl_LocalInvocationID, bn_tree);
    return float2(m, _527);
}

static inline __attribute__((always_inline))
float value(thread const uint& row, thread const uint& j, thread const uint& slot, thread const bool& f16, constant SoftmaxParams& p, const device X& v_422, threadgroup float (&st_max)[256], threadgroup float (&st_sum)[256])
{
    uint param = row;
    if (j >= valid_cols(param, p))
    {
        return 0.0;
    }
    float _541;
    if (f16)
    {
        uint param_1 = (v_422.xw[((row * p.cols) + j) >> uint(1)] >> ((((row * p.cols) + j) & 1u) << uint(4))) & 65535u;
        _541 = bn_h2f(param_1);
    }
    else
    {
        _541 = as_type<float>(v_422.xw[(row * p.cols) + j]);
    }
    float d = spvFSub(_541, st_max[slot]);
    return exp(d) / st_sum[slot];
}

static inline __attribute__((always_inline))
uint bn_f2h(thread const float& v)
{
    uint x = as_type<uint>(v);
    uint _sign = (x >> uint(16)) & 32768u;
    uint a = x & 2147483647u;
    uint r;
    if (a >= 1199570944u)
    {
        uint _148;
        if (a > 2139095040u)
        {
            _148 = 32256u | ((a & 8388607u) >> uint(13));
        }
        else
        {
            _148 = 31744u;
        }
        r = _148;
    }
    else
    {
        if (a < 947912704u)
        {
            float s = spvFAdd(as_type<float>(a), 0.5);
            r = as_type<uint>(s) - 1056964608u;
        }
        else
        {
            r = ((a + 3355447295u) + ((a >> uint(13)) & 1u)) >> uint(13);
        }
    }
    return r | _sign;
}

static inline __attribute__((always_inline))
uint bn_pack_h2(thread const float& lo, thread const float& hi)
{
    float param = lo;
    float param_1 = hi;
    return bn_f2h(param) | (bn_f2h(param_1) << uint(16));
}

kernel void softmax(constant SoftmaxParams& p [[buffer(8)]], const device X& v_422 [[buffer(0)]], device Y& _996 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float bn_tree[256];
    threadgroup float st_max[256];
    threadgroup float st_sum[256];
    uint tid = gl_LocalInvocationID.x;
    bool f16 = p.dtype == 1u;
    uint _607;
    if ((((p.cols - 1u) / 8u) + 1u) > 128u)
    {
        _607 = 256u;
    }
    else
    {
        uint _618;
        if ((((p.cols - 1u) / 8u) + 1u) > 64u)
        {
            _618 = 128u;
        }
        else
        {
            uint _629;
            if ((((p.cols - 1u) / 8u) + 1u) > 32u)
            {
                _629 = 64u;
            }
            else
            {
                uint _640;
                if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                {
                    _640 = 32u;
                }
                else
                {
                    uint _650;
                    if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                    {
                        _650 = 16u;
                    }
                    else
                    {
                        uint _661;
                        if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                        {
                            _661 = 8u;
                        }
                        else
                        {
                            uint _671;
                            if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                            {
                                _671 = 4u;
                            }
                            else
                            {
                                _671 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                            }
                            _661 = _671;
                        }
                        _650 = _661;
                    }
                    _640 = _650;
                }
                _629 = _640;
            }
            _618 = _629;
        }
        _607 = _618;
    }
    uint L = _607;
    uint _696;
    if ((((p.cols - 1u) / 8u) + 1u) > 128u)
    {
        _696 = 256u;
    }
    else
    {
        uint _706;
        if ((((p.cols - 1u) / 8u) + 1u) > 64u)
        {
            _706 = 128u;
        }
        else
        {
            uint _716;
            if ((((p.cols - 1u) / 8u) + 1u) > 32u)
            {
                _716 = 64u;
            }
            else
            {
                uint _726;
                if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                {
                    _726 = 32u;
                }
                else
                {
                    uint _736;
                    if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                    {
                        _736 = 16u;
                    }
                    else
                    {
                        uint _746;
                        if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                        {
                            _746 = 8u;
                        }
                        else
                        {
                            uint _756;
                            if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                            {
                                _756 = 4u;
                            }
                            else
                            {
                                _756 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                            }
                            _746 = _756;
                        }
                        _736 = _746;
                    }
                    _726 = _736;
                }
                _716 = _726;
            }
            _706 = _716;
        }
        _696 = _706;
    }
    uint _775;
    if (_696 < 256u)
    {
        uint _784;
        if ((((p.cols - 1u) / 8u) + 1u) > 128u)
        {
            _784 = 256u;
        }
        else
        {
            uint _794;
            if ((((p.cols - 1u) / 8u) + 1u) > 64u)
            {
                _794 = 128u;
            }
            else
            {
                uint _804;
                if ((((p.cols - 1u) / 8u) + 1u) > 32u)
                {
                    _804 = 64u;
                }
                else
                {
                    uint _814;
                    if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                    {
                        _814 = 32u;
                    }
                    else
                    {
                        uint _824;
                        if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                        {
                            _824 = 16u;
                        }
                        else
                        {
                            uint _834;
                            if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                            {
                                _834 = 8u;
                            }
                            else
                            {
                                uint _844;
                                if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                                {
                                    _844 = 4u;
                                }
                                else
                                {
                                    _844 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                                }
                                _834 = _844;
                            }
                            _824 = _834;
                        }
                        _814 = _824;
                    }
                    _804 = _814;
                }
                _794 = _804;
            }
            _784 = _794;
        }
        _775 = 256u / _784;
    }
    else
    {
        bool _871;
        if (f16)
        {
            _871 = (p.cols & 1u) != 0u;
        }
        else
        {
            _871 = f16;
        }
        _775 = _871 ? 2u : 1u;
    }
    uint R = _775;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= (((p.rows - 1u) / R) + 1u))
    {
        return;
    }
    uint r0 = g * R;
    uint nr = min(R, (p.rows - r0));
    uint lane = tid & (L - 1u);
    uint _905 = 256u / L;
    for (uint at_once = _905, first = 0u; first < nr; first += at_once)
    {
        uint slot = first + (tid / L);
        uint param = r0 + slot;
        bool param_1 = slot < nr;
        uint param_2 = lane;
        uint param_3 = L;
        bool param_4 = f16;
        float2 _937 = row_stats(param, param_1, param_2, param_3, param_4, gl_LocalInvocationID, bn_tree, p, v_422);
        float2 st = _937;
        if ((lane == 0u) && (slot < nr))
        {
            st_max[slot] = st.x;
            st_sum[slot] = st.y;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint e0 = r0 * p.cols;
    uint n = nr * p.cols;
    if (!f16)
    {
        uint _984;
        for (uint k = tid; k < n; k += 256u)
        {
            if (R == 1u)
            {
                _984 = 0u;
            }
            else
            {
                _984 = k / p.cols;
            }
            uint slot_1 = _984;
            uint param_5 = r0 + slot_1;
            uint param_6 = k - (slot_1 * p.cols);
            uint param_7 = slot_1;
            bool param_8 = false;
            _996.yw[e0 + k] = as_type<uint>(value(param_5, param_6, param_7, param_8, p, v_422, st_max, st_sum));
        }
        return;
    }
    uint w0 = e0 >> uint(1);
    uint word;
    for (uint k_1 = tid; (2u * k_1) < n; k_1 += 256u)
    {
        uint e = 2u * k_1;
        uint slot_2 = e / p.cols;
        uint param_9 = r0 + slot_2;
        uint param_10 = e - (slot_2 * p.cols);
        uint param_11 = slot_2;
        bool param_12 = true;
        float lo = value(param_9, param_10, param_11, param_12, p, v_422, st_max, st_sum);
        if ((e + 1u) < n)
        {
            uint slot2 = (e + 1u) / p.cols;
            uint param_13 = r0 + slot2;
            uint param_14 = (e + 1u) - (slot2 * p.cols);
            uint param_15 = slot2;
            bool param_16 = true;
            float param_17 = lo;
            float param_18 = value(param_13, param_14, param_15, param_16, p, v_422, st_max, st_sum);
            word = bn_pack_h2(param_17, param_18);
        }
        else
        {
            float param_19 = lo;
            word = bn_f2h(param_19) | (_996.yw[w0 + k_1] & 4294901760u);
        }
        _996.yw[w0 + k_1] = word;
    }
}

