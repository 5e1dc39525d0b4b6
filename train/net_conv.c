/* net_conv.c: dense convolutions (3x3 and 1x1) as GEMMs on OpenBLAS.
 *
 * Threading: each GEMM is split into NET_GEMM_CHUNKS row blocks (whole
 * images for 3x3) handed out by an OpenMP dynamic schedule, each block a
 * single-threaded OpenBLAS call (OpenBLAS runs single-threaded inside a
 * parallel region). Measured against letting OpenBLAS thread whole-batch
 * GEMMs (numbers in net_model.c): on this shared 2-core machine a static
 * split stalls whenever one core is taken by another process, dynamic
 * blocks do not, and block GEMMs of 15k+ rows lose nothing in kernel
 * efficiency.
 * Weight gradients are summed per block into `wpart` and the blocks added
 * in a fixed order, so results do not depend on scheduling. */
#include <cblas.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

/* Rows [*lo, *hi) of block j of n rows. */
static void gemm_block(size_t n, int nb, int j, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)j / (size_t)nb;
    *hi = n * (size_t)(j + 1) / (size_t)nb;
}

void net_sum_parts(float *dw, const float *part, int nb, size_t n)
{
#pragma omp parallel for schedule(guided)
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int j = 0; j < nb; j++) s += part[(size_t)j * n + i];
        dw[i] += s;
    }
}

/*-*** 3x3, one input channel (conv A): direct, vectorized over Co ***/

void net_conv3x3c1_forward(float *out, const float *in, const float *w, int B, int H, int W, int Co, int relu)
{
    const int Ho = H - 2, Wo = W - 2;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Ho; r++) {
        const int n = r / Ho, y = r % Ho;
        const float *i0 = in + ((size_t)n * H + y) * W; /* three input rows */
        for (int x = 0; x < Wo; x++) {
            float *o = out + ((size_t)r * Wo + x) * Co;
            float v[9];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) v[ky * 3 + kx] = i0[ky * W + x + kx];
            for (int c = 0; c < Co; c++) {
                float s = 0;
                for (int t = 0; t < 9; t++) s += v[t] * w[t * Co + c];
                o[c] = relu && s < 0 ? 0 : s;
            }
        }
    }
}

/* One output row's weight gradient for channels [c0, c0+NET_VL): the nine taps'
 * sums stay in registers across the row (one gradient load per nine
 * multiply-adds; summing into memory took 4 memory ops per multiply-add and,
 * with the ReLU mask, did not vectorize at all: 58 ms a batch of 64 on one
 * Zen 3 core, now 8.4 ms). Stores the sums to acc (9, Co). */
static void c1_dw_row_block(float *restrict acc, const float *restrict i0, const float *restrict g,
                            const float *restrict mk, int W, int Wo, int Co, int c0)
{
    /* Nine named accumulators: GCC keeps an array of vectors on the stack. */
    vnf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}, a8 = {0};
    const vnf zero = {0};
    const float *i1 = i0 + W, *i2 = i1 + W;
    for (int x = 0; x < Wo; x++) {
        vnf gv;
        VN_LOAD(gv, g + (size_t)x * Co + c0);
        if (mk) { /* the fused ReLU: no gradient where its output was 0 */
            vnf mv;
            VN_LOAD(mv, mk + (size_t)x * Co + c0);
            gv = (vnf)((vni)gv & (mv > zero));
        }
        a0 += i0[x] * gv;
        a1 += i0[x + 1] * gv;
        a2 += i0[x + 2] * gv;
        a3 += i1[x] * gv;
        a4 += i1[x + 1] * gv;
        a5 += i1[x + 2] * gv;
        a6 += i2[x] * gv;
        a7 += i2[x + 1] * gv;
        a8 += i2[x + 2] * gv;
    }
    VN_STORE(acc + c0, a0);
    VN_STORE(acc + (size_t)Co + c0, a1);
    VN_STORE(acc + (size_t)2 * Co + c0, a2);
    VN_STORE(acc + (size_t)3 * Co + c0, a3);
    VN_STORE(acc + (size_t)4 * Co + c0, a4);
    VN_STORE(acc + (size_t)5 * Co + c0, a5);
    VN_STORE(acc + (size_t)6 * Co + c0, a6);
    VN_STORE(acc + (size_t)7 * Co + c0, a7);
    VN_STORE(acc + (size_t)8 * Co + c0, a8);
}

