/* net_dwconv.c: depthwise 3x3 convolution, padding 1 (the separable convs' first half).
 *
 * NHWC makes this a sum of nine channel vectors per pixel: the channel loop
 * is unit-stride and vectorizes (16 floats per AVX-512 op). Interior pixels
 * take a fixed nine-tap path; border pixels skip the taps that fall in the
 * zero padding. The input gradient is the same computation with the kernel
 * rotated by 180 degrees, so one row routine serves both. */
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

/* One output row y of image `img` (H,W,C): out = sum of valid taps of in * w,
 * with w rotated 180 degrees when flip (the input-gradient case). When acc,
 * the row is added to out instead of stored. */
static void dw_row(float *restrict out, const float *restrict img, const float *restrict w, int H, int W, int C,
                   int y, int flip, int acc)
{
    const float *wt[9];
    for (int t = 0; t < 9; t++) wt[t] = w + (size_t)(flip ? 8 - t : t) * C;
    const int full_rows = y >= 1 && y + 1 < H;
    for (int x = 0; x < W; x++) {
        float *restrict o = out + (size_t)x * C;
        if (full_rows && x >= 1 && x + 1 < W) {
            const float *r0 = img + ((size_t)(y - 1) * W + x - 1) * C;
            const float *r1 = r0 + (size_t)W * C, *r2 = r1 + (size_t)W * C;
            const float *w0 = wt[0], *w1 = wt[1], *w2 = wt[2], *w3 = wt[3], *w4 = wt[4], *w5 = wt[5], *w6 = wt[6],
                        *w7 = wt[7], *w8 = wt[8];
            for (int c = 0; c < C; c++) {
                float s = r0[c] * w0[c] + r0[C + c] * w1[c] + r0[2 * C + c] * w2[c] + r1[c] * w3[c] +
                          r1[C + c] * w4[c] + r1[2 * C + c] * w5[c] + r2[c] * w6[c] + r2[C + c] * w7[c] +
                          r2[2 * C + c] * w8[c];
                o[c] = acc ? o[c] + s : s;
            }
            continue;
        }
        if (!acc) memset(o, 0, (size_t)C * sizeof *o);
        for (int ky = 0; ky < 3; ky++) {
            const int iy = y + ky - 1;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < 3; kx++) {
                const int ix = x + kx - 1;
                if (ix < 0 || ix >= W) continue;
                const float *restrict i = img + ((size_t)iy * W + ix) * C;
                const float *restrict wk = wt[ky * 3 + kx];
                for (int c = 0; c < C; c++) o[c] += i[c] * wk[c];
            }
        }
    }
}

void net_dwconv3x3_forward(float *out, const float *in, const float *w, int B, int H, int W, int C)
{
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * H; r++) {
        const int n = r / H, y = r % H;
        dw_row(out + (size_t)r * W * C, in + (size_t)n * H * W * C, w, H, W, C, y, 0, 0);
    }
}

/* One row's weight gradient for channels [c0, c0+NET_VL): the nine taps'
 * sums stay in registers across the row, as in conv A's (net_conv.c). The
 * loop it replaces added into a (9, C) array in memory, two loads and a
 * store per multiply-add. r0 / r2 are the input rows above and below (NULL
 * at the image's top and bottom: zero padding); each tap still sums over x
 * in ascending order, so the result is the same float for float. Stores
 * the sums to acc (9, C). */
