/* net_infer.c: inference kernels over ONE image on ONE thread (net_model.c runs images in parallel).
 *
 * Why a separate path for eval mode: training needs every intermediate
 * tensor of the batch (backward reads them), so it runs layer by layer over
 * the whole batch and each 30-60 MB activation goes through DRAM; inference
 * needs none of them. One image at a time keeps an image's activations
 * (0.5-1 MB each) in the core's L2/L3, a whole image per thread needs no
 * barrier between layers, and batch norms fold into the convolutions
 * (net_model.c) so the only per-element passes left are the depthwise
 * convs and the max-pool.
 *
 * Why hand-written GEMM kernels rather than OpenBLAS here (measured, see
 * net_model.c): (1) a 3x3 conv as nine shifted OpenBLAS GEMMs reads and
 * writes its fp32 output rows nine times, while the implicit GEMM below
 * keeps the 6x64 output tile in registers across all nine taps (K = 9*Ci)
 * and applies ReLU/bias/BN in the same pass ("epilogue"); (2) bf16:
 * Debian's OpenBLAS 0.3.21 does not export cblas_sbgemm, and AVX512_BF16's
 * vdpbf16ps does two multiply-adds per fp32 lane per instruction, twice the
 * fp32 FMA rate. The bf16 functions carry their own target attribute and
 * are only called after net_cpu_has_bf16() (cpuid), so the file builds and
 * runs without -march=native.
 *
 * Which CPU: the fp32 kernels are chosen at compile time (-march=native):
 * AVX-512 (6x64 tile, zmm), else AVX2+FMA (6x16 tile, ymm: Zen 3 and
 * Haswell-or-later Intel), else plain C. Off AVX-512 the generic loops were
 * 2-5x slower than the AVX2 ones (measured on a 2-core Zen 3: inference
 * went from 204 to 431 images/s on 2 threads; PyTorch 147).
 *
 * Shapes: one image, NHWC; P pixels, K input channels, N output channels.
 * bf16 values are stored as uint16_t (the high half of the fp32 bits,
 * rounded to nearest even). */
#include <stdint.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NET_X86 1
#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))
#else
#define NET_X86 0
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Output rows of an AVX-512 tile (fp32 and bf16): 6 rows x 64 columns = 24
 * zmm accumulators, plus 4 for a row of weights and 1 broadcast, out of 32
 * registers. */
#define TILE_MR 6
#define TILE_NV 4 /* 16-float vectors per tile row */

int net_cpu_has_bf16(void)
{
#if NET_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

/* Round to nearest even, as vcvtneps2bf16 does (NaN stays NaN). */
static inline uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, nan = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded); /* a select: vectorizes */
}

void net_pack_bf16(uint16_t *dst, const float *w, int nt, int K, int N)
{
    /* Runs on every eval forward (net_model.c), so it is written to vectorize. */
    for (size_t r = 0; r < (size_t)nt * K / 2; r++) { /* r = t*K/2 + k/2: rows 2r and 2r+1 of w */
        const float *restrict w0 = w + 2 * r * N, *restrict w1 = w0 + N;
        uint16_t *restrict d = dst + 2 * r * N;
        for (int n = 0; n < N; n++) {
            d[2 * n] = f32_to_bf16(w0[n]);
            d[2 * n + 1] = f32_to_bf16(w1[n]);
        }
    }
}

/*-*** Epilogue: the per-element tail of a conv tile ***/

/* Output row of tile row p (see NetEpilogue), or -1 when p is dropped. */
ALWAYS_INLINE long ep_row(const NetEpilogue *ep, int p)
{
    if (ep->wf == ep->wv) return p; /* 1x1: no division (a tile of a K=64 GEMM is only ~800 cycles) */
    const int y = p / ep->wf, x = p % ep->wf;
    return x < ep->wv ? (long)y * ep->wv + x : -1;
}

/* Plain C tail, shared by the generic kernel: v = c + bias, ReLU, v*sa + sb. */
static inline float ep_apply(const NetEpilogue *ep, int n, float v)
{
    if (ep->bias) v += ep->bias[n];
    if (ep->relu) v = v > 0 ? v : 0;
    if (ep->sa) v = v * ep->sa[n] + ep->sb[n];
    return v;
}

/*-*** Implicit-GEMM convolution, fp32 ***/

#if NET_TILED
/* One register-tiled micro-kernel at the target's vector width (vnf,
 * NET_VL floats): TILE_MR rows x TILE_VN vectors of accumulators.
 *   AVX-512: 6 x 4 x 16 floats = 24 zmm accumulators, plus 4 for a row of
 *            weights and 1 broadcast, out of 32 registers;
 *   AVX2:    6 x 2 x 8 floats = 12 ymm, plus 2 and 1, out of 16 (the
 *            Haswell sgemm micro-kernel shape). On one Zen 3 core it made
 *            inference 2.2x faster (88 -> 195 images/s) than the generic
 *            loop below, which sums each output row in memory.
 * GCC vector arithmetic, not intrinsics, so that one body serves both; with
 * -ffp-contract=fast the multiply-adds are FMAs, as the intrinsics were. */
#define TILE_VN (NET_VL == 16 ? TILE_NV : 2) /* vectors per tile row */