void net_conv3x3c1_backward(float *dw, const float *dout, const float *relu_out, const float *in, int B, int H,
                            int W, int Co, double *red)
{
    const int Ho = H - 2, Wo = W - 2;
    const size_t n9 = (size_t)9 * Co;
    const int cv = Co - Co % NET_VL; /* channels the register kernel takes; the rest below */
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *part = net_red_part(red, Co, j);
        float *restrict acc = net_red_facc(red, Co, j);
        memset(part, 0, n9 * sizeof *part);
        size_t lo, hi;
        net_chunk((size_t)B * Ho, j, &lo, &hi);
        for (size_t r = lo; r < hi; r++) { /* one output row: float sums, then into double */
            const size_t n = r / Ho, y = r % Ho;
            const float *i0 = in + (n * H + y) * W;
            const float *g = dout + r * Wo * Co, *mk = relu_out ? relu_out + r * Wo * Co : NULL;
            for (int c0 = 0; c0 < cv; c0 += NET_VL) c1_dw_row_block(acc, i0, g, mk, W, Wo, Co, c0);
            if (cv < Co) {
                for (int t = 0; t < 9; t++) memset(acc + (size_t)t * Co + cv, 0, (size_t)(Co - cv) * sizeof *acc);
                for (int x = 0; x < Wo; x++)
                    for (int t = 0; t < 9; t++) {
                        const float v = i0[(t / 3) * W + x + t % 3];
                        for (int c = cv; c < Co; c++) {
                            const float gc = !mk || mk[(size_t)x * Co + c] > 0 ? g[(size_t)x * Co + c] : 0.0f;
                            acc[(size_t)t * Co + c] += v * gc;
                        }
                    }
            }
            net_flush(part, acc, n9);
        }
    }
    net_chunk_sum_into_float(dw, red, n9, n9);
}

/*-*** 3x3, many channels: nine shifted GEMMs ***/

void net_conv3x3_forward(float *out, float *full, const float *in, const float *w, const float *bias, int B, int H,
                         int W, int Ci, int Co, int relu)
{
    const int Ho = H - 2, Wo = W - 2;
    /* One image per block: its output rows (46*46*64 floats = 540 KB for
     * conv B) stay in L2 across the nine accumulating GEMMs; 8-image
     * blocks went to memory nine times and were ~25% slower. Inference's
     * register-tiled implicit GEMM (net_iconv_f32, all nine taps in one
     * pass) was tried here and for the pointwise forward: no faster at 2
     * threads (135.0 against 135.1 training images/s, medians of 3, Xeon
     * AVX-512), so OpenBLAS stays. Where the widths and sizes allow
     * (the default network), conv B does not come here: net_conv_wino.c. */
    const int nb = B;
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < nb; j++) {
        size_t i0, i1; /* images of this block */
        gemm_block((size_t)B, nb, j, &i0, &i1);
        const size_t base = i0 * H * W;
        const int M = (int)((i1 - i0) * H * W) - 2 * W - 2;
        for (int t = 0; t < 9; t++) {
            const size_t off = (size_t)((t / 3) * W + t % 3) * Ci;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, Co, Ci, 1.0f, in + base * Ci + off, Ci,
                        w + (size_t)t * Ci * Co, Co, t ? 1.0f : 0.0f, full + base * Co, Co);
        }
        /* Keep the valid rows (x < W-2, y < H-2), adding bias and ReLU on the way. */
        for (size_t r = i0 * Ho; r < i1 * Ho; r++) {
            const size_t n = r / Ho, y = r % Ho;
            const float *restrict src = full + ((n * H + y) * W) * Co;
            float *restrict dst = out + r * Wo * Co;
            for (int x = 0; x < Wo; x++)
                for (int c = 0; c < Co; c++) {
                    float v = src[(size_t)x * Co + c] + (bias ? bias[c] : 0.0f);
                    dst[(size_t)x * Co + c] = relu && v < 0 ? 0 : v;
                }
        }
    }
}

