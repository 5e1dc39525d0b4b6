/* net_optim.h: optimizers over a model's flat parameter array (PyTorch semantics).
 *
 * SGD (momentum, Nesterov), Adam and AdamW exactly as torch.optim 1.13 with
 * dampening 0 and amsgrad off; L2 weight decay (SGD, Adam: wd*param added to
 * the gradient) or decoupled decay (AdamW: param *= 1 - lr*wd); optional
 * clipping of the global gradient norm (torch.nn.utils.clip_grad_norm_).
 * The learning rate is an argument of every step, so the trainer runs any
 * schedule. The state (first and second moments, or the momentum buffer,
 * and the weight average when ema_decay > 0) is one allocation in the
 * parameter array's layout, exposed for checkpoints.
 *
 * Weight averaging (ema_decay > 0): after every step the optimizer keeps
 * avg = d*avg + (1-d)*params, with d = min(ema_decay, (1+t)/(10+t)) for the
 * t-th average (TensorFlow's ExponentialMovingAverage with num_updates, as
 * timm's ModelEma): the first step copies the parameters, and the early
 * averages do not drag the random initialization along. The average is
 * never trained on; the trainer swaps it in to validate and to save. */
#ifndef NET_OPTIM_H
#define NET_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "net_model.h"

typedef enum { NET_OPT_SGD, NET_OPT_ADAM, NET_OPT_ADAMW } NetOptKind;

typedef struct {
    NetOptKind kind;
    float momentum;          /* SGD; 0 = plain SGD */
    int nesterov;            /* SGD with momentum */
    float beta1, beta2, eps; /* Adam, AdamW */
    float weight_decay;      /* 0 = off */
    int decay_all;           /* 1: decay every tensor (PyTorch's default); 0: conv weights only (NetTensor.decay) */
    float clip_norm;         /* > 0: scale gradients so their global L2 norm is at most this */
    float ema_decay;         /* > 0 (< 1): keep an exponential moving average of the parameters; 0 = off */
} NetOptConfig;

typedef struct {
    NetOptConfig cfg;
    size_t n;       /* parameters */
    float *state;   /* (2n or 3n): m or the momentum buffer, v, then the average (ema_decay > 0) */
    uint64_t step;  /* steps taken (Adam's bias correction) */
} NetOptim;

/* Defaults per kind: SGD momentum 0.9; Adam(W) betas 0.9/0.999, eps 1e-8;
 * AdamW weight decay 0.01 (PyTorch's), others 0; decay_all 1; no clipping. */
void net_optim_config_default(NetOptConfig *cfg, NetOptKind kind);

/* Allocates zeroed state for n_params parameters. */
EmoStatus net_optim_init(NetOptim *o, const NetOptConfig *cfg, size_t n_params, EmoError *err);
void net_optim_free(NetOptim *o); /* safe on a zeroed or freed NetOptim */

/* One step on the model's parameters with its gradients (which may be
 * scaled by clipping). Returns the global gradient norm before clipping. */
float net_optim_step(NetOptim *o, NetModel *m, float lr);

/* The same over plain arrays of o->n floats: tensors (n_tensors entries,
 * kind NET_TENSOR_PARAM ones used) say which ranges decay when
 * cfg.decay_all is 0; tensors may be NULL (everything decays). */
float net_optim_step_arrays(NetOptim *o, float *params, float *grads, const NetTensor *tensors, int n_tensors,
                            float lr);

/* Floats in o->state (2n, 3n with the average). */
size_t net_optim_state_count(const NetOptim *o);

/* The parameter average (n floats), NULL when ema_decay is 0. Before the
 * first step it is all zeros. */
float *net_optim_average(NetOptim *o);

/* Exchanges params (n floats) with the average: called twice, it restores
 * both. No-op without an average. */
void net_optim_swap_average(NetOptim *o, float *params);

#endif /* NET_OPTIM_H */