ALWAYS_INLINE void ep_store(float *out, int N, int n0, int p, int nv, const vnf *c, const NetEpilogue *ep)
{
    const long r = ep_row(ep, p);
    if (r < 0) return;
    float *o = out + (size_t)r * N + n0;
    const vnf zero = {0};
#pragma GCC unroll 4
    for (int j = 0; j < TILE_VN; j++) {
        if (j >= nv) break;
        vnf v = c[j], x, y;
        if (ep->bias) {
            VN_LOAD(x, ep->bias + n0 + NET_VL * j);
            v += x;
        }
        if (ep->relu) v = (vnf)((vni)v & (v > zero)); /* C has no vector ?: */
        if (ep->sa) {
            VN_LOAD(x, ep->sa + n0 + NET_VL * j);
            VN_LOAD(y, ep->sb + n0 + NET_VL * j);
            v = v * x + y;
        }
        VN_STORE(o + NET_VL * j, v);
    }
}

/* Rows p0..p0+mr-1, columns n0..n0+NET_VL*nv-1. Called with constant mr, nv
 * for the main tile so that the accumulators stay in registers. */
ALWAYS_INLINE void tile_f32(float *out, const float *A, const float *W, const int *off, int nt, int K, int N, int p0,
                            int mr, int n0, int nv, const NetEpilogue *ep)
{
    vnf c[TILE_MR][TILE_VN];
    const vnf zero = {0};
#pragma GCC unroll 6
    for (int i = 0; i < TILE_MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < TILE_VN; j++) c[i][j] = zero;
    for (int t = 0; t < nt; t++) {
        const float *a = A + (size_t)(p0 + off[t]) * K;
        const float *w = W + (size_t)t * K * N + n0;
        for (int k = 0; k < K; k++, w += N) {
            vnf b[TILE_VN];
#pragma GCC unroll 4
            for (int j = 0; j < TILE_VN; j++) {
                b[j] = zero;
                if (j < nv) VN_LOAD(b[j], w + NET_VL * j);
            }
#pragma GCC unroll 6
            for (int i = 0; i < TILE_MR; i++) {
                if (i >= mr) break;
                const vnf av = VN_BCAST(a[(size_t)i * K + k]);
#pragma GCC unroll 4
                for (int j = 0; j < TILE_VN; j++)
                    if (j < nv) c[i][j] += av * b[j];
            }
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < TILE_MR; i++)
        if (i < mr) ep_store(out, N, n0, p0 + i, nv, c[i], ep);
}

static void tile_f32_main(float *out, const float *A, const float *W, const int *off, int nt, int K, int N, int p0,
                          int n0, const NetEpilogue *ep)
{
    tile_f32(out, A, W, off, nt, K, N, p0, TILE_MR, n0, TILE_VN, ep);
}

static __attribute__((noinline)) void tile_f32_edge(float *out, const float *A, const float *W, const int *off, int nt,
                                                    int K, int N, int p0, int mr, int n0, int nv,
                                                    const NetEpilogue *ep)
{
    tile_f32(out, A, W, off, nt, K, N, p0, mr, n0, nv, ep);
}
#endif

void net_iconv_f32(float *out, const float *A, const float *W, const int *off, int nt, int M, int K, int N,
                   const NetEpilogue *ep)
{
#if NET_TILED
    if (N % NET_VL == 0) {
        for (int p0 = 0; p0 < M; p0 += TILE_MR) {
            const int mr = M - p0 < TILE_MR ? M - p0 : TILE_MR;
            for (int n0 = 0; n0 < N; n0 += NET_VL * TILE_VN) {
                const int nv = (N - n0) / NET_VL < TILE_VN ? (N - n0) / NET_VL : TILE_VN;
                if (mr == TILE_MR && nv == TILE_VN)
                    tile_f32_main(out, A, W, off, nt, K, N, p0, n0, ep);
                else
                    tile_f32_edge(out, A, W, off, nt, K, N, p0, mr, n0, nv, ep);
            }
        }
        return;
    }
#endif
    /* Generic C: one output row at a time, vectorized over N by the compiler. */
    float acc[4096];
    for (int p = 0; p < M; p++) {
        const long r = ep_row(ep, p);
        if (r < 0) continue;
        for (int n = 0; n < N; n++) acc[n] = 0;
        for (int t = 0; t < nt; t++) {
            const float *a = A + (size_t)(p + off[t]) * K;
            for (int k = 0; k < K; k++) {
                const float *restrict w = W + ((size_t)t * K + k) * N;
                const float av = a[k];
                for (int n = 0; n < N; n++) acc[n] += av * w[n];
            }
        }
        for (int n = 0; n < N; n++) out[(size_t)r * N + n] = ep_apply(ep, n, acc[n]);
    }
}

/*-*** Implicit-GEMM convolution, bf16 products, fp32 sums ***/

#if NET_X86
/* ep_store in intrinsics: the bf16 kernels are chosen at run time
 * (TGT_BF16), so they cannot use vnf, whose width is the build's target. */
TGT_BF16 ALWAYS_INLINE void ep_store_bf(float *out, int N, int n0, int p, int nv, const __m512 *c,
                                        const NetEpilogue *ep)
{
    const long r = ep_row(ep, p);
    if (r < 0) return;
    float *o = out + (size_t)r * N + n0;
#pragma GCC unroll 4
    for (int j = 0; j < TILE_NV; j++) {
        if (j >= nv) break;
        __m512 v = c[j];
        if (ep->bias) v = _mm512_add_ps(v, _mm512_loadu_ps(ep->bias + n0 + 16 * j));
        if (ep->relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
        if (ep->sa) v = _mm512_fmadd_ps(v, _mm512_loadu_ps(ep->sa + n0 + 16 * j), _mm512_loadu_ps(ep->sb + n0 + 16 * j));
        _mm512_storeu_ps(o + 16 * j, v);
    }
}

/* As tile_f32 with K stepped in pairs: Wp (net_pack_bf16) holds for each
 * pair of input channels and each output channel the two weights side by
 * side, A's pair for a pixel is one 32-bit broadcast, and vdpbf16ps adds
 * both products into the fp32 accumulator. */
TGT_BF16 ALWAYS_INLINE void tile_bf16(float *out, const uint16_t *A, const uint16_t *Wp, const int *off, int nt, int K,
                                      int N, int p0, int mr, int n0, int nv, const NetEpilogue *ep)
{
    __m512 c[TILE_MR][TILE_NV];
#pragma GCC unroll 6
    for (int i = 0; i < TILE_MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < TILE_NV; j++) c[i][j] = _mm512_setzero_ps();
    for (int t = 0; t < nt; t++) {
        const uint16_t *a = A + (size_t)(p0 + off[t]) * K;
        const uint16_t *w = Wp + ((size_t)t * (K / 2) * N + n0) * 2;
        for (int k = 0; k < K; k += 2, w += 2 * (size_t)N) {
            __m512i b[TILE_NV];
#pragma GCC unroll 4
            for (int j = 0; j < TILE_NV; j++)
                b[j] = j < nv ? _mm512_loadu_si512((const void *)(w + 32 * j)) : _mm512_setzero_si512();
#pragma GCC unroll 6
            for (int i = 0; i < TILE_MR; i++) {
                if (i >= mr) break;
                uint32_t pair;
                memcpy(&pair, a + (size_t)i * K + k, sizeof pair);
                const __m512i av = _mm512_set1_epi32((int)pair);
#pragma GCC unroll 4
                for (int j = 0; j < TILE_NV; j++)
                    if (j < nv) c[i][j] = _mm512_dpbf16_ps(c[i][j], (__m512bh)av, (__m512bh)b[j]);
            }
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < TILE_MR; i++)
        if (i < mr) ep_store_bf(out, N, n0, p0 + i, nv, c[i], ep);
}

TGT_BF16 static void tile_bf16_main(float *out, const uint16_t *A, const uint16_t *Wp, const int *off, int nt, int K,
                                    int N, int p0, int n0, const NetEpilogue *ep)
{
    tile_bf16(out, A, Wp, off, nt, K, N, p0, TILE_MR, n0, TILE_NV, ep);
}

TGT_BF16 static __attribute__((noinline)) void tile_bf16_edge(float *out, const uint16_t *A, const uint16_t *Wp,
                                                              const int *off, int nt, int K, int N, int p0, int mr,
                                                              int n0, int nv, const NetEpilogue *ep)
{
    tile_bf16(out, A, Wp, off, nt, K, N, p0, mr, n0, nv, ep);
}

TGT_BF16 void net_iconv_bf16(float *out, const uint16_t *A, const uint16_t *Wp, const int *off, int nt, int M, int K,
                             int N, const NetEpilogue *ep)
{
    for (int p0 = 0; p0 < M; p0 += TILE_MR) {
        const int mr = M - p0 < TILE_MR ? M - p0 : TILE_MR;
        for (int n0 = 0; n0 < N; n0 += 16 * TILE_NV) {
            const int nv = (N - n0) / 16 < TILE_NV ? (N - n0) / 16 : TILE_NV;
            if (mr == TILE_MR && nv == TILE_NV)
                tile_bf16_main(out, A, Wp, off, nt, K, N, p0, n0, ep);
            else
                tile_bf16_edge(out, A, Wp, off, nt, K, N, p0, mr, n0, nv, ep);
        }
    }
}

TGT_BF16 void net_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
    for (; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}
#else
void net_iconv_bf16(float *out, const uint16_t *A, const uint16_t *Wp, const int *off, int nt, int M, int K, int N,
                    const NetEpilogue *ep)
{
    (void)out, (void)A, (void)Wp, (void)off, (void)nt, (void)M, (void)K, (void)N, (void)ep; /* never called */
}
void net_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}
#endif

/*-*** Depthwise 3x3, padding 1 ***/

/* Generic C, and the reference for the vector kernels' border pixels. */
static void dw_pixel(float *o, const float *in, const float *w, int H, int W, int C, int y, int x)
{
    for (int c = 0; c < C; c++) o[c] = 0;
    for (int ky = 0; ky < 3; ky++) {
        const int iy = y + ky - 1;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < 3; kx++) {
            const int ix = x + kx - 1;
            if (ix < 0 || ix >= W) continue;
            const float *restrict i = in + ((size_t)iy * W + ix) * C;
            const float *restrict wk = w + (size_t)(ky * 3 + kx) * C;
            for (int c = 0; c < C; c++) o[c] += i[c] * wk[c];
        }
    }
}

#if defined(__AVX512F__) || NET_X86
/* One image, 16 channels c0.. at a time: the nine weight vectors stay in
 * registers over a whole row (the batch-wide kernel reloads them per pixel
 * and ran at ~20 GFLOP/s). Interior pixels take three independent partial
 * sums (one per kernel row) so consecutive FMAs do not wait on each other.
 * STORE(ptr, vector) writes 16 outputs. */
#define DW_IMAGE_BODY(STORE)                                                                                     \
    for (int y = y0; y < y1; y++) {                                                                              \
        const int top = y > 0, bot = y + 1 < H;                                                                  \
        for (int c0 = 0; c0 < C; c0 += 16) {                                                                     \
            __m512 wv[9];                                                                                        \
            for (int t = 0; t < 9; t++) wv[t] = _mm512_loadu_ps(w + (size_t)t * C + c0);                         \
            const float *r1 = in + (size_t)y * W * C + c0;                                                       \
            const float *r0 = r1 - (size_t)W * C, *r2 = r1 + (size_t)W * C;                                      \
            for (int x = 0; x < W; x++) {                                                                        \
                const size_t o = (size_t)x * C;                                                                  \
                __m512 s;                                                                                        \
                if (top && bot && x > 0 && x + 1 < W) {                                                          \
                    __m512 s0 = _mm512_mul_ps(_mm512_loadu_ps(r0 + o - C), wv[0]);                               \
                    __m512 s1 = _mm512_mul_ps(_mm512_loadu_ps(r1 + o - C), wv[3]);                               \
                    __m512 s2 = _mm512_mul_ps(_mm512_loadu_ps(r2 + o - C), wv[6]);                               \
                    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + o), wv[1], s0);                                    \
                    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + o), wv[4], s1);                                    \
                    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + o), wv[7], s2);                                    \
                    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + o + C), wv[2], s0);                                \
                    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + o + C), wv[5], s1);                                \
                    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + o + C), wv[8], s2);                                \
                    s = _mm512_add_ps(_mm512_add_ps(s0, s1), s2);                                                \
                } else {                                                                                         \
                    s = _mm512_setzero_ps();                                                                     \
                    for (int ky = 0; ky < 3; ky++) {                                                             \
                        if ((ky == 0 && !top) || (ky == 2 && !bot)) continue;                                    \
                        const float *r = r1 + ((ptrdiff_t)ky - 1) * W * C;                                       \
                        for (int kx = 0; kx < 3; kx++) {                                                         \
                            if ((kx == 0 && x == 0) || (kx == 2 && x + 1 == W)) continue;                        \
                            s = _mm512_fmadd_ps(_mm512_loadu_ps(r + o + ((ptrdiff_t)kx - 1) * C),                \
                                                _mm512_loadu_ps(w + (size_t)(ky * 3 + kx) * C + c0), s);         \
                        }                                                                                        \
                    }                                                                                            \
                }                                                                                                \
                STORE(out + ((size_t)y * W + x) * C + c0, s);                                                    \
            }                                                                                                    \
        }                                                                                                        \
    }