static void dw_grad_row_block(float *restrict acc, const float *restrict r0, const float *restrict r1,
                              const float *restrict r2, const float *restrict g, int W, int C, int c0)
{
    /* Nine named accumulators: GCC keeps an array of vectors on the stack. */
    vnf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}, a8 = {0};
    for (int x = 0; x < W; x++) {
        const size_t o = (size_t)x * C + c0;
        const int left = x > 0, right = x + 1 < W;
        vnf gv, v;
        VN_LOAD(gv, g + o);
#define DW_TAPS(row, aL, aM, aR)                                              \
    do {                                                                      \
        if (left) { VN_LOAD(v, (row) + o - C); aL += v * gv; }                \
        VN_LOAD(v, (row) + o); aM += v * gv;                                  \
        if (right) { VN_LOAD(v, (row) + o + C); aR += v * gv; }               \
    } while (0)
        if (r0) DW_TAPS(r0, a0, a1, a2);
        DW_TAPS(r1, a3, a4, a5);
        if (r2) DW_TAPS(r2, a6, a7, a8);
#undef DW_TAPS
    }
    VN_STORE(acc + c0, a0);
    VN_STORE(acc + (size_t)C + c0, a1);
    VN_STORE(acc + (size_t)2 * C + c0, a2);
    VN_STORE(acc + (size_t)3 * C + c0, a3);
    VN_STORE(acc + (size_t)4 * C + c0, a4);
    VN_STORE(acc + (size_t)5 * C + c0, a5);
    VN_STORE(acc + (size_t)6 * C + c0, a6);
    VN_STORE(acc + (size_t)7 * C + c0, a7);
    VN_STORE(acc + (size_t)8 * C + c0, a8);
}

/* The same sums for channels [c0, C), fewer than a vector: scalar, into acc
 * (9, C) in memory. */
static void dw_grad_row_tail(float *restrict acc, const float *r0, const float *r1, const float *r2,
                             const float *restrict g, int W, int C, int c0)
{
    const float *rows[3] = {r0, r1, r2};
    for (int t = 0; t < 9; t++) memset(acc + (size_t)t * C + c0, 0, (size_t)(C - c0) * sizeof *acc);
    for (int x = 0; x < W; x++)
        for (int ky = 0; ky < 3; ky++) {
            if (!rows[ky]) continue;
            for (int kx = x > 0 ? 0 : 1; kx < (x + 1 < W ? 3 : 2); kx++) {
                const float *restrict i = rows[ky] + (size_t)(x + kx - 1) * C;
                const float *restrict gx = g + (size_t)x * C;
                float *restrict p = acc + (size_t)(ky * 3 + kx) * C;
                for (int c = c0; c < C; c++) p[c] += i[c] * gx[c];
            }
        }
}

void net_dwconv3x3_backward(float *dinp, float *dw, const float *dout, const float *in, const float *w, int B,
                            int H, int W, int C, int accumulate, double *red)
{
    if (dinp) {
#pragma omp parallel for schedule(guided)
        for (int r = 0; r < B * H; r++) {
            const int n = r / H, y = r % H;
            dw_row(dinp + (size_t)r * W * C, dout + (size_t)n * H * W * C, w, H, W, C, y, 1, accumulate);
        }
    }
    const size_t stride = (size_t)9 * C;
    const int cv = C - C % NET_VL; /* channels the register kernel takes; the rest below */
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *part = net_red_part(red, C, j);
        float *restrict acc = net_red_facc(red, C, j);
        memset(part, 0, stride * sizeof *part);
        size_t lo, hi;
        net_chunk((size_t)B * H, j, &lo, &hi);
        for (size_t r = lo; r < hi; r++) { /* one row in float, then into double */
            const int n = (int)(r / H), y = (int)(r % H);
            const float *img = in + (size_t)n * H * W * C;
            const float *g = dout + r * W * C;
            const float *r1 = img + (size_t)y * W * C;
            const float *r0 = y > 0 ? r1 - (size_t)W * C : NULL, *r2 = y + 1 < H ? r1 + (size_t)W * C : NULL;
            for (int c0 = 0; c0 < cv; c0 += NET_VL) dw_grad_row_block(acc, r0, r1, r2, g, W, C, c0);
            if (cv < C) dw_grad_row_tail(acc, r0, r1, r2, g, W, C, cv);
            net_flush(part, acc, stride);
        }
    }
    net_chunk_sum_into_float(dw, red, stride, stride);
}
