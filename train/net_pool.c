/* net_pool.c: max-pool 3x3/2 with argmax (and the residual add fused), global average pool, padding. */
#include <float.h>
#include <string.h>

#include "net_layers.h"

/* Max over each 3x3/2 window of a*in+b (identity when a == NULL), plus
 * ra*res+rb when res. */
static void maxpool(float *out, int *argmax, const float *in, const float *a, const float *b, int B, int H, int W,
                    int C, const float *res, const float *ra, const float *rb)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Ho; r++) {
        const int n = r / Ho, oy = r % Ho;
        const float *img = in + (size_t)n * H * W * C;
        for (int ox = 0; ox < Wo; ox++) {
            float *restrict o = out + ((size_t)r * Wo + ox) * C;
            int *restrict am = argmax + ((size_t)r * Wo + ox) * C;
            for (int c = 0; c < C; c++) {
                o[c] = -FLT_MAX;
                am[c] = -1;
            }
            /* Scan order (rows, then columns) with a strict '>' keeps the
             * first maximum, as PyTorch does. */
            for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
                if (iy < 0 || iy >= H) continue;
                for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
                    if (ix < 0 || ix >= W) continue;
                    const int idx = iy * W + ix;
                    const float *restrict v = img + (size_t)idx * C;
                    if (a) {
                        for (int c = 0; c < C; c++) {
                            const float y = v[c] * a[c] + b[c];
                            const int gt = y > o[c] || am[c] < 0;
                            o[c] = gt ? y : o[c];
                            am[c] = gt ? idx : am[c];
                        }
                    } else {
                        for (int c = 0; c < C; c++) {
                            const int gt = v[c] > o[c] || am[c] < 0;
                            o[c] = gt ? v[c] : o[c];
                            am[c] = gt ? idx : am[c];
                        }
                    }
                }
            }
            if (res) {
                const float *restrict s = res + ((size_t)r * Wo + ox) * C;
                for (int c = 0; c < C; c++) o[c] += s[c] * ra[c] + rb[c];
            }
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

void net_maxpool_backward(float *dinp, const float *dout, const int *argmax, int B, int H, int W, int C)
{
    const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    /* One image per iteration: windows overlap, so outputs of the same image
     * may add to the same input pixel, never those of another image. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        float *d = dinp + (size_t)n * H * W * C;
        memset(d, 0, (size_t)H * W * C * sizeof *d);
        const size_t base = (size_t)n * Ho * Wo * C;
        for (size_t i = 0; i < (size_t)Ho * Wo; i++)
            for (int c = 0; c < C; c++) {
                const size_t k = base + i * C + c;
                d[(size_t)argmax[k] * C + c] += dout[k];
            }
    }
}

void net_pad1_forward(float *out, const float *in, int B, int H, int W, int C)
{
    const int Hp = H + 2, Wp = W + 2;
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * Hp; r++) {
        const int n = r / Hp, y = r % Hp;
        float *o = out + (size_t)r * Wp * C;
        if (y == 0 || y == Hp - 1) {
            memset(o, 0, (size_t)Wp * C * sizeof *o);
            continue;
        }
        memset(o, 0, (size_t)C * sizeof *o);
        memcpy(o + C, in + (((size_t)n * H + y - 1) * W) * C, (size_t)W * C * sizeof *o);
        memset(o + (size_t)(W + 1) * C, 0, (size_t)C * sizeof *o);
    }
}

void net_pad1_backward(float *dinp, const float *dout, int B, int H, int W, int C)
{
#pragma omp parallel for schedule(guided)
    for (int r = 0; r < B * H; r++) {
        const int n = r / H, y = r % H;
        memcpy(dinp + (size_t)r * W * C, dout + (((size_t)n * (H + 2) + y + 1) * (W + 2) + 1) * C,
               (size_t)W * C * sizeof *dinp);
    }
}

void net_gap_forward(float *out, const float *in, int B, int P, int C)
{
    for (int n = 0; n < B; n++) {
        float *o = out + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int p = 0; p < P; p++) s += in[((size_t)n * P + p) * C + c];
            o[c] = (float)(s / P);
        }
    }
}

void net_gap_backward(float *dinp, const float *dout, int B, int P, int C)
{
    for (int n = 0; n < B; n++)
        for (int p = 0; p < P; p++)
            for (int c = 0; c < C; c++) dinp[((size_t)n * P + p) * C + c] = dout[(size_t)n * C + c] / (float)P;
}
