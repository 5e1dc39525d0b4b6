/* net_bn.c: batch normalization over NHWC rows (per channel), with optional fused ReLU.
 *
 * Statistics are two-pass (mean, then mean squared deviation): one-pass
 * E[x^2]-E[x]^2 loses the variance of post-ReLU activations to
 * cancellation. Sums run over blocks of BN_BLOCK rows in float (vectorized,
 * 16 channels per AVX-512 op), blocks are added in double, chunks in a fixed
 * order (net_util.h), so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

#define BN_BLOCK 32

/* out = in * a + b per channel, ReLU when relu. */
static void bn_apply(float *out, const float *in, const float *a, const float *b, size_t R, int C, int relu)
{
#pragma omp parallel for schedule(guided)
    for (size_t r = 0; r < R; r++) {
        const float *restrict x = in + r * C;
        const float *restrict ar = a, *restrict br = b;
        float *restrict y = out + r * C;
        if (relu)
            for (int c = 0; c < C; c++) {
                float v = x[c] * ar[c] + br[c];
                y[c] = v > 0 ? v : 0;
            }
        else
            for (int c = 0; c < C; c++) y[c] = x[c] * ar[c] + br[c];
    }
}

/* One row's contribution to sum(g) and sum(g*xhat), g = d masked by m > 0
 * when m is given. A function of its own: gcc honors restrict on
 * parameters and vectorizes this without runtime alias checks. */
static inline void bn_grad_row(float *restrict sg, float *restrict sgx, const float *restrict x,
                               const float *restrict d, const float *restrict m, const float *restrict mu,
                               const float *restrict is, int C)
{
    if (m)
        for (int c = 0; c < C; c++) {
            const float g = m[c] > 0 ? d[c] : 0.0f;
            sg[c] += g;
            sgx[c] += g * ((x[c] - mu[c]) * is[c]);
        }
    else
        for (int c = 0; c < C; c++) {
            sg[c] += d[c];
            sgx[c] += d[c] * ((x[c] - mu[c]) * is[c]);
        }
}

/* sum[c] = column sums of in (center == NULL) or of (in - center)^2. */
static void col_sums(double *sum, const float *in, const float *center, size_t R, int C, double *red)
{
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *part = net_red_part(red, C, j);
        float *restrict acc = net_red_facc(red, C, j);
        const float *restrict m = center;
        for (int c = 0; c < C; c++) part[c] = 0;
        size_t lo, hi;
        net_chunk(R, j, &lo, &hi);
        for (size_t r0 = lo; r0 < hi; r0 += BN_BLOCK) {
            const size_t r1 = r0 + BN_BLOCK < hi ? r0 + BN_BLOCK : hi;
            for (int c = 0; c < C; c++) acc[c] = 0;
            for (size_t r = r0; r < r1; r++) {
                const float *restrict x = in + r * C;
                if (m)
                    for (int c = 0; c < C; c++) {
                        const float d = x[c] - m[c];
                        acc[c] += d * d;
                    }
                else
                    for (int c = 0; c < C; c++) acc[c] += x[c];
            }
            net_flush(part, acc, (size_t)C);
        }
    }
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int j = 0; j < NET_RED_CHUNKS; j++) s += net_red_part(red, C, j)[c];
        sum[c] = s;
    }
}

void net_bn_forward_train(float *out, float *mean, float *invstd, float *running_mean, float *running_var,
                          const float *in, const float *gamma, const float *beta, size_t R, int C, float momentum,
                          float eps, int relu, double *red)
{
    /* tail: mu[C] var[C] (double), then a[C] b[C] (float) */
    double *mu = net_red_tail(red, C), *var = mu + C;
    float *a = (float *)(void *)(var + C), *b = a + C;
    col_sums(mu, in, NULL, R, C, red);
    for (int c = 0; c < C; c++) {
        mu[c] /= (double)R;
        mean[c] = (float)mu[c];
    }
    /* Deviations from the float mean: its rounding error (1e-7 relative)
     * changes the variance by far less than float resolution. */
    col_sums(var, in, mean, R, C, red);
    for (int c = 0; c < C; c++) {
        double v = var[c] / (double)R;
        double is = 1.0 / sqrt(v + eps);
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
    float *a = (float *)(void *)net_red_tail(red, C), *b = a + C;
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
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < NET_RED_CHUNKS; j++) {
        double *part = net_red_part(red, C, j);
        float *restrict sg = net_red_facc(red, C, j), *restrict sgx = sg + C;
        const float *restrict mu = mean, *restrict is = invstd;
        for (int c = 0; c < 2 * C; c++) part[c] = 0;
        size_t lo, hi;
        net_chunk(R, j, &lo, &hi);
        for (size_t r0 = lo; r0 < hi; r0 += BN_BLOCK) {
            const size_t r1 = r0 + BN_BLOCK < hi ? r0 + BN_BLOCK : hi;
            for (int c = 0; c < 2 * C; c++) sg[c] = 0;
            for (size_t r = r0; r < r1; r++)
                bn_grad_row(sg, sgx, in + r * C, dout + r * C, relu_out ? relu_out + r * C : NULL, mu, is, C);
            net_flush(part, sg, 2 * (size_t)C);
        }
    }
    float *k = (float *)(void *)net_red_tail(red, C), *mg = k + C, *mgx = mg + C;
    for (int c = 0; c < C; c++) {
        double s = 0, sx = 0;
        for (int j = 0; j < NET_RED_CHUNKS; j++) {
            s += net_red_part(red, C, j)[c];
            sx += net_red_part(red, C, j)[C + c];
        }
        dbeta[c] += (float)s;
        dgamma[c] += (float)sx;
        k[c] = gamma[c] * invstd[c];
        mg[c] = (float)(s / (double)R);
        mgx[c] = (float)(sx / (double)R);
    }
    /* Pass 2: dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)). */
#pragma omp parallel for schedule(guided)
    for (size_t r = 0; r < R; r++) {
        const float *restrict x = in + r * C, *restrict d = dout + r * C;
        const float *restrict mu = mean, *restrict is = invstd, *restrict kk = k, *restrict g1 = mg,
                              *restrict g2 = mgx;
        float *restrict o = dinp + r * C;
        if (relu_out) {
            const float *restrict m = relu_out + r * C;
            for (int c = 0; c < C; c++) {
                const float g = m[c] > 0 ? d[c] : 0.0f;
                o[c] = kk[c] * (g - g1[c] - (x[c] - mu[c]) * is[c] * g2[c]);
            }
        } else {
            for (int c = 0; c < C; c++) o[c] = kk[c] * (d[c] - g1[c] - (x[c] - mu[c]) * is[c] * g2[c]);
        }
    }
}
