/* net_conv_wino.c: conv B's training passes by Winograd F(4x4,3x3).
 *
 * Why: conv B (3x3, 64 -> 64 over 46x46) is 40% of a training step's
 * multiply-adds, in three GEMM passes of equal size: forward, input
 * gradient and weight gradient. F(4x4,3x3) (net_infer.c has the
 * transforms) does the first two with 36 products per 4x4 output block
 * instead of 144. The input gradient is the valid conv of the output
 * gradient, framed by two zeros on each side, with the weights turned by
 * 180 degrees and in/out swapped (net_conv3x3_flip). The weight gradient
 * is the transposed algorithm (the gradient of Y = A^T [(G g) .* (B^T d B)] A
 * with respect to g): dW = G^T [sum over tiles of (B^T d B) .* (A dY A^T)] G,
 * 36 GEMMs (Ci x tiles) x (tiles x Co) per image. Before it, the nine
 * shifted GEMMs of 64x64 over 2022 rows spent as long packing their
 * operands (OpenBLAS's copy routines) as multiplying.
 * Precision: the transforms' constants (up to 8 and 1/24) put the result
 * within ~1e-6 relative of the direct conv (tests/test_net.c checks both
 * passes against the direct ones and the network against PyTorch).
 * Images are independent: one image per OpenMP iteration, its tile rows a
 * few at a time so that V and the products stay in L2.
 * Measured against the OpenBLAS path (Xeon, AVX-512; emotrain --bench
 * --profile, 1 thread, 8 steps of 64): conv B forward 717-978 ms -> 251-295,
 * backward 1603-1807 -> 649-670; training at 2 threads 134.9 -> 164.8
 * images/s (tests/bench/bench_net.sh, medians of 3). */
#include <cblas.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

static const int off0[1] = {0};

void net_conv3x3_wino_forward(float *out, const float *in, const float *U, int B, int H, int W, int Ci, int Co,
                              int relu, float *vbuf, float *mbuf, size_t stride, int rows)
{
    const int Ho = H - 2, Wo = W - 2, nty = Ho / 4, ntx = Wo / 4;
    const NetEpilogue plain = {.wf = 1, .wv = 1};
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        const float *a = in + (size_t)n * H * W * Ci;
        float *o = out + (size_t)n * Ho * Wo * Co, *V = vbuf + (size_t)n * stride, *Mt = mbuf + (size_t)n * stride;
        for (int ty0 = 0; ty0 < nty; ty0 += rows) {
            const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
            net_wino4_input(V, a, W, Ci, ty0, nr, ntx);
            for (int e = 0; e < 36; e++)
                net_iconv_f32(Mt + (size_t)e * T * Co, V + (size_t)e * T * Ci, U + (size_t)e * Ci * Co, off0, 1, T,
                              Ci, Co, &plain);
            net_wino4_output_plain(o, Mt, Ho, Wo, Co, ty0, nr, ntx, relu);
        }
    }
}

void net_conv3x3_flip(float *wt, const float *w, int Ci, int Co)
{
    for (int t = 0; t < 9; t++)
        for (int ci = 0; ci < Ci; ci++)
            for (int co = 0; co < Co; co++)
                wt[((size_t)t * Co + co) * Ci + ci] = w[((size_t)(8 - t) * Ci + ci) * Co + co];
}

/* The framed gradient: (4*ceil(H/4)+2) x (4*ceil(W/4)+2), so that whole
 * 4x4 tiles cover the H x W input gradient (the part past it is dropped). */
static int frame_len(int n) { return 4 * ((n + 3) / 4) + 2; }

size_t net_wino_frame_elems(int H, int W, int Co) { return (size_t)frame_len(H) * frame_len(W) * Co; }