#endif

#if defined(__AVX512F__)
#define DW_STORE_F32(p, v) _mm512_storeu_ps((p), (v))
#endif

void net_dw3x3_image(float *out, const float *in, const float *w, int H, int W, int C, int y0, int y1)
{
#if defined(__AVX512F__)
    if (C % 16 == 0) {
        DW_IMAGE_BODY(DW_STORE_F32)
        return;
    }
#endif
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < W; x++) dw_pixel(out + ((size_t)y * W + x) * C, in, w, H, W, C, y, x);
}

#if NET_X86
#define DW_STORE_BF16(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (__m256i)_mm512_cvtneps_pbh(v))

TGT_BF16 void net_dw3x3_image_bf16(uint16_t *out, const float *in, const float *w, int H, int W, int C, int y0,
                                   int y1)
{
    DW_IMAGE_BODY(DW_STORE_BF16)
}
#else
void net_dw3x3_image_bf16(uint16_t *out, const float *in, const float *w, int H, int W, int C, int y0, int y1)
{
    (void)out, (void)in, (void)w, (void)H, (void)W, (void)C, (void)y0, (void)y1; /* never called */
}
#endif

/*-*** Small per-image layers ***/

void net_conv3x3c1_image(float *out, const float *in, const float *w, const float *sa, const float *sb, int H, int W,
                         int Co)
{
    const int Ho = H - 2, Wo = W - 2;
#if defined(__AVX512F__)
    if (Co % 16 == 0) { /* 16 channels at a time, their nine weights in registers (gcc left the C scalar) */
        for (int c0 = 0; c0 < Co; c0 += 16) {
            __m512 wv[9];
            for (int t = 0; t < 9; t++) wv[t] = _mm512_loadu_ps(w + (size_t)t * Co + c0);
            const __m512 va = _mm512_loadu_ps(sa + c0), vb = _mm512_loadu_ps(sb + c0), z = _mm512_setzero_ps();
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const float *i0 = in + (size_t)y * W + x, *i1 = i0 + W, *i2 = i1 + W;
                    __m512 s0 = _mm512_mul_ps(_mm512_set1_ps(i0[0]), wv[0]);
                    __m512 s1 = _mm512_mul_ps(_mm512_set1_ps(i1[0]), wv[3]);
                    __m512 s2 = _mm512_mul_ps(_mm512_set1_ps(i2[0]), wv[6]);
                    s0 = _mm512_fmadd_ps(_mm512_set1_ps(i0[1]), wv[1], s0);
                    s1 = _mm512_fmadd_ps(_mm512_set1_ps(i1[1]), wv[4], s1);
                    s2 = _mm512_fmadd_ps(_mm512_set1_ps(i2[1]), wv[7], s2);
                    s0 = _mm512_fmadd_ps(_mm512_set1_ps(i0[2]), wv[2], s0);
                    s1 = _mm512_fmadd_ps(_mm512_set1_ps(i1[2]), wv[5], s1);
                    s2 = _mm512_fmadd_ps(_mm512_set1_ps(i2[2]), wv[8], s2);
                    const __m512 v = _mm512_max_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), s2), z);
                    _mm512_storeu_ps(out + ((size_t)y * Wo + x) * Co + c0, _mm512_fmadd_ps(v, va, vb));
                }
        }
        return;
    }
