/* net_head.c: the network's head, conv G (3x3, padding 1, bias, C -> K)
 * then the global average pool, as one linear map.
 *
 * Both are linear, so the pool can go first: the mean over the output
 * pixels of tap t's products is w_t applied to S_t, the mean of the input
 * over the pixels that tap reads (all but one edge row and/or column). So
 * logits = bias + sum over taps of S_t . w_t: nine window means per channel
 * and a (9*C, K) product per image, instead of a convolution over every
 * pixel with K = 7 outputs, a shape a GEMM runs badly (OpenBLAS's nine
 * shifted GEMMs, the padding copy and the pool took 90-91 ms for 6 steps
 * of 64 on one core, forward and backward; this takes 34-35: emotrain
 * --bench --profile, default network). Exact in real arithmetic; the floats
 * differ from the convolution's by rounding only (tests/test_net.c). */
#include "net_layers.h"

/* The input window of each tap t = 3*ky + kx over all output pixels: rows
 * [y0, y1), columns [x0, x1). Output y reads y + ky - 1, which exists for
 * ky = 0 except at the last input row, for ky = 2 except at the first. */
typedef struct {
    int y0, y1, x0, x1;
} TapWindow;

static void tap_windows(TapWindow *tw, int H, int W)
{
    for (int t = 0; t < 9; t++)
        tw[t] = (TapWindow){.y0 = t / 3 == 2, .y1 = H - (t / 3 == 0), .x0 = t % 3 == 2, .x1 = W - (t % 3 == 0)};
}

void net_head_forward(float *logits, float *S, const float *in, const float *w, const float *bias, int B, int H,
                      int W, int C, int K)
{
    const float inv = 1.0f / (float)(H * W);
    TapWindow tw[9];
    tap_windows(tw, H, W);
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        const float *img = in + (size_t)n * H * W * C;
        float *s = S + (size_t)n * 9 * C;
        for (int t = 0; t < 9; t++) {
            float *restrict st = s + (size_t)t * C;
            for (int c = 0; c < C; c++) st[c] = 0;
            for (int y = tw[t].y0; y < tw[t].y1; y++)
                for (int x = tw[t].x0; x < tw[t].x1; x++) {
                    const float *restrict v = img + ((size_t)y * W + x) * C;
                    for (int c = 0; c < C; c++) st[c] += v[c];
                }
            for (int c = 0; c < C; c++) st[c] *= inv;
        }
        for (int k = 0; k < K; k++) {
            double z = bias[k];
            for (size_t i = 0; i < (size_t)9 * C; i++) z += (double)s[i] * w[i * K + k];
            logits[(size_t)n * K + k] = (float)z;
        }
    }
}

void net_head_backward(float *dinp, float *dw, float *dbias, float *U, const float *dlogits, const float *S,
                       const float *w, int B, int H, int W, int C, int K)
{
    const size_t nw = (size_t)9 * C;
    for (int k = 0; k < K; k++) {
        double g = 0;
        for (int n = 0; n < B; n++) g += dlogits[(size_t)n * K + k];
        dbias[k] += (float)g;
    }
    /* dw[i][k] += sum over images of S[n][i] * dlogits[n][k], images in order */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nw; i++)
        for (int k = 0; k < K; k++) {
            double g = 0;
            for (int n = 0; n < B; n++) g += (double)S[(size_t)n * nw + i] * dlogits[(size_t)n * K + k];
            dw[i * K + k] += (float)g;
        }
    const float inv = 1.0f / (float)(H * W);
    TapWindow tw[9];
    tap_windows(tw, H, W);
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        /* U[t][c]: the gradient of tap t's window mean; each input pixel
         * gets the sum over the taps that read it */
        float *u = U + (size_t)n * nw;
        const float *dl = dlogits + (size_t)n * K;
        for (size_t i = 0; i < nw; i++) {
            double g = 0;
            for (int k = 0; k < K; k++) g += (double)w[i * K + k] * dl[k];
            u[i] = (float)g * inv;
        }
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float *restrict d = dinp + (((size_t)n * H + y) * W + x) * C;
                for (int c = 0; c < C; c++) d[c] = 0;
                for (int t = 0; t < 9; t++) {
                    if (y < tw[t].y0 || y >= tw[t].y1 || x < tw[t].x0 || x >= tw[t].x1) continue;
                    const float *restrict ut = u + (size_t)t * C;
                    for (int c = 0; c < C; c++) d[c] += ut[c];
                }
            }
    }
}
