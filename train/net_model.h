/* net_model.h: the emotion CNN (the article's mini-Xception-like net) for training and inference.
 *
 * The network, exactly torch_ref.py's seed_cnn() for the default config
 * (225,159 parameters), input 1x48x48:
 *   A   conv3x3 valid 1->64 (no bias) -> ReLU -> BN
 *   B   conv3x3 valid 64->64 (no bias) -> ReLU -> BN
 *   per module i (64->128, 128->256):
 *       branch: dw3x3 + pw1x1 -> BN -> ReLU -> dw3x3 + pw1x1 -> BN -> maxpool 3x3/2 pad 1
 *       residual: conv1x1 stride 2 (no bias) -> BN;   out = branch + residual
 *   G   conv3x3 pad 1 -> n_classes (with bias) -> global average pool -> logits
 * Widths, number of modules and classes come from a NetConfig (stored in
 * the model file). Activations are NHWC (see net_layers.h for why).
 *
 * Memory: parameters, gradients and BN running statistics are one
 * allocation each, carved by a tensor table (net_tensor); activations and
 * scratch are one arena planned for max_batch at net_create, so a training
 * step (forward, backward, optimizer) never allocates.
 *
 * A step:   net_forward(m, x, B, 1); net_backward(m, labels, &loss_opts, &loss);
 *           net_optim_step(&opt, m, lr);          (net_optim.h)
 * Inference: net_forward(m, x, B, 0); net_probs(m)   (see NetInferMode).
 *
 * Thread use: OpenMP in the kernels, OpenBLAS's own threads in the GEMMs;
 * net_set_threads() sets both. A model is not safe to use from two threads
 * at once (it holds the activations). */
#ifndef NET_MODEL_H
#define NET_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "emo_model.h"

/* The architecture config is the model file's (formats/emo_model.h). */
typedef EmoModelConfig NetConfig;

typedef struct NetModel NetModel;

/* Batch-norm constants (PyTorch defaults). */
#define NET_BN_MOMENTUM 0.1f
#define NET_BN_EPS 1e-5f

/* Which array a tensor lives in. */
typedef enum { NET_TENSOR_PARAM, NET_TENSOR_BUFFER } NetTensorKind;

/* One entry of the tensor table: a named slice of the parameter array (or
 * of the BN-statistics buffer array). Order = PyTorch's state_dict order for
 * seed_cnn(). 4-D weights are stored HWIO (net_layers.h); torch_shape is
 * PyTorch's OIHW shape, for conversion with net_tensor_from_torch/to_torch. */
typedef struct {
    char name[48];        /* PyTorch name, e.g. "7.branch.0.1.weight" */
    NetTensorKind kind;
    size_t offset, numel; /* in floats, into net_params() or net_buffers() */
    int ndim;
    int torch_shape[4];
    int decay;            /* 1 for conv weights (weight decay applies), 0 for BN and bias */
} NetTensor;

/* The article's network: 1x48x48 input, mean 0 std 1, widths 64,64 /
 * 128,256, 7 FER2013 classes in emo_record.h order. */
void net_config_default(NetConfig *cfg);

/* Builds a model for batches of up to max_batch images: checks the config,
 * plans the shapes, allocates everything. Parameters are zero until
 * net_init_params or net_load. EMO_ERR_ARG on a bad config, EMO_ERR_NOMEM. */
EmoStatus net_create(NetModel **m, const NetConfig *cfg, int max_batch, EmoError *err);
void net_free(NetModel *m); /* NULL is fine */

/* PyTorch's default init: conv weights and biases U(-1/sqrt(fan_in),
 * +1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5)), BN gamma 1 beta 0,
 * running mean 0 var 1. Deterministic in seed. */
void net_init_params(NetModel *m, uint64_t seed);

/* Forward pass of B <= max_batch images x (B,1,H,W), pixel/255 in [0,1];
 * the config's input_mean/std standardization is applied here. train = 1
 * uses batch statistics (and updates the running ones), 0 the running
 * ones. Afterwards net_logits(m) and net_probs(m) hold (B,n_classes). */
void net_forward(NetModel *m, const float *x, int B, int train);

/* How eval-mode forward passes run. FP32 and BF16 take one image per
 * thread through the whole network with each batch norm folded into the
 * conv next to it (net_infer.c); LAYERS is the training code's layer by
 * layer pass over the batch with the running statistics, kept as the
 * reference. FP32 matches LAYERS to fp32 rounding (~1e-6 relative). BF16
 * rounds conv inputs and weights to bfloat16 (8-bit mantissa; sums stay
 * fp32): ~2x faster convs, logits within ~1e-2 relative, needs
 * AVX512_BF16. Widths that are not multiples of 16 always run LAYERS. */