#else
    if (Co % NET_VL == 0) { /* the same with the target's vector width (AVX2: 8; gcc left the C below scalar) */
        const vnf z = {0};
        for (int c0 = 0; c0 < Co; c0 += NET_VL) {
            vnf w0, w1, w2, w3, w4, w5, w6, w7, w8, va, vb;
            VN_LOAD(w0, w + c0);
            VN_LOAD(w1, w + (size_t)Co + c0);
            VN_LOAD(w2, w + (size_t)2 * Co + c0);
            VN_LOAD(w3, w + (size_t)3 * Co + c0);
            VN_LOAD(w4, w + (size_t)4 * Co + c0);
            VN_LOAD(w5, w + (size_t)5 * Co + c0);
            VN_LOAD(w6, w + (size_t)6 * Co + c0);
            VN_LOAD(w7, w + (size_t)7 * Co + c0);
            VN_LOAD(w8, w + (size_t)8 * Co + c0);
            VN_LOAD(va, sa + c0);
            VN_LOAD(vb, sb + c0);
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const float *i0 = in + (size_t)y * W + x, *i1 = i0 + W, *i2 = i1 + W;
                    vnf s0 = i0[0] * w0, s1 = i1[0] * w3, s2 = i2[0] * w6;
                    s0 += i0[1] * w1;
                    s1 += i1[1] * w4;
                    s2 += i2[1] * w7;
                    s0 += i0[2] * w2;
                    s1 += i1[2] * w5;
                    s2 += i2[2] * w8;
                    vnf v = s0 + s1 + s2;
                    v = (vnf)((vni)v & (v > z)) * va + vb; /* ReLU (C has no vector ?:), then BN A */
                    VN_STORE(out + ((size_t)y * Wo + x) * Co + c0, v);
                }
        }
        return;
    }
