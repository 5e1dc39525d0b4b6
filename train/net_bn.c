/* net_bn.c: batch normalization over NHWC rows (per channel), with optional fused ReLU.
 *
 * Statistics take one pass over data shifted by a row of it (see
 * net_bn_part_rows). Sums run over blocks of BN_BLOCK rows in float (vectorized,
 * 16 channels per AVX-512 op), blocks are added in double, chunks in a fixed
 * order (net_util.h), so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "net_layers.h"
#include "net_util.h"

#define BN_BLOCK 32

/* The ReLU after a batch norm passes the gradient g where its input
 * x*a + b was positive. The backward recomputes this from the BN's input,
 * which it reads anyway, instead of reading the ReLU's output: one stream
 * less in two passes over the largest tensors (about 10 ms a step of 64 on
 * one core). The expression is the forward's (net_bn_apply), so the mask is
 * the same to the bit (tests/test_net.c checks). */
static inline float relu_pass(float g, float x, float a, float b) { return x * a + b > 0 ? g : 0.0f; }

void net_bn_apply(float *out, const float *in, const float *a, const float *b, size_t R, int C, int relu)
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

/* One row's contribution to sum(x - K) and sum((x - K)^2). */
static inline void bn_stat_row(float *restrict a1, float *restrict a2, const float *restrict x,
                               const float *restrict K, int C)
{
    for (int c = 0; c < C; c++) {
        const float d = x[c] - K[c];
        a1[c] += d;
        a2[c] += d * d;
    }
}

/* One row's contribution to sum(g) and sum(g*xhat), g = d masked by the
 * ReLU of ra*x + rb when ra is given. A function of its own: gcc honors
 * restrict on parameters and vectorizes this without runtime alias checks. */
static inline void bn_grad_row(float *restrict sg, float *restrict sgx, const float *restrict x,
                               const float *restrict d, const float *restrict ra, const float *restrict rb,
                               const float *restrict mu, const float *restrict is, int C)
{
    if (ra)
        for (int c = 0; c < C; c++) {
            const float g = relu_pass(d[c], x[c], ra[c], rb[c]);
            sg[c] += g;
            sgx[c] += g * ((x[c] - mu[c]) * is[c]);
        }
    else
        for (int c = 0; c < C; c++) {
            sg[c] += d[c];
            sgx[c] += d[c] * ((x[c] - mu[c]) * is[c]);
        }
}

/* Statistics by chunks of rows. Chunk j's partials (net_red_part(red, C, j))
 * are its first row K as a shift, the column sums of d = x - K and of d^2,
 * and its number of rows. Shifting by a sample of the data keeps
 * E[d^2] - E[d]^2 well conditioned (the shift is within a few standard
 * deviations of the mean), where E[x^2] - E[x]^2 would cancel, and needs one
 * pass, not two. Each chunk has its own shift, so that a producer can add
 * rows in any order of chunks (net_conv1x1_forward, while they are in cache).
 * Tried in conv A's and conv B's (Winograd) forward too, and dropped: per 6
 * steps on one core, conv A took 7 ms and conv B 20 ms longer while batch
 * norm took 20 ms less; these sums cost about what reading the tensor again
 * does. */
void net_bn_part_rows(double *red, int C, int j, const float *rows, size_t n, int first)
{
    double *part = net_red_part(red, C, j);
    float *restrict a1 = net_red_facc(red, C, j), *restrict a2 = a1 + C;
    if (first) {
        for (int c = 0; c < C; c++) part[c] = n ? rows[c] : 0.0f;
        for (int c = C; c < 3 * C + 1; c++) part[c] = 0;
    }
    part[3 * C] += (double)n;
    float *restrict K = a2 + C; /* the shift in float, next to the sums */
    for (int c = 0; c < C; c++) K[c] = (float)part[c];
    for (size_t r0 = 0; r0 < n; r0 += BN_BLOCK) {
        const size_t r1 = r0 + BN_BLOCK < n ? r0 + BN_BLOCK : n;
        for (int c = 0; c < 2 * C; c++) a1[c] = 0;
        for (size_t r = r0; r < r1; r++) bn_stat_row(a1, a2, rows + r * C, K, C);
        net_flush(part + C, a1, 2 * (size_t)C);
    }
}

/* Mean and biased variance from nparts chunk partials over R rows in all:
 * each chunk's mean and sum of squared deviations, combined as Chan et al.
 * do (in double). */
static void bn_combine(double *mean, double *var, double *red, size_t R, int C, int nparts)
{
    for (int c = 0; c < C; c++) {
        double s = 0, m2 = 0;
        for (int j = 0; j < nparts; j++) {
            const double *part = net_red_part(red, C, j), n = part[3 * C];
            s += n * part[c] + part[C + c];
        }
        const double mu = s / (double)R;
        for (int j = 0; j < nparts; j++) {
            const double *part = net_red_part(red, C, j), n = part[3 * C];
            if (n == 0) continue;
            const double d1 = part[C + c], dm = part[c] + d1 / n - mu;
            m2 += part[2 * C + c] - d1 * d1 / n + n * dm * dm;
        }
        mean[c] = mu;
        var[c] = m2 > 0 ? m2 / (double)R : 0;
    }
}

