/* net_pool.c: max-pool 3x3/2 with argmax (and the residual add fused). */
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

/* One output pixel's channels [c0, C), one channel at a time: the max over
 * the window at (oy, ox) of a*in+b (in when a == NULL), plus ra*res+rb when
 * res. Scan order (rows, then columns) with a strict '>' keeps the first
 * maximum, as PyTorch does. */
static void pool_px_scalar(float *restrict o, int *restrict am, const float *img, const float *a, const float *b,
                           int H, int W, int C, int oy, int ox, int c0, const float *s, const float *ra,
                           const float *rb)
{
    for (int c = c0; c < C; c++) {
        float best = 0;
        int arg = -1;
        for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
            if (iy < 0 || iy >= H) continue;
            for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
                if (ix < 0 || ix >= W) continue;
                const int idx = iy * W + ix;
                float v = img[(size_t)idx * C + c];
                if (a) v = v * a[c] + b[c];
                if (arg < 0 || v > best) {
                    best = v;
                    arg = idx;
                }
            }
        }
        o[c] = s ? best + (s[c] * ra[c] + rb[c]) : best;
        am[c] = arg;
    }
}

/* The same for NET_VL channels from c0 at once, the running maximum and its
 * index in registers across the window (the loop above, over all channels
 * per window position, loaded and stored both nine times: pooling took
 * 107-108 ms for 6 steps of 64 on one core (emotrain --bench --profile,
 * default network), now 74-75). */
static void pool_px_vec(float *o, int *am, const float *img, const float *a, const float *b, int H, int W, int C,
                        int oy, int ox, int c0, const float *s, const float *ra, const float *rb)
{
    vnf best = {0}, av = {0}, bv = {0};
    vni arg = {0};
    int first = 1;
    if (a) {
        VN_LOAD(av, a + c0);
        VN_LOAD(bv, b + c0);
    }
    for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
        if (iy < 0 || iy >= H) continue;
        for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
            if (ix < 0 || ix >= W) continue;
            const int idx = iy * W + ix;
            vnf v;
            VN_LOAD(v, img + (size_t)idx * C + c0);
            if (a) v = v * av + bv;
            const vni iv = (vni){0} + idx;
            if (first) {
                best = v;
                arg = iv;
                first = 0;
                continue;
            }
            const vni gt = v > best; /* all ones where v is the new maximum */
            best = (vnf)((gt & (vni)v) | (~gt & (vni)best));
            arg = (gt & iv) | (~gt & arg);
        }
    }
    if (s) {
        vnf sv, rav, rbv;
        VN_LOAD(sv, s + c0);
        VN_LOAD(rav, ra + c0);
        VN_LOAD(rbv, rb + c0);
        best += sv * rav + rbv;
    }
    VN_STORE(o + c0, best);
    memcpy(am + c0, &arg, sizeof arg);
}

/* Max over each 3x3/2 window of a*in+b (identity when a == NULL), plus
 * ra*res+rb when res. */
static void maxpool(float *out, int *argmax, const float *in, const float *a, const float *b, int B, int H, int W,
                    int C, const float *res, const float *ra, const float *rb)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1, cv = C - C % NET_VL;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Ho; r++) {
        const int n = r / Ho, oy = r % Ho;
        const float *img = in + (size_t)n * H * W * C;
        for (int ox = 0; ox < Wo; ox++) {
            const size_t k = ((size_t)r * Wo + ox) * C;
            const float *s = res ? res + k : NULL;
            for (int c0 = 0; c0 < cv; c0 += NET_VL)
                pool_px_vec(out + k, argmax + k, img, a, b, H, W, C, oy, ox, c0, s, ra, rb);
            if (cv < C) pool_px_scalar(out + k, argmax + k, img, a, b, H, W, C, oy, ox, cv, s, ra, rb);
        }
    }
}

void net_maxpool_forward(float *out, int *argmax, const float *in, int B, int H, int W, int C)
{
    maxpool(out, argmax, in, NULL, NULL, B, H, W, C, NULL, NULL, NULL);
}

void net_maxpool_bn_forward(float *out, int *argmax, const float *in, const float *a, const float *b, int B, int H,
                            int W, int C, const float *res, const float *ra, const float *rb)
{
    maxpool(out, argmax, in, a, b, B, H, W, C, res, ra, rb);
}

/* Input pixel (y, x)'s gradient: the sum of dout over the (at most four)
 * windows that picked it, in output order, the order in which a scatter
 * over the outputs would add them (the same floats). A gather: each input
 * pixel is written once, with no zeroing pass and no scattered stores, and
 * vectorizes over channels (the scatter was scalar): 85-87 ms for 6 steps
 * of 64 on one core, now 65-73. */
void net_maxpool_backward(float *dinp, const float *dout, const int *argmax, int B, int H, int W, int C)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1, cv = C - C % NET_VL;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * H; r++) {
        const int n = r / H, y = r % H;
        /* windows oy with 2*oy-1 <= y <= 2*oy+1 */
        const int oy0 = y / 2, oy1 = (y + 1) / 2 < Ho ? (y + 1) / 2 : Ho - 1;
        for (int x = 0; x < W; x++) {
            const int ox0 = x / 2, ox1 = (x + 1) / 2 < Wo ? (x + 1) / 2 : Wo - 1, idx = y * W + x;
            float *d = dinp + ((size_t)r * W + x) * C;
            const vni iv = (vni){0} + idx;
            for (int c0 = 0; c0 < cv; c0 += NET_VL) {
                vnf acc = {0};
                for (int oy = oy0; oy <= oy1; oy++)
                    for (int ox = ox0; ox <= ox1; ox++) {
                        const size_t k = (((size_t)n * Ho + oy) * Wo + ox) * C + c0;
                        vni m;
                        vnf g;
                        memcpy(&m, argmax + k, sizeof m);
                        VN_LOAD(g, dout + k);
                        acc += (vnf)((vni)g & (m == iv));
                    }
                VN_STORE(d + c0, acc);
            }
            for (int c = cv; c < C; c++) {
                float acc = 0;
                for (int oy = oy0; oy <= oy1; oy++)
                    for (int ox = ox0; ox <= ox1; ox++) {
                        const size_t k = (((size_t)n * Ho + oy) * Wo + ox) * C + c;
                        if (argmax[k] == idx) acc += dout[k];
                    }
                d[c] = acc;
            }
        }
    }
}