#endif
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            float v[9];
            for (int t = 0; t < 9; t++) v[t] = in[(size_t)(y + t / 3) * W + x + t % 3];
            float *restrict o = out + ((size_t)y * Wo + x) * Co;
            for (int c = 0; c < Co; c++) {
                float s = 0;
                for (int t = 0; t < 9; t++) s += v[t] * w[t * Co + c];
                s = s > 0 ? s : 0;
                o[c] = s * sa[c] + sb[c];
            }
        }
}

void net_maxpool_add_image(float *out, const float *in, const float *res, int H, int W, int C)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++) {
            float *restrict o = out + ((size_t)oy * Wo + ox) * C;
            const float *restrict r = res + ((size_t)oy * Wo + ox) * C;
            const int y0 = 2 * oy - 1 < 0 ? 0 : 2 * oy - 1, y1 = 2 * oy + 1 < H - 1 ? 2 * oy + 1 : H - 1;
            const int x0 = 2 * ox - 1 < 0 ? 0 : 2 * ox - 1, x1 = 2 * ox + 1 < W - 1 ? 2 * ox + 1 : W - 1;
            const float *first = in + ((size_t)y0 * W + x0) * C;
            for (int c = 0; c < C; c++) o[c] = first[c];
            for (int iy = y0; iy <= y1; iy++)
                for (int ix = x0; ix <= x1; ix++) {
                    const float *restrict v = in + ((size_t)iy * W + ix) * C;
                    for (int c = 0; c < C; c++) o[c] = v[c] > o[c] ? v[c] : o[c];
                }
            for (int c = 0; c < C; c++) o[c] += r[c];
        }
}

void net_gather_s2_image(float *out, const float *in, int H, int W, int C)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++)
            memcpy(out + ((size_t)oy * Wo + ox) * C, in + ((size_t)2 * oy * W + 2 * ox) * C, (size_t)C * sizeof *out);
}

