/* net_bn.c: batch normalization over NHWC rows (per channel), with optional fused ReLU.
 *
 * Statistics are two-pass (mean, then mean squared deviation) in double,
 * chunked for thread-count-independent results: one-pass E[x^2]-E[x]^2 in
 * float loses the variance of post-ReLU activations to cancellation. */
#include <math.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

/* Per-channel scale a and shift b live after the chunk partials in red. */
static float *red_tail(double *red, int C)
{
    return (float *)(red + (size_t)NET_RED_CHUNKS * 9 * C);
}

/* out = in * a + b per channel, ReLU when relu. */
static void bn_apply(float *out, const float *in, const float *a, const float *b, size_t R, int C, int relu)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        const float *restrict x = in + r * C;
        float *restrict y = out + r * C;
        if (relu)
            for (int c = 0; c < C; c++) {
                float v = x[c] * a[c] + b[c];
                y[c] = v > 0 ? v : 0;
            }
        else
            for (int c = 0; c < C; c++) y[c] = x[c] * a[c] + b[c];
    }
}

/* Column sums of (x - center) (pow 1) or (x - center)^2 (pow 2) in double. */
static void col_sums(double *sum, const float *in, const double *center, size_t R, int C, int pow2, double *red)
{
#pragma omp parallel for schedule(static)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *restrict p = red + (size_t)j * C;
        for (int c = 0; c < C; c++) p[c] = 0;
        size_t lo, hi;
        net_chunk(R, j, &lo, &hi);
        for (size_t r = lo; r < hi; r++) {
            const float *restrict x = in + r * C;
            if (pow2)
                for (int c = 0; c < C; c++) {
                    double d = x[c] - center[c];
                    p[c] += d * d;
                }
            else
                for (int c = 0; c < C; c++) p[c] += x[c];
        }
    }
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int j = 0; j < NET_RED_CHUNKS; j++) s += red[(size_t)j * C + c];
        sum[c] = s;
    }
}

void net_bn_forward_train(float *out, float *mean, float *invstd, float *running_mean, float *running_var,
                          const float *in, const float *gamma, const float *beta, size_t R, int C, float momentum,
                          float eps, int relu, double *red)
{
    /* red layout: [chunks][C] partials | mu[C] var[C] (doubles) | a[C] b[C] (floats) */
    double *mu = red + (size_t)NET_RED_CHUNKS * C, *var = mu + C;
    float *a = red_tail(red, C), *b = a + C;
    col_sums(mu, in, NULL, R, C, 0, red);
    for (int c = 0; c < C; c++) mu[c] /= (double)R;
    col_sums(var, in, mu, R, C, 1, red);
    for (int c = 0; c < C; c++) {
        double v = var[c] / (double)R;
        double is = 1.0 / sqrt(v + eps);
        mean[c] = (float)mu[c];
        invstd[c] = (float)is;
        a[c] = (float)(gamma[c] * is);
        b[c] = (float)(beta[c] - mu[c] * gamma[c] * is);
        double unbiased = R > 1 ? v * (double)R / (double)(R - 1) : v;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu[c]);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
    bn_apply(out, in, a, b, R, C, relu);
}

void net_bn_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, size_t R, int C, float eps, int relu,
                         double *red)
{
    float *a = red_tail(red, C), *b = a + C;
    for (int c = 0; c < C; c++) {
        double is = 1.0 / sqrt((double)running_var[c] + eps);
        a[c] = (float)(gamma[c] * is);
        b[c] = (float)(beta[c] - running_mean[c] * gamma[c] * is);
    }
    bn_apply(out, in, a, b, R, C, relu);
}

void net_bn_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *relu_out,
                     const float *in, const float *mean, const float *invstd, const float *gamma, size_t R, int C,
                     double *red)
{
    /* Pass 1: per channel sum(g) and sum(g * xhat), g = dout masked by the ReLU. */
#pragma omp parallel for schedule(static)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *restrict sg = red + (size_t)j * 2 * C, *restrict sgx = sg + C;
        for (int c = 0; c < 2 * C; c++) sg[c] = 0;
        size_t lo, hi;
        net_chunk(R, j, &lo, &hi);
        for (size_t r = lo; r < hi; r++) {
            const float *restrict x = in + r * C, *restrict d = dout + r * C;
            const float *restrict m = relu_out ? relu_out + r * C : NULL;
            for (int c = 0; c < C; c++) {
                float g = m && !(m[c] > 0) ? 0.0f : d[c];
                sg[c] += g;
                sgx[c] += g * ((x[c] - mean[c]) * invstd[c]);
            }
        }
    }
    float *k = red_tail(red, C), *mg = k + C, *mgx = mg + C;
    for (int c = 0; c < C; c++) {
        double s = 0, sx = 0;
        for (int j = 0; j < NET_RED_CHUNKS; j++) {
            s += red[(size_t)j * 2 * C + c];
            sx += red[(size_t)j * 2 * C + C + c];
        }
        dbeta[c] += (float)s;
        dgamma[c] += (float)sx;
        k[c] = gamma[c] * invstd[c];
        mg[c] = (float)(s / (double)R);
        mgx[c] = (float)(sx / (double)R);
    }
    /* Pass 2: dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)). */
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        const float *restrict x = in + r * C, *restrict d = dout + r * C;
        const float *restrict m = relu_out ? relu_out + r * C : NULL;
        float *restrict o = dinp + r * C;
        for (int c = 0; c < C; c++) {
            float g = m && !(m[c] > 0) ? 0.0f : d[c];
            float xh = (x[c] - mean[c]) * invstd[c];
            o[c] = k[c] * (g - mg[c] - xh * mgx[c]);
        }
    }
}
