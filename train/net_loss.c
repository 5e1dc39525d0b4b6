/* net_loss.c: softmax cross-entropy with class weights, label smoothing and a focal term.
 *
 * Semantics follow PyTorch's F.cross_entropy(weight=w, label_smoothing=e,
 * reduction='mean'), which normalizes BOTH terms by sum_i w[y_i] (see
 * aten/src/ATen/native/LossNLL.cpp, cross_entropy_loss_label_smoothing):
 *   loss = sum_i [(1-e) w[y_i] f_i + (e/K) sum_c w[c] (-log p_ic)] / sum_i w[y_i]
 * Gradient per logit j of image i (f_i = -log p_iy, no focal term):
 *   [(1-e) w[y_i] (p_ij - [j=y_i]) + (e/K) (p_ij sum_c w[c] - w[j])] / sum_i w[y_i]
 * With the focal term f_i = -(1-p_t)^g log p_t, p_t = p_iy, the first part
 * becomes (1-e) w[y_i] df/dz_ij with
 *   df/dz_j = [g (1-p_t)^(g-1) p_t log p_t - (1-p_t)^g] ([j=y] - p_j).
 * Computed in double: this is B*K numbers, precision is free. */
#include <math.h>

#include "net_layers.h"

float net_xent_forward_backward(float *probs, float *dlogits, const float *logits, const int *labels,
                                const float *class_weights, float label_smoothing, float focal_gamma, int B, int K)
{
    double wsum_all = 0; /* sum_c w[c] */
    for (int c = 0; c < K; c++) wsum_all += class_weights ? class_weights[c] : 1.0;
    double norm = 0; /* sum_i w[y_i] */
    for (int i = 0; i < B; i++) norm += class_weights ? class_weights[labels[i]] : 1.0;
    const double e = label_smoothing, g = focal_gamma;
    double total = 0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K;
        float *p = probs + (size_t)i * K;
        double zmax = z[0];
        for (int c = 1; c < K; c++) zmax = z[c] > zmax ? z[c] : zmax;
        double s = 0;
        for (int c = 0; c < K; c++) s += exp(z[c] - zmax);
        const double lse = zmax + log(s);
        double smooth = 0; /* sum_c w[c] (-log p_c) */
        for (int c = 0; c < K; c++) {
            const double logp = z[c] - lse;
            p[c] = (float)exp(logp);
            smooth -= (class_weights ? class_weights[c] : 1.0) * logp;
        }
        const int y = labels[i];
        const double wy = class_weights ? class_weights[y] : 1.0;
        const double logpt = z[y] - lse, pt = exp(logpt);
        double f, coef; /* f_i and the factor multiplying ([j=y] - p_j) in df/dz_j */
        if (g > 0) {
            const double q = 1.0 - pt;
            const double qg = q > 0 ? pow(q, g) : 0.0;
            const double qg1 = q > 0 ? pow(q, g - 1.0) : 0.0;
            f = -qg * logpt;
            coef = g * qg1 * pt * logpt - qg;
        } else {
            f = -logpt;
            coef = -1.0;
        }
        total += (1.0 - e) * wy * f + (e / K) * smooth;
        if (dlogits) {
            float *d = dlogits + (size_t)i * K;
            for (int j = 0; j < K; j++) {
                const double pj = exp(z[j] - lse);
                const double wj = class_weights ? class_weights[j] : 1.0;
                const double df = coef * ((j == y ? 1.0 : 0.0) - pj);
                d[j] = (float)(((1.0 - e) * wy * df + (e / K) * (pj * wsum_all - wj)) / norm);
            }
        }
    }
    return (float)(total / norm);
}