void net_head_gap_image(float *logits, const float *in, const float *w, const float *bias, float *tapsum, int H,
                        int W, int C, int K)
{
    /* conv3x3 (pad 1) then the mean over pixels is linear: the mean of the
     * conv equals the conv weights applied to, per tap, the sum of the
     * input pixels that tap reaches (the image minus one edge row and/or
     * column when the tap is off-center), divided by H*W. */
    for (int t = 0; t < 9; t++) {
        const int ky = t / 3, kx = t % 3;
        const int y0 = ky == 2 ? 1 : 0, y1 = ky == 0 ? H - 1 : H; /* input rows [y0, y1) */
        const int x0 = kx == 2 ? 1 : 0, x1 = kx == 0 ? W - 1 : W;
        float *restrict s = tapsum + (size_t)t * C;
        for (int c = 0; c < C; c++) s[c] = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const float *restrict v = in + ((size_t)y * W + x) * C;
                for (int c = 0; c < C; c++) s[c] += v[c];
            }
    }
    const double inv = 1.0 / ((double)H * W);
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int t = 0; t < 9; t++)
            for (int c = 0; c < C; c++) s += (double)tapsum[(size_t)t * C + c] * w[((size_t)t * C + c) * K + k];
        logits[k] = (float)(bias[k] + s * inv);
    }
}

/*-*** Winograd F(2x2,3x3) for conv B (Lavin & Gray 2015) ***/

/* Why: conv B is 3x3 64->64 over 46x46 and holds 42% of the network's
 * multiply-adds. F(2x2,3x3) computes each 2x2 output block from a 4x4
 * input block with 16 products per (ci,co) instead of 36: sixteen GEMMs of
 * (tiles x Ci) by (Ci x Co), 2.25x fewer multiply-adds, plus input and
 * output transforms that are only additions. The transforms' constants are
 * 0, +-1 and 1/2, so in fp32 the result differs from the direct conv by a
 * few ulps (tests/test_net.c checks it against the layer path).
 *   U = G g G^T   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   V = B^T d B   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   Y = A^T (U .* V) A,  A^T = [1 1 1 0; 0 1 -1 -1]
 * Element e = 4*i + j of a transformed 4x4 block: i along y, j along x. */

void net_wino_weights(float *U, const float *w, int Ci, int Co)
{
    const size_t n = (size_t)Ci * Co;
    for (size_t q = 0; q < n; q++) {
        float g[3][3], t[4][3];
        for (int k = 0; k < 9; k++) g[k / 3][k % 3] = w[(size_t)k * n + q];
        for (int c = 0; c < 3; c++) { /* t = G g */
            t[0][c] = g[0][c];
            t[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
            t[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
            t[3][c] = g[2][c];
        }
        for (int i = 0; i < 4; i++) { /* U = t G^T */
            U[(size_t)(4 * i + 0) * n + q] = t[i][0];
            U[(size_t)(4 * i + 1) * n + q] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            U[(size_t)(4 * i + 2) * n + q] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            U[(size_t)(4 * i + 3) * n + q] = t[i][2];
        }
    }
}

void net_wino_input(float *V, const float *in, int W, int C, int ty0, int nty, int ntx)
{
    const size_t T = (size_t)nty * ntx, tc = T * C;
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx;
            const float *restrict p = in + ((size_t)2 * (ty0 + r) * W + 2 * tx) * C;
            const size_t rs = (size_t)W * C; /* next input row */
            float *restrict v = V + tile * C;
#if defined(__AVX512F__)
            if (C % 16 == 0) { /* the same, 16 channels per vector (gcc left the C scalar) */
                for (int c = 0; c < C; c += 16) {
                    __m512 d[4][4], t[4][4];
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++) d[a][b] = _mm512_loadu_ps(p + a * rs + (size_t)b * C + c);
                    for (int a = 0; a < 4; a++) {
                        t[a][0] = _mm512_sub_ps(d[a][0], d[a][2]);
                        t[a][1] = _mm512_add_ps(d[a][1], d[a][2]);
                        t[a][2] = _mm512_sub_ps(d[a][2], d[a][1]);
                        t[a][3] = _mm512_sub_ps(d[a][1], d[a][3]);
                    }
                    for (int j = 0; j < 4; j++) {
                        _mm512_storeu_ps(v + (size_t)(0 + j) * tc + c, _mm512_sub_ps(t[0][j], t[2][j]));
                        _mm512_storeu_ps(v + (size_t)(4 + j) * tc + c, _mm512_add_ps(t[1][j], t[2][j]));
                        _mm512_storeu_ps(v + (size_t)(8 + j) * tc + c, _mm512_sub_ps(t[2][j], t[1][j]));
                        _mm512_storeu_ps(v + (size_t)(12 + j) * tc + c, _mm512_sub_ps(t[1][j], t[3][j]));
                    }
                }
                continue;
            }
#endif
            for (int c = 0; c < C; c++) {
                float d[4][4], t[4][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) d[a][b] = p[a * rs + (size_t)b * C + c];
                for (int a = 0; a < 4; a++) { /* along x: d B */
                    t[a][0] = d[a][0] - d[a][2];
                    t[a][1] = d[a][1] + d[a][2];
                    t[a][2] = d[a][2] - d[a][1];
                    t[a][3] = d[a][1] - d[a][3];
                }
                for (int j = 0; j < 4; j++) { /* along y: B^T (d B) */
                    v[(size_t)(0 + j) * tc + c] = t[0][j] - t[2][j];
                    v[(size_t)(4 + j) * tc + c] = t[1][j] + t[2][j];
                    v[(size_t)(8 + j) * tc + c] = t[2][j] - t[1][j];
                    v[(size_t)(12 + j) * tc + c] = t[1][j] - t[3][j];
                }
            }
        }
}