typedef enum { NET_INFER_FP32 = 0, NET_INFER_BF16 = 1, NET_INFER_LAYERS = 2 } NetInferMode;

/* Default NET_INFER_FP32. EMO_ERR_UNSUPPORTED for BF16 on a CPU without
 * AVX512_BF16 (or widths not multiples of 16); the mode is then unchanged. */
EmoStatus net_set_infer_mode(NetModel *m, NetInferMode mode, EmoError *err);
NetInferMode net_infer_mode(const NetModel *m);
/* "fp32", "bf16", "layers" <-> mode; parse returns 0 on an unknown name. */
const char *net_infer_mode_name(NetInferMode mode);
int net_infer_mode_parse(const char *s, NetInferMode *mode);

/* The running-statistics update r = (1-mom)*r + mom*stat of train-mode
 * forwards (default NET_BN_MOMENTUM). Setting 1/(k+1) before the k-th of a
 * series of batches (k from 0) makes the running statistics the plain
 * average over the series: train_bn_recalibrate does that. */
void net_set_bn_momentum(NetModel *m, float momentum);
float net_bn_momentum(const NetModel *m);
/* Conv B's training forward and input gradient by Winograd F(4x4,3x3)
 * (on by default where the widths allow, see net_conv_wino.c); 0 runs the
 * direct GEMMs instead (tests compare the two). */
void net_set_train_winograd(NetModel *m, int on);

/* Loss options (see net_xent_forward_backward in net_layers.h). */
typedef struct {
    const float *class_weights; /* (n_classes) or NULL for all 1 */
    float label_smoothing;      /* 0 = off */
    float focal_gamma;          /* 0 = plain cross-entropy */
} NetLossOpts;

/* Loss of the last forward pass (any mode) against labels (B); fills
 * net_probs. Does not touch gradients. */
float net_loss(NetModel *m, const int *labels, const NetLossOpts *opts);

/* Loss and full backward pass after a train-mode net_forward: gradients
 * (net_grads) are OVERWRITTEN with d loss / d params. Writes the loss to
 * *loss when non-NULL. EMO_ERR_ARG if the last forward was not train mode. */
EmoStatus net_backward(NetModel *m, const int *labels, const NetLossOpts *opts, float *loss, EmoError *err);

const float *net_logits(const NetModel *m); /* (B,n_classes) of the last forward */
const float *net_probs(const NetModel *m);  /* softmax of the logits */

/* The flat arrays (for optimizers and checkpoints) and the tensor table. */
size_t net_param_count(const NetModel *m);
size_t net_buffer_count(const NetModel *m);
float *net_params(NetModel *m);
float *net_grads(NetModel *m);
float *net_buffers(NetModel *m);
int net_tensor_count(const NetModel *m);
const NetTensor *net_tensor(const NetModel *m, int i);
const NetConfig *net_config(const NetModel *m);
int net_max_batch(const NetModel *m);

/* Copies tensor t between a PyTorch-layout array (OIHW, torch_shape) and
 * the model (params or buffers per its kind). */
void net_tensor_from_torch(NetModel *m, int t, const float *src);
void net_tensor_to_torch(const NetModel *m, int t, const float *src_array, float *dst);

/* Approximate FLOPs of one image's forward pass (multiply-add = 2). */
double net_forward_flops(const NetModel *m);

/* Profiling for tuning: when on, forward/backward accumulate wall time per
 * kind of layer (enabling resets the sums); the report is one line
 * "convA=F/Bms convB=... " (forward/backward milliseconds). */
void net_profile_enable(NetModel *m, int on);
void net_profile_report(const NetModel *m, char *buf, size_t n);

/* Sets the OpenMP and OpenBLAS thread counts (n >= 1). */
void net_set_threads(int n);

/* Saves config, parameters and running statistics atomically to path, with
 * an optional opaque extra blob (checkpoint state; NULL/0 for none). */
EmoStatus net_save(const NetModel *m, const char *path, const void *extra, size_t n_extra, EmoError *err);

/* Loads a model file into a new model for batches up to max_batch. When
 * extra is non-NULL, *extra receives the malloc'd extra blob (NULL if none)
 * and *n_extra its size. Errors name the file; EMO_ERR_FORMAT when the
 * arrays do not fit the config. */
EmoStatus net_load(NetModel **m, const char *path, int max_batch, uint8_t **extra, size_t *n_extra, EmoError *err);

#endif /* NET_MODEL_H */