void net_conv3x3_backward(float *dinp, float *dw, float *dbias, float *full, const float *dout,
                          const float *relu_out, const float *in, const float *w, int B, int H, int W, int Ci,
                          int Co, double *red, float *wpart)
{
    const int Ho = H - 2, Wo = W - 2;
    const size_t nw = (size_t)9 * Ci * Co;
    /* One image per block (as forward): its input, its full-width gradient
     * and its dinp rows stay in L2 across the nine taps of both GEMMs. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        /* Spread dout over the full-width rows with zeros on the dropped
         * ones, so that they add nothing to either gradient. */
        for (size_t r = (size_t)n * H; r < (size_t)(n + 1) * H; r++) {
            const size_t y = r % H;
            float *restrict dst = full + r * W * Co;
            if (y >= (size_t)Ho) {
                memset(dst, 0, (size_t)W * Co * sizeof *dst);
                continue;
            }
            const size_t o = (((size_t)n * Ho + y) * Wo) * Co;
            if (relu_out)
                for (size_t i = 0; i < (size_t)Wo * Co; i++) dst[i] = relu_out[o + i] > 0 ? dout[o + i] : 0.0f;
            else
                memcpy(dst, dout + o, (size_t)Wo * Co * sizeof *dst);
            memset(dst + (size_t)Wo * Co, 0, (size_t)(W - Wo) * Co * sizeof *dst);
        }
        const size_t base = (size_t)n * H * W;
        const int M = H * W - 2 * W - 2;
        float *part = wpart + (size_t)n * nw;
        for (int t = 0; t < 9; t++) {
            const size_t off = (size_t)((t / 3) * W + t % 3) * Ci;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Ci, Co, M, 1.0f, in + base * Ci + off, Ci,
                        full + base * Co, Co, 0.0f, part + (size_t)t * Ci * Co, Co);
        }
        if (!dinp) continue;
        /* The taps of this image's rows never reach past its last row. */
        memset(dinp + base * Ci, 0, (size_t)H * W * Ci * sizeof *dinp);
        for (int t = 0; t < 9; t++) {
            const size_t off = (size_t)((t / 3) * W + t % 3) * Ci;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, Ci, Co, 1.0f, full + base * Co, Co,
                        w + (size_t)t * Ci * Co, Co, 1.0f, dinp + base * Ci + off, Ci);
        }
    }
    net_sum_parts(dw, wpart, B, nw);
    if (dbias) {
        const size_t rows = (size_t)B * H * W;
#pragma omp parallel for schedule(dynamic, 1)
        for (int j = 0; j < NET_RED_CHUNKS; j++) {
            double *part = net_red_part(red, Co, j);
            float *restrict acc = net_red_facc(red, Co, j);
            for (int c = 0; c < Co; c++) part[c] = 0;
            size_t lo, hi;
            net_chunk(rows, j, &lo, &hi);
            for (size_t p0 = lo; p0 < hi; p0 += 64) { /* 64 rows in float, then into double */
                const size_t p1 = p0 + 64 < hi ? p0 + 64 : hi;
                for (int c = 0; c < Co; c++) acc[c] = 0;
                for (size_t p = p0; p < p1; p++) {
                    const float *restrict f = full + p * Co;
                    for (int c = 0; c < Co; c++) acc[c] += f[c];
                }
                net_flush(part, acc, (size_t)Co);
            }
        }
        net_chunk_sum_into_float(dbias, red, (size_t)9 * Co, (size_t)Co);
    }
}

/*-*** 1x1 ***/

/* out (M,N) = A (M,K) W (K,N), one thread. The register-tiled kernel of
 * inference (net_iconv_f32: 6 rows x 64 columns of sums in registers, W
 * read in place) where it has one, else OpenBLAS: on the pieces these
 * layers pass, sgemm spends its time packing both operands. Measured with
 * emotrain --bench --profile (one core, batch 64, default network, 6
 * steps): pointwise forward 676-685 -> 630-638 ms, shortcut forward
 * 114-116 -> 102-103, pointwise backward (the input gradient) 1349-1407 ->
 * 1298-1325. The weight gradient (A^T G) stays on sgemm: a kernel of the
 * same shape for it was no faster (137-197 GFLOP/s for sgemm against
 * 147-163 on 512-row pieces). */
static void gemm_nn(float *out, const float *A, const float *W, int M, int K, int N)
{
#if NET_TILED
    if (N % NET_VL == 0) {
        static const int off0[1] = {0};
        const NetEpilogue plain = {.wf = 1, .wv = 1};
        net_iconv_f32(out, A, W, off0, 1, M, K, N, &plain);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, W, N, 0.0f, out, N);
}

int net_conv1x1_forward(float *out, const float *in, const float *w, size_t R, int Ci, int Co, double *stats)
{
    const int nb = R < NET_GEMM_CHUNKS ? (int)R : NET_GEMM_CHUNKS;
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < nb; j++) {
        size_t lo, hi;
        gemm_block(R, nb, j, &lo, &hi);
        /* NET_PW_SUB rows at a time: the batch norm's sums (stats) read
         * them from L2, not memory, right after the GEMM wrote them. Making
         * the depthwise conv's rows just before, for the GEMM to find them
         * in L2 too (a fused separable conv), was no faster: 702-735 ms for
         * both convs against 705-738 (emotrain --bench --profile, 1 core,
         * 6 steps). */
        for (size_t s = lo; s < hi; s += NET_PW_SUB) {
            const size_t e = s + NET_PW_SUB < hi ? s + NET_PW_SUB : hi;
            gemm_nn(out + s * Co, in + s * Ci, w, (int)(e - s), Ci, Co);
            if (stats) net_bn_part_rows(stats, Co, j, out + s * Co, e - s, s == lo);
        }
    }
    return stats ? nb : 0;
}