void net_wino_output(float *out, const float *Mt, const float *sa, const float *sb, int Wo, int C, int ty0, int nty,
                     int ntx)
{
    const size_t T = (size_t)nty * ntx, tc = T * C;
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx;
            const float *restrict mt = Mt + tile * C;
            float *restrict o = out + ((size_t)2 * (ty0 + r) * Wo + 2 * tx) * C;
            const size_t rs = (size_t)Wo * C;
#if defined(__AVX512F__)
            if (C % 16 == 0) { /* the same, 16 channels per vector */
                const __m512 z = _mm512_setzero_ps();
                for (int c = 0; c < C; c += 16) {
                    __m512 s[4][2];
                    for (int i = 0; i < 4; i++) {
                        const __m512 m0 = _mm512_loadu_ps(mt + (size_t)(4 * i) * tc + c);
                        const __m512 m1 = _mm512_loadu_ps(mt + (size_t)(4 * i + 1) * tc + c);
                        const __m512 m2 = _mm512_loadu_ps(mt + (size_t)(4 * i + 2) * tc + c);
                        const __m512 m3 = _mm512_loadu_ps(mt + (size_t)(4 * i + 3) * tc + c);
                        s[i][0] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                        s[i][1] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                    }
                    const __m512 va = _mm512_loadu_ps(sa + c), vb = _mm512_loadu_ps(sb + c);
                    for (int b = 0; b < 2; b++) {
                        const __m512 y0 = _mm512_add_ps(_mm512_add_ps(s[0][b], s[1][b]), s[2][b]);
                        const __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(s[1][b], s[2][b]), s[3][b]);
                        _mm512_storeu_ps(o + (size_t)b * C + c, _mm512_fmadd_ps(_mm512_max_ps(y0, z), va, vb));
                        _mm512_storeu_ps(o + rs + (size_t)b * C + c, _mm512_fmadd_ps(_mm512_max_ps(y1, z), va, vb));
                    }
                }
                continue;
            }
#endif
            for (int c = 0; c < C; c++) {
                float s[4][2];
                for (int i = 0; i < 4; i++) { /* along x: M A */
                    const float m0 = mt[(size_t)(4 * i) * tc + c], m1 = mt[(size_t)(4 * i + 1) * tc + c];
                    const float m2 = mt[(size_t)(4 * i + 2) * tc + c], m3 = mt[(size_t)(4 * i + 3) * tc + c];
                    s[i][0] = m0 + m1 + m2;
                    s[i][1] = m1 - m2 - m3;
                }
                for (int b = 0; b < 2; b++) { /* along y, then ReLU and the BN after it */
                    float y0 = s[0][b] + s[1][b] + s[2][b], y1 = s[1][b] - s[2][b] - s[3][b];
                    y0 = y0 > 0 ? y0 : 0;
                    y1 = y1 > 0 ? y1 : 0;
                    o[(size_t)b * C + c] = y0 * sa[c] + sb[c];
                    o[rs + (size_t)b * C + c] = y1 * sa[c] + sb[c];
                }
            }
        }
}

/*-*** Winograd F(4x4,3x3), fp32 only ***/

/* 36 products per (ci,co) for each 4x4 output block instead of 144: 4x
 * fewer multiply-adds than the direct conv, 1.78x fewer than F(2x2,3x3).
 * Its constants (up to 8 and 1/24) cost some precision: fine in fp32
 * (tests: logits within ~1e-6 relative of the direct conv), but with bf16
 * inputs the error grows, so the bf16 mode keeps F(2x2,3x3).
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * Element e = 6*i + j. The transforms use GCC vector extensions over 16
 * channels (C % 16 == 0, as for every width the per-image path takes). */


void net_wino4_weights(float *U, const float *w, int Ci, int Co)
{
    const size_t n = (size_t)Ci * Co;
    for (size_t q = 0; q < n; q++) {
        double g[3][3], t[6][3];
        for (int k = 0; k < 9; k++) g[k / 3][k % 3] = w[(size_t)k * n + q];
        for (int c = 0; c < 3; c++) { /* t = G g */
            t[0][c] = g[0][c] / 4;
            t[1][c] = -(g[0][c] + g[1][c] + g[2][c]) / 6;
            t[2][c] = -(g[0][c] - g[1][c] + g[2][c]) / 6;
            t[3][c] = g[0][c] / 24 + g[1][c] / 12 + g[2][c] / 6;
            t[4][c] = g[0][c] / 24 - g[1][c] / 12 + g[2][c] / 6;
            t[5][c] = g[2][c];
        }
        for (int i = 0; i < 6; i++) { /* U = t G^T */
            float *u = U + (size_t)(6 * i) * n + q;
            u[0 * n] = (float)(t[i][0] / 4);
            u[1 * n] = (float)(-(t[i][0] + t[i][1] + t[i][2]) / 6);
            u[2 * n] = (float)(-(t[i][0] - t[i][1] + t[i][2]) / 6);
            u[3 * n] = (float)(t[i][0] / 24 + t[i][1] / 12 + t[i][2] / 6);
            u[4 * n] = (float)(t[i][0] / 24 - t[i][1] / 12 + t[i][2] / 6);
            u[5 * n] = (float)t[i][2];
        }
    }
}

