/* net_optim.c: SGD/Adam/AdamW steps and gradient clipping (see net_optim.h). */
#include "net_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void net_optim_config_default(NetOptConfig *cfg, NetOptKind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->momentum = 0.9f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
    cfg->weight_decay = kind == NET_OPT_ADAMW ? 0.01f : 0.0f;
    cfg->decay_all = 1;
}

EmoStatus net_optim_init(NetOptim *o, const NetOptConfig *cfg, size_t n_params, EmoError *err)
{
    memset(o, 0, sizeof *o);
    if (cfg->kind != NET_OPT_SGD && cfg->kind != NET_OPT_ADAM && cfg->kind != NET_OPT_ADAMW)
        return emo_error_set(err, EMO_ERR_ARG, "optimizer: unknown kind %d", (int)cfg->kind);
    if (!(cfg->ema_decay >= 0 && cfg->ema_decay < 1))
        return emo_error_set(err, EMO_ERR_ARG, "optimizer: weight-average decay %g is not in [0, 1)",
                             (double)cfg->ema_decay);
    o->cfg = *cfg;
    o->n = n_params;
    o->state = calloc(net_optim_state_count(o) ? net_optim_state_count(o) : 1, sizeof(float));
    if (!o->state) {
        memset(o, 0, sizeof *o);
        return emo_error_set(err, EMO_ERR_NOMEM, "optimizer: out of memory");
    }
    return EMO_OK;
}

void net_optim_free(NetOptim *o)
{
    free(o->state);
    o->state = NULL;
    o->n = 0;
}

size_t net_optim_state_count(const NetOptim *o) { return (o->cfg.ema_decay > 0 ? 3 : 2) * o->n; }

float *net_optim_average(NetOptim *o) { return o->cfg.ema_decay > 0 && o->state ? o->state + 2 * o->n : NULL; }

void net_optim_swap_average(NetOptim *o, float *params)
{
    float *avg = net_optim_average(o);
    if (!avg) return;
    for (size_t i = 0; i < o->n; i++) {
        const float t = avg[i];
        avg[i] = params[i];
        params[i] = t;
    }
}

/* avg = d*avg + (1-d)*params after step t (1-based); see net_optim.h. */
static void update_average(NetOptim *o, const float *params)
{
    float *restrict avg = net_optim_average(o);
    if (!avg) return;
    if (o->step == 1) {
        memcpy(avg, params, o->n * sizeof *avg);
        return;
    }
    const double t = (double)(o->step - 1); /* averages taken before this one */
    const float d = (float)fmin(o->cfg.ema_decay, (1.0 + t) / (10.0 + t));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < o->n; i++) avg[i] = d * avg[i] + (1.0f - d) * params[i];
}

/* Updates params[lo, hi) with weight decay wd. */
static void update_range(NetOptim *o, float *params, const float *grads, size_t lo, size_t hi, float lr, float wd)
{
    const NetOptConfig *c = &o->cfg;
    float *restrict mbuf = o->state, *restrict vbuf = o->state + o->n;
    if (c->kind == NET_OPT_SGD) {
        const float mu = c->momentum;
#pragma omp parallel for schedule(static)
        for (size_t i = lo; i < hi; i++) {
            float g = grads[i] + wd * params[i];
            if (mu != 0) {
                mbuf[i] = mu * mbuf[i] + g;
                g = c->nesterov ? g + mu * mbuf[i] : mbuf[i];
            }
            params[i] -= lr * g;
        }
        return;
    }
    const double t = (double)o->step;
    const float b1 = c->beta1, b2 = c->beta2;
    const float step_size = (float)(lr / (1.0 - pow(b1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    const int decoupled = c->kind == NET_OPT_ADAMW;
#pragma omp parallel for schedule(static)
    for (size_t i = lo; i < hi; i++) {
        float g = grads[i];
        if (decoupled)
            params[i] *= 1.0f - lr * wd;
        else
            g += wd * params[i];
        mbuf[i] = b1 * mbuf[i] + (1.0f - b1) * g;
        vbuf[i] = b2 * vbuf[i] + (1.0f - b2) * g * g;
        const float denom = sqrtf(vbuf[i]) / bc2_sqrt + c->eps;
        params[i] -= step_size * mbuf[i] / denom;
    }
}

float net_optim_step_arrays(NetOptim *o, float *params, float *grads, const NetTensor *tensors, int n_tensors,
                            float lr)
{
    double ss = 0;
#pragma omp parallel for reduction(+ : ss) schedule(static)
    for (size_t i = 0; i < o->n; i++) ss += (double)grads[i] * grads[i];
    const float norm = (float)sqrt(ss);
    if (o->cfg.clip_norm > 0) {
        /* torch.nn.utils.clip_grad_norm_: coef = max / (norm + 1e-6), capped at 1 */
        const float coef = (float)(o->cfg.clip_norm / (sqrt(ss) + 1e-6));
        if (coef < 1.0f)
            for (size_t i = 0; i < o->n; i++) grads[i] *= coef;
    }
    o->step++;
    const float wd = o->cfg.weight_decay;
    if (!tensors || o->cfg.decay_all || wd == 0) {
        update_range(o, params, grads, 0, o->n, lr, wd);
    } else {
        for (int t = 0; t < n_tensors; t++) {
            const NetTensor *nt = &tensors[t];
            if (nt->kind != NET_TENSOR_PARAM) continue;
            update_range(o, params, grads, nt->offset, nt->offset + nt->numel, lr, nt->decay ? wd : 0.0f);
        }
    }
    update_average(o, params);
    return norm;
}

float net_optim_step(NetOptim *o, NetModel *m, float lr)
{
    return net_optim_step_arrays(o, net_params(m), net_grads(m), net_tensor(m, 0), net_tensor_count(m), lr);
}