/* Both GEMMs of a block go over it NET_PW_SUB rows at a time, so that the
 * output gradient's rows are read from memory once and found in L2 by the
 * second GEMM (a 512-row piece of (R,128) floats is 256 KB). Measured
 * against whole 1/8 blocks (one core, sgemm, the default network's four
 * shapes, cold caches): 225 -> 212 ms a batch of 64; 512 rows beat 256,
 * 1024, 2048 and 4096. A fused batch norm's gradient (NetBNGrad) is made in
 * the same pieces, into a scratch that stays in L2 and never goes to
 * memory: with it, the BN backward went from 576-587 to 338-347 ms and the
 * 1x1 backward from 1283-1318 to 1382-1400 (same profile as gemm_nn). */
void net_conv1x1_backward(float *dinp, float *dw, const float *dout, const float *in, const float *w, size_t R,
                          int Ci, int Co, float *wpart, const NetBNGrad *bn)
{
    const int nb = R < NET_GEMM_CHUNKS ? (int)R : NET_GEMM_CHUNKS;
    const size_t nw = (size_t)Ci * Co;
    /* The input gradient is g (M,Co) times w^T: w transposed once, after the block sums. */
    float *wt = wpart + (size_t)nb * nw;
    if (dinp)
        for (int ci = 0; ci < Ci; ci++)
            for (int co = 0; co < Co; co++) wt[(size_t)co * Ci + ci] = w[(size_t)ci * Co + co];
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < nb; j++) {
        size_t lo, hi;
        gemm_block(R, nb, j, &lo, &hi);
        float *wp = wpart + (size_t)j * nw, *scr = bn ? bn->scratch + (size_t)j * NET_PW_SUB * Co : NULL;
        for (size_t s = lo; s < hi; s += NET_PW_SUB) {
            const size_t e = s + NET_PW_SUB < hi ? s + NET_PW_SUB : hi, o = s * Co;
            const int M = (int)(e - s);
            const float *g = dout + o;
            if (bn) {
                net_bn_backward_rows(scr, bn->dout + o, bn->relu_ab, bn->in + o, bn->mean, bn->invstd, bn->coef, e - s,
                                     Co);
                g = scr;
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Ci, Co, M, 1.0f, in + s * Ci, Ci, g, Co,
                        s == lo ? 0.0f : 1.0f, wp, Co);
            if (dinp) gemm_nn(dinp + s * Ci, g, wt, M, Co, Ci);
        }
    }
    net_sum_parts(dw, wpart, nb, nw);
}

/*-*** 1x1 stride 2 ***/

static void gather_s2(float *g, const float *in, int B, int H, int W, int C)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Ho; r++) {
        const int n = r / Ho, oy = r % Ho;
        for (int ox = 0; ox < Wo; ox++)
            memcpy(g + ((size_t)r * Wo + ox) * C, in + (((size_t)n * H + 2 * oy) * W + 2 * ox) * C,
                   (size_t)C * sizeof *g);
    }
}

int net_conv1x1s2_forward(float *out, float *gather, const float *in, const float *w, int B, int H, int W, int Ci,
                          int Co, double *stats)
{
    const size_t R = (size_t)B * ((H - 1) / 2 + 1) * ((W - 1) / 2 + 1);
    gather_s2(gather, in, B, H, W, Ci);
    return net_conv1x1_forward(out, gather, w, R, Ci, Co, stats);
}

void net_conv1x1s2_backward(float *dinp, float *dw, float *gather, const float *dout, const float *in,
                            const float *w, int B, int H, int W, int Ci, int Co, float *wpart, const NetBNGrad *bn)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    const size_t R = (size_t)B * Ho * Wo;
    gather_s2(gather, in, B, H, W, Ci);
    /* In place: each block's rows of the gathered input are read for dW
     * before the same rows are overwritten with their gradient. */
    net_conv1x1_backward(gather, dw, dout, gather, w, R, Ci, Co, wpart, bn);
    /* Added to the pixels on the stride grid only: the others get nothing
     * from the shortcut, and the branch wrote them already. */
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Ho; r++) {
        const int n = r / Ho, oy = r % Ho;
        float *d = dinp + ((size_t)n * H + 2 * oy) * W * Ci;
        const float *g = gather + (size_t)r * Wo * Ci;
        for (int ox = 0; ox < Wo; ox++) {
            float *restrict dd = d + (size_t)2 * ox * Ci;
            const float *restrict gg = g + (size_t)ox * Ci;
            for (int c = 0; c < Ci; c++) dd[c] += gg[c];
        }
    }
}