/* z (6) = A g (4), A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. */
static inline void wino4_a(v16f *z, const v16f *g)
{
    z[0] = g[0];
    z[1] = g[0] + g[1] + g[2] + g[3];
    z[2] = g[0] - g[1] + g[2] - g[3];
    z[3] = g[0] + 2 * g[1] + 4 * g[2] + 8 * g[3];
    z[4] = g[0] - 2 * g[1] + 4 * g[2] - 8 * g[3];
    z[5] = g[3];
}

/* Z (36,T,C) = A dY A^T of the 4x4 output-gradient blocks of tile rows
 * ty0.. of dout (.,Wo,C), dout masked by relu_out > 0 (NULL: no mask).
 * Element 6*i + j: i along y, j along x (as net_wino4_input's V). */
static void wino4_grad(float *Z, const float *dout, const float *relu_out, int Wo, int C, int ty0, int nty, int ntx)
{
    const size_t T = (size_t)nty * ntx, tc = T * C, rs = (size_t)Wo * C;
    const v16f zero = {0};
    for (int r = 0; r < nty; r++)
        for (int tx = 0; tx < ntx; tx++) {
            const size_t tile = (size_t)r * ntx + tx, o = ((size_t)4 * (ty0 + r) * Wo + 4 * tx) * C;
            for (int c = 0; c < C; c += 16) {
                v16f g[4], t[4][6], col[4], z[6];
                for (int a = 0; a < 4; a++) { /* rows: A along x */
                    for (int b = 0; b < 4; b++) {
                        V16_LOAD(g[b], dout + o + a * rs + (size_t)b * C + c);
                        if (relu_out) {
                            v16f mk;
                            V16_LOAD(mk, relu_out + o + a * rs + (size_t)b * C + c);
                            g[b] = (v16f)((v16i)g[b] & (mk > zero));
                        }
                    }
                    wino4_a(t[a], g);
                }
                for (int j = 0; j < 6; j++) { /* columns: A along y */
                    for (int a = 0; a < 4; a++) col[a] = t[a][j];
                    wino4_a(z, col);
                    for (int i = 0; i < 6; i++) V16_STORE(Z + (size_t)(6 * i + j) * tc + tile * C + c, z[i]);
                }
            }
        }
}

/* o (3) = G^T m (6), G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]. */
static inline void wino4_gt(v16f *o, const v16f *m)
{
    const v16f p12 = m[1] + m[2], p34 = m[3] + m[4];
    o[0] = m[0] * (1.0f / 4) - p12 * (1.0f / 6) + p34 * (1.0f / 24);
    o[1] = (m[2] - m[1]) * (1.0f / 6) + (m[3] - m[4]) * (1.0f / 12);
    o[2] = (p34 - p12) * (1.0f / 6) + m[5];
}

/* dw (9,n) = G^T M G for each of the n = Ci*Co entries of M (36,n); n % 16 == 0. */
static void wino4_dw_output(float *dw, const float *M, size_t n)
{
    for (size_t q = 0; q < n; q += 16) {
        v16f m[6], s[6][3], col[6], o[3];
        for (int i = 0; i < 6; i++) { /* along x */
            for (int j = 0; j < 6; j++) V16_LOAD(m[j], M + (size_t)(6 * i + j) * n + q);
            wino4_gt(s[i], m);
        }
        for (int kx = 0; kx < 3; kx++) { /* along y */
            for (int i = 0; i < 6; i++) col[i] = s[i][kx];
            wino4_gt(o, col);
            for (int ky = 0; ky < 3; ky++) V16_STORE(dw + (size_t)(3 * ky + kx) * n + q, o[ky]);
        }
    }
}