void net_bn_stats_train(float *a, float *b, float *mean, float *invstd, float *running_mean, float *running_var,
                        const float *in, const float *gamma, const float *beta, size_t R, int C, float momentum,
                        float eps, int nparts, double *red)
{
    if (!nparts) {
        nparts = NET_RED_CHUNKS;
#pragma omp parallel for schedule(dynamic, 1)
        for (int j = 0; j < NET_RED_CHUNKS; j++) {
            size_t lo, hi;
            net_chunk(R, j, &lo, &hi);
            net_bn_part_rows(red, C, j, in + lo * C, hi - lo, 1);
        }
    }
    double *mu = net_red_tail(red, C), *var = mu + C;
    bn_combine(mu, var, red, R, C, nparts);
    for (int c = 0; c < C; c++) {
        const double v = var[c], is = 1.0 / sqrt(v + eps);
        mean[c] = (float)mu[c];
        invstd[c] = (float)is;
        a[c] = (float)(gamma[c] * is);
        b[c] = (float)(beta[c] - mu[c] * gamma[c] * is);
        const double unbiased = R > 1 ? v * (double)R / (double)(R - 1) : v;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu[c]);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
}

void net_bn_affine_eval(float *a, float *b, const float *gamma, const float *beta, const float *running_mean,
                        const float *running_var, int C, float eps)
{
    for (int c = 0; c < C; c++) {
        const double is = 1.0 / sqrt((double)running_var[c] + eps);
        a[c] = (float)(gamma[c] * is);
        b[c] = (float)(beta[c] - running_mean[c] * gamma[c] * is);
    }
}

void net_bn_forward_train(float *out, float *ab, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *in, const float *gamma, const float *beta, size_t R, int C,
                          float momentum, float eps, int relu, int nparts, double *red)
{
    net_bn_stats_train(ab, ab + C, mean, invstd, running_mean, running_var, in, gamma, beta, R, C, momentum, eps,
                       nparts, red);
    net_bn_apply(out, in, ab, ab + C, R, C, relu);
}

void net_bn_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, size_t R, int C, float eps, int relu,
                         double *red)
{
    float *a = (float *)(void *)net_red_tail(red, C), *b = a + C;
    net_bn_affine_eval(a, b, gamma, beta, running_mean, running_var, C, eps);
    net_bn_apply(out, in, a, b, R, C, relu);
}

void net_bn_backward_sums(float *coef, float *dgamma, float *dbeta, const float *dout, const float *relu_ab,
                          const float *in, const float *mean, const float *invstd, const float *gamma, size_t R,
                          int C, double *red)
{
    /* Per channel sum(g) and sum(g * xhat), g = dout masked by the ReLU. */
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
                bn_grad_row(sg, sgx, in + r * C, dout + r * C, relu_ab, relu_ab ? relu_ab + C : NULL, mu, is, C);
            net_flush(part, sg, 2 * (size_t)C);
        }
    }
    float *k = coef, *mg = k + C, *mgx = mg + C;
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
}

void net_bn_backward_rows(float *dinp, const float *dout, const float *relu_ab, const float *in, const float *mean,
                          const float *invstd, const float *coef, size_t n, int C)
{
    const float *restrict mu = mean, *restrict is = invstd, *restrict kk = coef, *restrict g1 = coef + C,
                          *restrict g2 = coef + 2 * C;
    for (size_t r = 0; r < n; r++) {
        const float *restrict x = in + r * C, *restrict d = dout + r * C;
        float *restrict o = dinp + r * C;
        if (relu_ab) {
            const float *restrict ra = relu_ab, *restrict rb = relu_ab + C;
            for (int c = 0; c < C; c++) {
                const float g = relu_pass(d[c], x[c], ra[c], rb[c]);
                o[c] = kk[c] * (g - g1[c] - (x[c] - mu[c]) * is[c] * g2[c]);
            }
        } else {
            for (int c = 0; c < C; c++) o[c] = kk[c] * (d[c] - g1[c] - (x[c] - mu[c]) * is[c] * g2[c]);
        }
    }
}

void net_bn_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *relu_ab,
                     const float *in, const float *mean, const float *invstd, const float *gamma, size_t R, int C,
                     double *red)
{
    float *coef = (float *)(void *)net_red_tail(red, C); /* 3*C floats in the 4*C doubles */
    net_bn_backward_sums(coef, dgamma, dbeta, dout, relu_ab, in, mean, invstd, gamma, R, C, red);
    /* dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)), BN_BLOCK rows at a time */
    const size_t nblk = (R + BN_BLOCK - 1) / BN_BLOCK;
#pragma omp parallel for schedule(guided)
    for (size_t i = 0; i < nblk; i++) {
        const size_t r0 = i * BN_BLOCK, n = R - r0 < BN_BLOCK ? R - r0 : BN_BLOCK, o = r0 * C;
        net_bn_backward_rows(dinp + o, dout + o, relu_ab, in + o, mean, invstd, coef, n, C);
    }
}