/* o = B^T d for six vectors. */
static inline void wino4_bt(v16f *o, const v16f *d)
{
    o[0] = 4 * d[0] - 5 * d[2] + d[4];
    o[1] = -4 * d[1] - 4 * d[2] + d[3] + d[4];
    o[2] = 4 * d[1] - 4 * d[2] - d[3] + d[4];
    o[3] = -2 * d[1] - d[2] + 2 * d[3] + d[4];
    o[4] = 2 * d[1] - d[2] - 2 * d[3] + d[4];
    o[5] = 4 * d[1] - 5 * d[3] + d[5];
}

/* o = A^T m for six vectors (four out). */
static inline void wino4_at(v16f *o, const v16f *m)
{
    o[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    o[1] = m[1] - m[2] + 2 * m[3] - 2 * m[4];
    o[2] = m[1] + m[2] + 4 * m[3] + 4 * m[4];
    o[3] = m[1] - m[2] + 8 * m[3] - 8 * m[4] + m[5];
}

/* s[i] = A^T applied along x to row i of the 6x6 block of products at mt
 * (element e at mt + e*tc): the first half of both output transforms. */
static inline void wino4_at_rows(v16f s[6][4], const float *mt, size_t tc)
{
    for (int i = 0; i < 6; i++) {
        v16f m[6];
        for (int j = 0; j < 6; j++) V16_LOAD(m[j], mt + (size_t)(6 * i + j) * tc);
        wino4_at(s[i], m);
    }
}

/* y = A^T applied along y to column b of s: output column b of the 4x4 block. */
static inline void wino4_at_col(v16f *y, v16f s[6][4], int b)
{
    v16f col[6];
    for (int i = 0; i < 6; i++) col[i] = s[i][b];
    wino4_at(y, col);
}

void net_wino4_input(float *V, const float *in, int W, int C, int ty0, int nty, int ntx)
{
    const size_t T = (size_t)nty * ntx, tc = T * C, rs = (size_t)W * C;
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx;
            const float *p = in + ((size_t)4 * (ty0 + r) * W + 4 * tx) * C;
            float *v = V + tile * C;
            for (int c = 0; c < C; c += 16) {
                v16f d[6], t[6][6], col[6], o[6];
                for (int a = 0; a < 6; a++) { /* rows: d B */
                    for (int b = 0; b < 6; b++) V16_LOAD(d[b], p + a * rs + (size_t)b * C + c);
                    wino4_bt(t[a], d);
                }
                for (int j = 0; j < 6; j++) { /* columns: B^T (d B) */
                    for (int a = 0; a < 6; a++) col[a] = t[a][j];
                    wino4_bt(o, col);
                    for (int i = 0; i < 6; i++) V16_STORE(v + (size_t)(6 * i + j) * tc + c, o[i]);
                }
            }
        }
}

void net_wino4_output(float *out, const float *Mt, const float *sa, const float *sb, int Wo, int C, int ty0, int nty,
                      int ntx)
{
    const size_t T = (size_t)nty * ntx, tc = T * C, rs = (size_t)Wo * C;
    const v16f z = {0};
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx;
            const float *mt = Mt + tile * C;
            float *o = out + ((size_t)4 * (ty0 + r) * Wo + 4 * tx) * C;
            for (int c = 0; c < C; c += 16) {
                v16f s[6][4], y[4];
                wino4_at_rows(s, mt + c, tc);
                v16f va, vb;
                V16_LOAD(va, sa + c);
                V16_LOAD(vb, sb + c);
                for (int b = 0; b < 4; b++) { /* along y, then ReLU and the BN after it */
                    wino4_at_col(y, s, b);
                    for (int a = 0; a < 4; a++) {
                        const v16f v = (v16f)((v16i)y[a] & (y[a] > z)) * va + vb; /* ReLU (C has no vector ?:), BN */
                        V16_STORE(o + a * rs + (size_t)b * C + c, v);
                    }
                }
            }
        }
}

void net_wino4_output_plain(float *out, const float *Mt, int Ho, int Wo, int C, int ty0, int nty, int ntx, int relu)
{
    const size_t T = (size_t)nty * ntx, tc = T * C, rs = (size_t)Wo * C;
    const v16f z = {0};
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx;
            const float *mt = Mt + tile * C;
            const int y0 = 4 * (ty0 + r), x0 = 4 * tx;
            const int na = Ho - y0 < 4 ? Ho - y0 : 4, nb = Wo - x0 < 4 ? Wo - x0 : 4; /* the block's kept part */
            float *o = out + ((size_t)y0 * Wo + x0) * C;
            for (int c = 0; c < C; c += 16) {
                v16f s[6][4], y[4];
                wino4_at_rows(s, mt + c, tc);
                for (int b = 0; b < nb; b++) {
                    wino4_at_col(y, s, b);
                    for (int a = 0; a < na; a++) {
                        const v16f v = relu ? (v16f)((v16i)y[a] & (y[a] > z)) : y[a];
                        V16_STORE(o + a * rs + (size_t)b * C + c, v);
                    }
                }
            }
        }
}
