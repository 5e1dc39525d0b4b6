/* net_optim.h: optimizers over a model's flat parameter array (PyTorch semantics).
 *
 * SGD (momentum, Nesterov), Adam and AdamW exactly as torch.optim 1.13 with
 * dampening 0 and amsgrad off; L2 weight decay (SGD, Adam: wd*param added to
 * the gradient) or decoupled decay (AdamW: param *= 1 - lr*wd); optional
 * clipping of the global gradient norm (torch.nn.utils.clip_grad_norm_).
 * The learning rate is an argument of every step, so the trainer runs any
 * schedule. The state (first and second moments, or the momentum buffer) is
 * one allocation in the parameter array's layout, exposed for checkpoints. */
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
} NetOptConfig;

typedef struct {
    NetOptConfig cfg;
    size_t n;       /* parameters */
    float *state;   /* (2n): m or the momentum buffer, then v; one allocation */
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

/* Floats in o->state (2n). */
size_t net_optim_state_count(const NetOptim *o);

#endif /* NET_OPTIM_H */