/* Image n's weight gradient into dw (9,Ci,Co): V of `in` in vb; Z, then M (36,Ci,Co), in zb. */
static void wino4_dw_image(float *dw, const float *in, const float *dout, const float *relu_out, int H, int W, int Ci,
                           int Co, float *vb, float *zb, int rows)
{
    const int Wo = W - 2, nty = (H - 2) / 4, ntx = Wo / 4;
    float *Mw = zb + (size_t)36 * rows * ntx * Co;
    for (int ty0 = 0; ty0 < nty; ty0 += rows) {
        const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
        net_wino4_input(vb, in, W, Ci, ty0, nr, ntx);
        wino4_grad(zb, dout, relu_out, Wo, Co, ty0, nr, ntx);
        for (int e = 0; e < 36; e++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Ci, Co, T, 1.0f, vb + (size_t)e * T * Ci, Ci,
                        zb + (size_t)e * T * Co, Co, ty0 ? 1.0f : 0.0f, Mw + (size_t)e * Ci * Co, Co);
    }
    wino4_dw_output(dw, Mw, (size_t)Ci * Co);
}

/* Image n's input gradient into d (H,W,Ci): the framed gradient in pb, V then the products in vb. */
static void wino4_dx_image(float *d, const float *dout, const float *relu_out, const float *Ut, int H, int W, int Ci,
                           int Co, float *pb, float *vb, int rows)
{
    const int Ho = H - 2, Wo = W - 2, Hp = frame_len(H), Wp = frame_len(W);
    const int nty = (Hp - 2) / 4, ntx = (Wp - 2) / 4, cmax = Ci > Co ? Ci : Co;
    const NetEpilogue plain = {.wf = 1, .wv = 1};
    /* P (Hp,Wp,Co): the (masked) gradient at (2,2) in a frame of zeros. */
    const size_t prow = (size_t)Wp * Co;
    for (int y = 0; y < Hp; y++) {
        float *restrict p = pb + (size_t)y * prow;
        if (y < 2 || y >= Ho + 2) {
            memset(p, 0, prow * sizeof *p);
            continue;
        }
        memset(p, 0, (size_t)2 * Co * sizeof *p);
        memset(p + (size_t)(Wo + 2) * Co, 0, (size_t)(Wp - Wo - 2) * Co * sizeof *p);
        const size_t o = (size_t)(y - 2) * Wo * Co;
        float *restrict q = p + (size_t)2 * Co;
        if (relu_out)
            for (size_t i = 0; i < (size_t)Wo * Co; i++) q[i] = relu_out[o + i] > 0 ? dout[o + i] : 0.0f;
        else
            memcpy(q, dout + o, (size_t)Wo * Co * sizeof *q);
    }
    float *V = vb, *Mt = vb + (size_t)36 * rows * ntx * cmax;
    for (int ty0 = 0; ty0 < nty; ty0 += rows) {
        const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
        net_wino4_input(V, pb, Wp, Co, ty0, nr, ntx);
        for (int e = 0; e < 36; e++)
            net_iconv_f32(Mt + (size_t)e * T * Ci, V + (size_t)e * T * Co, Ut + (size_t)e * Co * Ci, off0, 1, T, Co,
                          Ci, &plain);
        net_wino4_output_plain(d, Mt, H, W, Ci, ty0, nr, ntx, 0);
    }
}

void net_conv3x3_wino_backward(float *dinp, float *dwpart, const float *dout, const float *relu_out, const float *in,
                               const float *Ut, int B, int H, int W, int Ci, int Co, float *buf1, float *buf2,
                               size_t stride, int rows_dw, int rows_dx)
{
    const size_t img_out = (size_t)(H - 2) * (W - 2) * Co, nw = (size_t)9 * Ci * Co;
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        const float *g = dout + (size_t)n * img_out, *mk = relu_out ? relu_out + (size_t)n * img_out : NULL;
        float *b1 = buf1 + (size_t)n * stride, *b2 = buf2 + (size_t)n * stride;
        if (dwpart)
            wino4_dw_image(dwpart + (size_t)n * nw, in + (size_t)n * H * W * Ci, g, mk, H, W, Ci, Co, b1, b2,
                           rows_dw);
        if (dinp) wino4_dx_image(dinp + (size_t)n * H * W * Ci, g, mk, Ut, H, W, Ci, Co, b1, b2, rows_dx);
    }
}
