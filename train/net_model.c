/* net_model.c: builds the network from a NetConfig, runs forward and backward over the layers.
 *
 * Why NHWC (measured with OpenBLAS 0.3.21 on this Zen 4, CPU time, 1 thread,
 * batch 64): conv B as nine shifted NHWC GEMMs per image runs at 86 GFLOP/s
 * with no im2col, while the NCHW route (im2col of 9*64 rows, then a GEMM
 * with K=576, N=64) reaches 70 GFLOP/s in the GEMM alone, plus a 4.5 MB
 * im2col write per image. The 1x1 convs are one GEMM per row block either
 * way (78-83 GFLOP/s), and depthwise conv, BN and pooling vectorize over
 * contiguous channels in NHWC.
 *
 * Why OpenMP row blocks with single-threaded BLAS (net_conv.c) rather than
 * OpenBLAS threading each whole-batch GEMM: side by side on this shared
 * 2-core machine (emotrain --bench, 2 threads, alternating runs), blocks
 * gave 12.4 vs 11.2 and 11.0 vs 9.2 train img/s, 42.9 vs 30.6 and 33.5 vs
 * 28.9 infer img/s: OpenBLAS's static split waits for a core another
 * process holds, the dynamic blocks do not.
 *
 * Eval mode (net_forward(m, x, B, 0), NetInferMode FP32/BF16) runs another
 * path, infer_forward(): one image per thread through the whole network,
 * batch norms folded into the convs, conv B by Winograd, the kernels of
 * net_infer.c. Why not the layer path: inference keeps no activations for a
 * backward pass, so an image's tensors can stay in cache and the batch
 * needs no barrier per layer. Measured numbers are in infer_forward().
 *
 * Memory plan: see the activation arena in plan_arena(). Gradients of
 * activations flow through four scratch buffers S[0..3] of the size of the
 * largest activation (the module outputs' gradients alternate between two of
 * them, the other two hold the branch's intermediate gradients), so backward
 * needs no per-layer gradient tensors. */
#include "net_model.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "emo_record.h"
#include "net_layers.h"

static double now_s(void)
{
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return 0;
#endif
}

/* Times one statement into the section's forward or backward slot. */
#define PROF(m, bwd, sec, ...)                                              \
    do {                                                                   \
        const double pf_t0_ = (m)->profile ? now_s() : 0;                  \
        __VA_ARGS__;                                                       \
        if ((m)->profile) ((bwd) ? (m)->pf_bwd : (m)->pf_fwd)[sec] += now_s() - pf_t0_; \
    } while (0)

#define NET_MAX_BN (2 + 3 * EMO_MODEL_MAX_MODULES)
#define NET_MAX_TENSORS (8 + 11 * EMO_MODEL_MAX_MODULES + 2 * NET_MAX_BN)

/* One separable residual module. Dims: input (B,H,W,cin), output (B,Ho,Wo,cout). */
typedef struct {
    int cin, cout, H, W, Ho, Wo;
    int t_dw1, t_pw1, t_bn1g, t_bn1b, t_dw2, t_pw2, t_bn2g, t_bn2b, t_res, t_rbng, t_rbnb; /* tensor indices */
    int bn1, bn2, rbn;                                                                      /* NetBN indices */
    float *dw1;  /* (B,H,W,cin)   depthwise 1 output */
    float *pw1;  /* (B,H,W,cout)  pointwise 1 output (BN1 input) */
    float *r1;   /* (B,H,W,cout)  ReLU(BN1) */
    float *dw2;  /* (B,H,W,cout)  depthwise 2 output */
    float *pw2;  /* (B,H,W,cout)  pointwise 2 output (BN2 input) */
    int *argmax; /* (B,Ho,Wo,cout) max-pool argmax */
    float *res;  /* (B,Ho,Wo,cout) shortcut conv output (its BN's input) */
    float *out;  /* (B,Ho,Wo,cout) maxpool(BN2) + BN(res) */
    /* Eval-mode copies with each BN folded into the conv before it (infer_fold):
     * weight * a (per output channel), bias b; and the same packed as bf16. */
    float *f_pw1, *f_b1; /* (cin,cout), (cout)  pw1 with BN1 */
    float *f_pw2, *f_b2; /* (cout,cout), (cout) pw2 with BN2 */
    float *f_res, *f_br; /* (cin,cout), (cout)  shortcut with its BN */
    uint16_t *h_pw1, *h_pw2, *h_res; /* net_pack_bf16 of the three */
} NetModule;

/* A batch-norm layer's saved batch statistics and running-stat tensors. */
typedef struct {
    int C;
    int t_mean, t_var; /* tensor indices of running mean/var */
    float *mean;       /* (C) batch mean of the last train forward */
    float *invstd;     /* (C) 1/sqrt(batch var + eps) */
    float *a, *b;      /* (C) the affine map y = a*x + b of the last forward (fused consumers,
                          a fused ReLU's backward); b = a + C */
    float *coef;       /* (3*C) net_bn_backward_sums' coefficients for the second half */
} NetBN;

/* Profiling sections (net_profile_*): wall time per kind of layer. */
enum { PF_INPUT, PF_CONV_A, PF_CONV_B, PF_DW, PF_PW, PF_BN, PF_POOL, PF_RES, PF_HEAD, PF_LOSS, PF_COUNT };
static const char *const pf_names[PF_COUNT] = {"input", "convA", "convB", "dwconv", "pwconv", "bn",
                                               "pool",  "res",   "head",  "loss"};

struct NetModel {
    NetConfig cfg;
    int profile;                 /* 1: accumulate pf_fwd/pf_bwd */
    double pf_fwd[PF_COUNT], pf_bwd[PF_COUNT];
    int max_batch, B, last_train;
    NetInferMode infer_mode;     /* how eval-mode forwards run (net_set_infer_mode) */
    float bn_momentum;           /* running-statistics update of train-mode forwards */
    int infer_ok;                /* the per-image kernels fit this config (widths % 16 == 0) */
    /* dims: input (H0,W0,1) -> A (H1,W1,Ca) -> B (H2,W2,Cb) -> modules -> G input (Hg,Wg,Cg) -> K */
    int H0, W0, Ca, H1, W1, Cb, H2, W2, Hg, Wg, Cg, K;
    int n_modules;
    NetModule mod[EMO_MODEL_MAX_MODULES];
    NetBN bn[NET_MAX_BN];
    int n_bn, bnA, bnB;
    int tA, tbnAg, tbnAb, tB, tbnBg, tbnBb, tG, tGb;
    NetTensor tensors[NET_MAX_TENSORS];
    int n_tensors;
    size_t n_params, n_buffers;
    float *params, *grads, *buffers; /* one allocation each */
    unsigned char *arena;            /* activations + scratch, planned for max_batch */
    float *x;      /* (B,H0,W0)     standardized input */
    float *a_conv; /* (B,H1,W1,Ca)  ReLU(conv A) */
    float *a_bn;   /* (B,H1,W1,Ca)  BN A output */
    float *b_relu; /* (B,H2,W2,Cb)  ReLU(conv B) */
    float *b_bn;   /* (B,H2,W2,Cb)  BN B output = module 0 input */
    float *g_S;    /* (B,9,Cg)      the head's window means (net_head_forward) */
    float *logits; /* (B,K) */
    float *probs;  /* (B,K) */
    float *dlogits;/* (B,K) */
    float *S[4];   /* scratch, s_elems floats each */
    size_t s_elems;
    double *red;   /* reduction scratch, NET_RED_DOUBLES(max channels) */
    float *wpart;  /* per-block weight gradients, NET_WPART_FLOATS(largest weight, max_batch) */
    float *pwscr;  /* the fused BN gradients of the 1x1 backward, NET_GEMM_CHUNKS * NET_PW_SUB * largest width */
    uint16_t *h_B; /* (3,3,Ca/2,Cb,2) conv B weights as bf16 pairs (eval mode, bf16) */
    int wino_rows;  /* eval mode: conv B by Winograd F(2x2,3x3), this many tile rows at a time (0 = direct) */
    int wino4_rows; /* the same for F(4x4,3x3) (fp32 mode only; 0 = not possible) */
    float *wU;      /* (16 or 36,Ca,Cb) conv B's Winograd weights of the last fold or train forward */
    /* Training's conv B by Winograd F(4x4,3x3) (net_conv_wino.c): the
     * forward takes wino4_rows tile rows at a time, the input gradient
     * wino_bwd_rows (0 = direct GEMMs); net_set_train_winograd turns both off. */
    int wino_train, wino_bwd_rows;
    int wino_dw_rows; /* the same for the weight gradient (0 = direct GEMMs: output not in whole 4x4 tiles) */
    float *wflip;   /* (3,3,Cb,Ca) conv B's weights turned and transposed */
    float *wUt;     /* (36,Cb,Ca) their Winograd weights */
    uint16_t *wUh;  /* (16,Ca/2,Cb,2) the F(2x2,3x3) ones as bf16 pairs */
};

/*-*** Config ***/

void net_config_default(NetConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->input_c = 1;
    cfg->input_h = cfg->input_w = 48;
    cfg->input_mean = 0.0f;
    cfg->input_std = 1.0f;
    cfg->stem_width[0] = cfg->stem_width[1] = 64;
    cfg->n_modules = 2;
    cfg->module_width[0] = 128;
    cfg->module_width[1] = 256;
    cfg->n_classes = EMO_NUM_CLASSES;
    for (int i = 0; i < EMO_NUM_CLASSES; i++)
        snprintf(cfg->class_names[i], EMO_MODEL_CLASS_NAME_MAX, "%s", emo_class_name(i));
}

/*-*** Tensor table ***/

static int add_tensor(NetModel *m, NetTensorKind kind, int decay, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int add_tensor(NetModel *m, NetTensorKind kind, int decay, int ndim, const int *shape, const char *fmt, ...)
{
    NetTensor *t = &m->tensors[m->n_tensors];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->kind = kind;
    t->decay = decay;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < 4; i++) {
        t->torch_shape[i] = i < ndim ? shape[i] : 1;
        t->numel *= (size_t)t->torch_shape[i];
    }
    size_t *count = kind == NET_TENSOR_PARAM ? &m->n_params : &m->n_buffers;
    t->offset = *count;
    *count += t->numel;
    return m->n_tensors++;
}

static int add_conv(NetModel *m, int cout, int cin, int k, const char *name)
{
    return add_tensor(m, NET_TENSOR_PARAM, 1, 4, (const int[]){cout, cin, k, k}, "%s.weight", name);
}

/* A BN layer: weight, bias (params) and running mean/var (buffers). */
static int add_bn(NetModel *m, int C, const char *name, int *tg, int *tb)
{
    *tg = add_tensor(m, NET_TENSOR_PARAM, 0, 1, &C, "%s.weight", name);
    *tb = add_tensor(m, NET_TENSOR_PARAM, 0, 1, &C, "%s.bias", name);
    NetBN *bn = &m->bn[m->n_bn];
    bn->C = C;
    bn->t_mean = add_tensor(m, NET_TENSOR_BUFFER, 0, 1, &C, "%s.running_mean", name);
    bn->t_var = add_tensor(m, NET_TENSOR_BUFFER, 0, 1, &C, "%s.running_var", name);
    return m->n_bn++;
}

/* Names follow PyTorch's seed_cnn() Sequential indices, so a state_dict
 * maps one to one: 0 conv A, 2 BN A, 3 conv B, 5 BN B, 6.. modules, then G. */
static void build_tensors(NetModel *m)
{
    char name[32];
    m->tA = add_conv(m, m->Ca, 1, 3, "0");
    m->bnA = add_bn(m, m->Ca, "2", &m->tbnAg, &m->tbnAb);
    m->tB = add_conv(m, m->Cb, m->Ca, 3, "3");
    m->bnB = add_bn(m, m->Cb, "5", &m->tbnBg, &m->tbnBb);
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        const int mi = 6 + i;
        snprintf(name, sizeof name, "%d.branch.0.0", mi);
        d->t_dw1 = add_conv(m, d->cin, 1, 3, name);
        snprintf(name, sizeof name, "%d.branch.0.1", mi);
        d->t_pw1 = add_conv(m, d->cout, d->cin, 1, name);
        snprintf(name, sizeof name, "%d.branch.1", mi);
        d->bn1 = add_bn(m, d->cout, name, &d->t_bn1g, &d->t_bn1b);
        snprintf(name, sizeof name, "%d.branch.3.0", mi);
        d->t_dw2 = add_conv(m, d->cout, 1, 3, name);
        snprintf(name, sizeof name, "%d.branch.3.1", mi);
        d->t_pw2 = add_conv(m, d->cout, d->cout, 1, name);
        snprintf(name, sizeof name, "%d.branch.4", mi);
        d->bn2 = add_bn(m, d->cout, name, &d->t_bn2g, &d->t_bn2b);
        snprintf(name, sizeof name, "%d.res.0", mi);
        d->t_res = add_conv(m, d->cout, d->cin, 1, name);
        snprintf(name, sizeof name, "%d.res.1", mi);
        d->rbn = add_bn(m, d->cout, name, &d->t_rbng, &d->t_rbnb);
    }
    snprintf(name, sizeof name, "%d", 6 + m->n_modules);
    m->tG = add_conv(m, m->K, m->Cg, 3, name);
    m->tGb = add_tensor(m, NET_TENSOR_PARAM, 0, 1, &m->K, "%s.bias", name);
}

/*-*** Activation arena ***/

/* Carves the arena (base == NULL: only measures). 64-byte alignment keeps
 * every tensor on its own cache lines and AVX-512 aligned. */
static size_t plan_arena(NetModel *m, unsigned char *base)
{
    size_t off = 0;
#define TAKE(ptr, type, count)                                                \
    do {                                                                      \
        size_t bytes_ = ((size_t)(count) * sizeof(type) + 63) & ~(size_t)63; \
        ptr = base ? (type *)(void *)(base + off) : NULL;                     \
        off += bytes_;                                                        \
    } while (0)
    const size_t B = (size_t)m->max_batch;
    TAKE(m->x, float, B * m->H0 * m->W0);
    TAKE(m->a_conv, float, B * m->H1 * m->W1 * m->Ca);
    TAKE(m->a_bn, float, B * m->H1 * m->W1 * m->Ca);
    TAKE(m->b_relu, float, B * m->H2 * m->W2 * m->Cb);
    TAKE(m->b_bn, float, B * m->H2 * m->W2 * m->Cb);
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        const size_t in = B * d->H * d->W * d->cin, mid = B * d->H * d->W * d->cout, o = B * d->Ho * d->Wo * d->cout;
        TAKE(d->dw1, float, in);
        TAKE(d->pw1, float, mid);
        TAKE(d->r1, float, mid);
        TAKE(d->dw2, float, mid);
        TAKE(d->pw2, float, mid);
        TAKE(d->argmax, int, o);
        TAKE(d->res, float, o);
        TAKE(d->out, float, o);
    }
    TAKE(m->g_S, float, B * 9 * m->Cg);
    TAKE(m->logits, float, B * m->K);
    TAKE(m->probs, float, B * m->K);
    TAKE(m->dlogits, float, B * m->K);
    int cmax = m->K > m->Cb ? m->K : m->Cb;
    cmax = m->Ca > cmax ? m->Ca : cmax;
    for (int i = 0; i < m->n_bn; i++) {
        TAKE(m->bn[i].mean, float, m->bn[i].C);
        TAKE(m->bn[i].invstd, float, m->bn[i].C);
        TAKE(m->bn[i].a, float, 2 * (size_t)m->bn[i].C);
        m->bn[i].b = base ? m->bn[i].a + m->bn[i].C : NULL;
        TAKE(m->bn[i].coef, float, 3 * (size_t)m->bn[i].C);
        cmax = m->bn[i].C > cmax ? m->bn[i].C : cmax;
    }
    TAKE(m->red, double, NET_RED_DOUBLES(cmax));
    size_t wmax = (size_t)9 * (size_t)(m->Ca * m->Cb > m->Cg * m->K ? m->Ca * m->Cb : m->Cg * m->K);
    for (int i = 0; i < m->n_modules; i++) {
        const size_t w1 = (size_t)m->mod[i].cin * m->mod[i].cout, w2 = (size_t)m->mod[i].cout * m->mod[i].cout;
        wmax = w1 > wmax ? w1 : wmax;
        wmax = w2 > wmax ? w2 : wmax;
    }
    TAKE(m->wpart, float, NET_WPART_FLOATS(wmax, m->max_batch));
    int pwc = 0;
    for (int i = 0; i < m->n_modules; i++) pwc = m->mod[i].cout > pwc ? m->mod[i].cout : pwc;
    TAKE(m->pwscr, float, (size_t)NET_GEMM_CHUNKS * NET_PW_SUB * pwc);
    for (int i = 0; i < 4; i++) TAKE(m->S[i], float, m->s_elems);
    /* eval-mode folded weights (infer_fold) */
    TAKE(m->h_B, uint16_t, (size_t)9 * m->Ca * m->Cb);
    TAKE(m->wU, float, (size_t)36 * m->Ca * m->Cb);
    TAKE(m->wUh, uint16_t, (size_t)16 * m->Ca * m->Cb);
    TAKE(m->wflip, float, (size_t)9 * m->Ca * m->Cb);
    TAKE(m->wUt, float, (size_t)36 * m->Ca * m->Cb);
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        const size_t w1 = (size_t)d->cin * d->cout, w2 = (size_t)d->cout * d->cout;
        TAKE(d->f_pw1, float, w1);
        TAKE(d->f_b1, float, d->cout);
        TAKE(d->f_pw2, float, w2);
        TAKE(d->f_b2, float, d->cout);
        TAKE(d->f_res, float, w1);
        TAKE(d->f_br, float, d->cout);
        TAKE(d->h_pw1, uint16_t, w1);
        TAKE(d->h_pw2, uint16_t, w2);
        TAKE(d->h_res, uint16_t, w1);
    }
#undef TAKE
    return off;
}

/* The Winograd transforms take 16 channels per vector. */
static int wino_widths_ok(const NetModel *m) { return m->Ca % 16 == 0 && m->Cb % 16 == 0; }

/* The largest tensor any scratch buffer must hold (see net_backward). */
static size_t scratch_elems(const NetModel *m)
{
    size_t s = (size_t)m->H1 * m->W1 * (m->Ca > m->Cb ? m->Ca : m->Cb); /* conv B full rows, dA */
    for (int i = 0; i < m->n_modules; i++) {
        const NetModule *d = &m->mod[i];
        const size_t c = (size_t)(d->cin > d->cout ? d->cin : d->cout);
        s = (size_t)d->H * d->W * c > s ? (size_t)d->H * d->W * c : s;
    }
    const size_t g = (size_t)(m->Hg + 2) * (m->Wg + 2) * (m->Cg > m->K ? m->Cg : m->K);
    s = g > s ? g : s;
    if (wino_widths_ok(m)) { /* conv B's Winograd input gradient: the framed gradient, one tile row */
        const size_t f = net_wino_frame_elems(m->H1, m->W1, m->Cb);
        const size_t v = (size_t)72 * ((m->W1 + 3) / 4) * (m->Ca > m->Cb ? m->Ca : m->Cb);
        s = f > s ? f : s;
        s = v > s ? v : s;
    }
    return s * (size_t)m->max_batch;
}

/*-*** Create / free ***/

EmoStatus net_create(NetModel **out, const NetConfig *cfg, int max_batch, EmoError *err)
{
    *out = NULL;
    EmoError e;
    if (emo_model_config_check(cfg, "network config", &e) != EMO_OK)
        return emo_error_set(err, EMO_ERR_ARG, "%s", e.msg);
    if (max_batch < 1 || max_batch > 65536)
        return emo_error_set(err, EMO_ERR_ARG, "network config: max batch %d out of range 1..65536", max_batch);
    NetModel *m = calloc(1, sizeof *m);
    if (!m) return emo_error_set(err, EMO_ERR_NOMEM, "network: out of memory");
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->H0 = (int)cfg->input_h;
    m->W0 = (int)cfg->input_w;
    m->Ca = (int)cfg->stem_width[0];
    m->Cb = (int)cfg->stem_width[1];
    m->H1 = m->H0 - 2;
    m->W1 = m->W0 - 2;
    m->H2 = m->H1 - 2;
    m->W2 = m->W1 - 2;
    m->n_modules = (int)cfg->n_modules;
    m->K = (int)cfg->n_classes;
    int H = m->H2, W = m->W2, C = m->Cb;
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        d->cin = C;
        d->cout = (int)cfg->module_width[i];
        d->H = H;
        d->W = W;
        d->Ho = (H - 1) / 2 + 1;
        d->Wo = (W - 1) / 2 + 1;
        H = d->Ho;
        W = d->Wo;
        C = d->cout;
    }
    m->Hg = H;
    m->Wg = W;
    m->Cg = C;
    m->infer_mode = NET_INFER_FP32;
    m->bn_momentum = NET_BN_MOMENTUM;
    m->infer_ok = m->Ca % 16 == 0 && m->Cb % 16 == 0;
    for (int i = 0; i < m->n_modules; i++) m->infer_ok &= m->mod[i].cout % 16 == 0;
    build_tensors(m);
    m->s_elems = scratch_elems(m);
    /* Winograd for conv B needs an even output size; a chunk of tile rows
     * takes V + its bf16 copy (24*T*Ca floats) in one scratch slice and the
     * products (16*T*Cb) in another. 3 rows (66 tiles at 44x44: 270 KB
     * each) stay in L2. */
    const size_t s_img = m->s_elems / (size_t)max_batch, cmx = (size_t)(m->Ca > m->Cb ? m->Ca : m->Cb);
    if (m->H2 % 2 == 0 && m->W2 % 2 == 0)
        for (int r = 3 < m->H2 / 2 ? 3 : m->H2 / 2; r >= 1 && !m->wino_rows; r--)
            if ((size_t)24 * r * (m->W2 / 2) * cmx <= s_img) m->wino_rows = r;
    /* F(4x4,3x3): 6 rows of 11 tiles at 44x44 = 608 KB of V and of products
     * (L2 + L3; each of the 36 GEMMs touches only 1/36 of them). */
    if (m->H2 % 4 == 0 && m->W2 % 4 == 0)
        for (int r = 6 < m->H2 / 4 ? 6 : m->H2 / 4; r >= 1 && !m->wino4_rows; r--)
            if ((size_t)36 * r * (m->W2 / 4) * cmx <= s_img) m->wino4_rows = r;
    if (!wino_widths_ok(m)) m->wino4_rows = 0;
    /* Training's input gradient of conv B: V and the products of a chunk
     * of tile rows in one slice (4 rows of 12 tiles at 46x46: 432 KB each). */
    if (wino_widths_ok(m))
        for (int r = 4 < (m->H1 + 3) / 4 ? 4 : (m->H1 + 3) / 4; r >= 1 && !m->wino_bwd_rows; r--)
            if ((size_t)72 * r * ((m->W1 + 3) / 4) * cmx <= s_img) m->wino_bwd_rows = r;
    /* Its weight gradient: V (Ca) in one slice, the transformed gradient
     * (Cb) and the 36 products (Ca x Cb) in the other. */
    if (m->wino_bwd_rows && m->H2 % 4 == 0 && m->W2 % 4 == 0)
        for (int r = 6 < m->H2 / 4 ? 6 : m->H2 / 4; r >= 1 && !m->wino_dw_rows; r--)
            if ((size_t)36 * r * (m->W2 / 4) * m->Ca <= s_img &&
                (size_t)36 * r * (m->W2 / 4) * m->Cb + (size_t)36 * m->Ca * m->Cb <= s_img)
                m->wino_dw_rows = r;
    m->wino_train = 1;
    size_t bytes = plan_arena(m, NULL);
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->buffers = calloc(m->n_buffers, sizeof(float));
    m->arena = aligned_alloc(64, bytes);
    if (!m->params || !m->grads || !m->buffers || !m->arena) {
        net_free(m);
        return emo_error_set(err, EMO_ERR_NOMEM, "network: out of memory (%zu MB of activations for batch %d)",
                             bytes >> 20, max_batch);
    }
    plan_arena(m, m->arena);
    *out = m;
    return EMO_OK;
}

void net_free(NetModel *m)
{
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->buffers);
    free(m->arena);
    free(m);
}

/*-*** Init ***/

/* splitmix64: a tiny seeded generator, state passed explicitly. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void net_init_params(NetModel *m, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < m->n_tensors; i++) {
        const NetTensor *t = &m->tensors[i];
        float *p = (t->kind == NET_TENSOR_PARAM ? m->params : m->buffers) + t->offset;
        if (t->ndim == 4 || i == m->tGb) {
            /* fan_in of G's bias is that of G's weight. */
            const int *sh = t->ndim == 4 ? t->torch_shape : m->tensors[m->tG].torch_shape;
            const double bound = 1.0 / sqrt((double)sh[1] * sh[2] * sh[3]);
            for (size_t k = 0; k < t->numel; k++) {
                const double u = (double)(splitmix64(&s) >> 40) / (double)(1ull << 24);
                p[k] = (float)((2.0 * u - 1.0) * bound);
            }
        } else {
            const float v = strstr(t->name, ".weight") || strstr(t->name, ".running_var") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->numel; k++) p[k] = v;
        }
    }
}

/*-*** Forward ***/

static float *P(NetModel *m, int t) { return m->params + m->tensors[t].offset; }
static float *G(NetModel *m, int t) { return m->grads + m->tensors[t].offset; }
static float *BUF(NetModel *m, int t) { return m->buffers + m->tensors[t].offset; }

/* nparts: see net_bn_forward_train (statistics left in m->red by the producer). */
static void bn_fwd(NetModel *m, int bi, int tg, int tb, float *out, const float *in, size_t R, int relu, int train,
                   int nparts)
{
    NetBN *bn = &m->bn[bi];
    if (train)
        net_bn_forward_train(out, bn->a, bn->mean, bn->invstd, BUF(m, bn->t_mean), BUF(m, bn->t_var), in, P(m, tg),
                             P(m, tb), R, bn->C, m->bn_momentum, NET_BN_EPS, relu, nparts, m->red);
    else
        net_bn_forward_eval(out, in, P(m, tg), P(m, tb), BUF(m, bn->t_mean), BUF(m, bn->t_var), R, bn->C,
                            NET_BN_EPS, relu, m->red);
}

/* The BN's affine map into bn->a, bn->b (train: batch stats, updating the
 * running ones; eval: running stats), for a consumer that applies it. */
static void bn_affine(NetModel *m, int bi, int tg, int tb, const float *in, size_t R, int train, int nparts)
{
    NetBN *bn = &m->bn[bi];
    if (train)
        net_bn_stats_train(bn->a, bn->b, bn->mean, bn->invstd, BUF(m, bn->t_mean), BUF(m, bn->t_var), in, P(m, tg),
                           P(m, tb), R, bn->C, m->bn_momentum, NET_BN_EPS, nparts, m->red);
    else
        net_bn_affine_eval(bn->a, bn->b, P(m, tg), P(m, tb), BUF(m, bn->t_mean), BUF(m, bn->t_var), bn->C,
                           NET_BN_EPS);
}

static void softmax_rows(float *probs, const float *logits, int B, int K)
{
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K;
        double zmax = z[0], s = 0;
        for (int c = 1; c < K; c++) zmax = z[c] > zmax ? z[c] : zmax;
        for (int c = 0; c < K; c++) s += exp(z[c] - zmax);
        for (int c = 0; c < K; c++) probs[(size_t)i * K + c] = (float)(exp(z[c] - zmax) / s);
    }
}

/*-*** Eval-mode forward: per image, batch norms folded (net_infer.c) ***/

/* Eval-mode BN is a fixed per-channel affine map y = a*x + b, so a BN right
 * after a conv is the same conv with weights w*a (per output channel) and
 * bias b: BN1 into pw1, BN2 into pw2 (the max-pool then sees the same
 * values), the shortcut's BN into the shortcut. BN A and BN B follow a
 * ReLU and go into their conv's epilogue instead (exact, and free: the
 * epilogue touches each output once anyway). Folding runs on every
 * eval-mode forward: parameters are written in place through net_params()
 * (optimizer, checkpoint load, tests), so a cached fold could go stale, and
 * 225k multiplies (plus packing for bf16) are ~0.1 ms. */
static void bn_eval_map(NetModel *m, int bi, int tg, int tb)
{
    NetBN *bn = &m->bn[bi];
    net_bn_affine_eval(bn->a, bn->b, P(m, tg), P(m, tb), BUF(m, bn->t_mean), BUF(m, bn->t_var), bn->C, NET_BN_EPS);
}

/* w (K,N) * a[n] -> fw; b -> fb. */
static void fold_cols(float *fw, float *fb, const float *w, const float *a, const float *b, int K, int N)
{
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) fw[(size_t)k * N + n] = w[(size_t)k * N + n] * a[n];
    memcpy(fb, b, (size_t)N * sizeof *fb);
}

static void infer_fold(NetModel *m, int bf16)
{
    bn_eval_map(m, m->bnA, m->tbnAg, m->tbnAb);
    bn_eval_map(m, m->bnB, m->tbnBg, m->tbnBb);
    if (!bf16 && m->wino4_rows) {
        net_wino4_weights(m->wU, P(m, m->tB), m->Ca, m->Cb);
    } else if (m->wino_rows) {
        net_wino_weights(m->wU, P(m, m->tB), m->Ca, m->Cb);
        if (bf16) net_pack_bf16(m->wUh, m->wU, 16, m->Ca, m->Cb);
    } else if (bf16) {
        net_pack_bf16(m->h_B, P(m, m->tB), 9, m->Ca, m->Cb);
    }
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        bn_eval_map(m, d->bn1, d->t_bn1g, d->t_bn1b);
        bn_eval_map(m, d->bn2, d->t_bn2g, d->t_bn2b);
        bn_eval_map(m, d->rbn, d->t_rbng, d->t_rbnb);
        fold_cols(d->f_pw1, d->f_b1, P(m, d->t_pw1), m->bn[d->bn1].a, m->bn[d->bn1].b, d->cin, d->cout);
        fold_cols(d->f_pw2, d->f_b2, P(m, d->t_pw2), m->bn[d->bn2].a, m->bn[d->bn2].b, d->cout, d->cout);
        fold_cols(d->f_res, d->f_br, P(m, d->t_res), m->bn[d->rbn].a, m->bn[d->rbn].b, d->cin, d->cout);
        if (bf16) {
            net_pack_bf16(d->h_pw1, d->f_pw1, 1, d->cin, d->cout);
            net_pack_bf16(d->h_pw2, d->f_pw2, 1, d->cout, d->cout);
            net_pack_bf16(d->h_res, d->f_res, 1, d->cin, d->cout);
        }
    }
}

/* Times one statement into pf[sec] when profiling (per-image sums). */
#define IPROF(m, pf, sec, ...)                                   \
    do {                                                         \
        const double ip_t0_ = (m)->profile ? now_s() : 0;        \
        __VA_ARGS__;                                             \
        if ((m)->profile) (pf)[sec] += now_s() - ip_t0_;         \
    } while (0)

/* A batch smaller than the thread count runs its images one after the other
 * with each layer's rows split over the threads instead ("par"): whole
 * rows of the NetEpilogue grid per chunk, so that each chunk's row mapping
 * starts at a row; 4 chunks per thread, dynamic, as the GEMM blocks of the
 * training path. */
static int par_chunks(int rows)
{
#ifdef _OPENMP
    const int n = 4 * omp_get_max_threads();
#else
    const int n = 1;
#endif
    return rows < n ? rows : n;
}

static void iconv(float *out, const void *A, const void *Wt, const int *off, int nt, int M, int K, int N,
                  const NetEpilogue *ep, int bf16, int par)
{
    if (!par) {
        if (bf16)
            net_iconv_bf16(out, A, Wt, off, nt, M, K, N, ep);
        else
            net_iconv_f32(out, A, Wt, off, nt, M, K, N, ep);
        return;
    }
    const int rows = (M + ep->wf - 1) / ep->wf, nch = par_chunks(rows);
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < nch; j++) {
        const int r0 = (int)((long)rows * j / nch), r1 = (int)((long)rows * (j + 1) / nch);
        const int p0 = r0 * ep->wf, p1 = r1 * ep->wf < M ? r1 * ep->wf : M;
        if (p1 <= p0) continue;
        float *o = out + (size_t)r0 * ep->wv * N;
        if (bf16)
            net_iconv_bf16(o, (const uint16_t *)A + (size_t)p0 * K, Wt, off, nt, p1 - p0, K, N, ep);
        else
            net_iconv_f32(o, (const float *)A + (size_t)p0 * K, Wt, off, nt, p1 - p0, K, N, ep);
    }
}

static void dwconv(void *out, const float *in, const float *w, int H, int W, int C, int bf16, int par)
{
    const int nch = par ? par_chunks(H) : 1;
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int j = 0; j < nch; j++) {
        const int y0 = (int)((long)H * j / nch), y1 = (int)((long)H * (j + 1) / nch);
        if (bf16)
            net_dw3x3_image_bf16(out, in, w, H, W, C, y0, y1);
        else
            net_dw3x3_image(out, in, w, H, W, C, y0, y1);
    }
}

/* Conv B (then ReLU, BN B) of image n by Winograd, F(4x4,3x3) in fp32 when
 * the size allows, else F(2x2,3x3), a few tile rows at a time: input
 * transform, 36 or 16 GEMMs (tiles x Ca) x (Ca x Cb), output transform with
 * the epilogue. a (H1,W1,Ca) -> b (H2,W2,Cb). */
static void infer_conv_b_winograd(NetModel *m, const float *a, float *b, int n, int bf16, int par)
{
    (void)par; /* only in OpenMP if clauses */
    const size_t s_img = m->s_elems / (size_t)m->max_batch;
    const int f4 = !bf16 && m->wino4_rows, tile = f4 ? 4 : 2, ne = f4 ? 36 : 16;
    const int rows = f4 ? m->wino4_rows : m->wino_rows;
    const int ntx = m->W2 / tile, nty = m->H2 / tile, Ca = m->Ca, Cb = m->Cb;
    float *V = m->S[0] + n * s_img, *Mt = m->S[3] + n * s_img;
    static const int off0[1] = {0};
    const NetEpilogue plain = {.wf = 1, .wv = 1};
    for (int ty0 = 0; ty0 < nty; ty0 += rows) {
        const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
        if (f4) {
            net_wino4_input(V, a, m->W1, Ca, ty0, nr, ntx);
#pragma omp parallel for schedule(dynamic, 1) if (par)
            for (int e = 0; e < ne; e++)
                net_iconv_f32(Mt + (size_t)e * T * Cb, V + (size_t)e * T * Ca, m->wU + (size_t)e * Ca * Cb, off0, 1,
                              T, Ca, Cb, &plain);
            net_wino4_output(b, Mt, m->bn[m->bnB].a, m->bn[m->bnB].b, m->W2, Cb, ty0, nr, ntx);
            continue;
        }
        net_wino_input(V, a, m->W1, Ca, ty0, nr, ntx);
        if (bf16) {
            uint16_t *Vh = (uint16_t *)(void *)(V + (size_t)16 * T * Ca);
            net_to_bf16(Vh, V, (size_t)16 * T * Ca);
#pragma omp parallel for schedule(dynamic, 1) if (par)
            for (int e = 0; e < 16; e++)
                net_iconv_bf16(Mt + (size_t)e * T * Cb, Vh + (size_t)e * T * Ca, m->wUh + (size_t)e * Ca * Cb, off0, 1,
                               T, Ca, Cb, &plain);
        } else {
#pragma omp parallel for schedule(dynamic, 1) if (par)
            for (int e = 0; e < 16; e++)
                net_iconv_f32(Mt + (size_t)e * T * Cb, V + (size_t)e * T * Ca, m->wU + (size_t)e * Ca * Cb, off0, 1,
                              T, Ca, Cb, &plain);
        }
        net_wino_output(b, Mt, m->bn[m->bnB].a, m->bn[m->bnB].b, m->W2, Cb, ty0, nr, ntx);
    }
}

/* Image n of the batch through the whole network on the calling thread. Its
 * tensors are slot `slot`'s slices of the batch arena (the layer path's
 * buffers), so any number of threads can run images at once, each in its
 * own slot. A thread reuses one slot for all its images rather than taking
 * image n's: its ~4 MB of activations then stay warm in its core's L2
 * instead of every image writing fresh memory. bf16 tensors are stored in
 * the float buffers (they take half the room). */
static void infer_image(NetModel *m, const float *x, int n, int slot, int bf16, int par, double *pf)
{
    const size_t hw0 = (size_t)m->H0 * m->W0, hw1 = (size_t)m->H1 * m->W1, hw2 = (size_t)m->H2 * m->W2;
    const size_t s_img = m->s_elems / (size_t)m->max_batch;
    float *xs = m->x + slot * hw0;
    const float mean = m->cfg.input_mean, inv = 1.0f / m->cfg.input_std;
    IPROF(m, pf, PF_INPUT, for (size_t i = 0; i < hw0; i++) xs[i] = (x[n * hw0 + i] - mean) * inv);

    float *a = m->a_conv + slot * hw1 * m->Ca; /* ReLU(conv A) then BN A: conv B's input */
    IPROF(m, pf, PF_CONV_A,
          net_conv3x3c1_image(a, xs, P(m, m->tA), m->bn[m->bnA].a, m->bn[m->bnA].b, m->H0, m->W0, m->Ca));
    /* conv B over full-width rows (see NetEpilogue), then ReLU, BN B */
    int offB[9];
    for (int t = 0; t < 9; t++) offB[t] = (t / 3) * m->W1 + t % 3;
    const NetEpilogue epB = {.relu = 1, .sa = m->bn[m->bnB].a, .sb = m->bn[m->bnB].b, .wf = m->W1, .wv = m->W2};
    float *b = m->b_bn + slot * hw2 * m->Cb;
    const int MB = (int)hw1 - 2 * m->W1 - 2;
    IPROF(m, pf, PF_CONV_B, {
        if (m->wino_rows || (!bf16 && m->wino4_rows)) {
            infer_conv_b_winograd(m, a, b, slot, bf16, par);
        } else if (bf16) {
            uint16_t *ah = (uint16_t *)(void *)(m->a_bn + slot * hw1 * m->Ca);
            net_to_bf16(ah, a, hw1 * m->Ca);
            iconv(b, ah, m->h_B, offB, 9, MB, m->Ca, m->Cb, &epB, 1, par);
        } else {
            iconv(b, a, P(m, m->tB), offB, 9, MB, m->Ca, m->Cb, &epB, 0, par);
        }
    });

    const float *cur = b;
    static const int off0[1] = {0};
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        const int H = d->H, W = d->W, ci = d->cin, co = d->cout;
        const size_t hw = (size_t)H * W, hwo = (size_t)d->Ho * d->Wo;
        float *dw1 = d->dw1 + slot * hw * ci, *r1 = d->r1 + slot * hw * co, *dw2 = d->dw2 + slot * hw * co;
        float *pw2 = d->pw2 + slot * hw * co, *res = d->res + slot * hwo * co, *out = d->out + slot * hwo * co;
        float *g = m->S[1] + slot * s_img; /* shortcut input: fp32 gather, then its bf16 copy */
        uint16_t *gh = (uint16_t *)(void *)(g + hwo * ci);
        const NetEpilogue e1 = {.bias = d->f_b1, .relu = 1, .wf = W, .wv = W};
        const NetEpilogue e2 = {.bias = d->f_b2, .wf = W, .wv = W};
        const NetEpilogue er = {.bias = d->f_br, .wf = d->Wo, .wv = d->Wo};
        if (bf16) {
            uint16_t *h1 = (uint16_t *)(void *)dw1, *h2 = (uint16_t *)(void *)dw2;
            IPROF(m, pf, PF_DW, dwconv(h1, cur, P(m, d->t_dw1), H, W, ci, 1, par));
            IPROF(m, pf, PF_PW, iconv(r1, h1, d->h_pw1, off0, 1, (int)hw, ci, co, &e1, 1, par));
            IPROF(m, pf, PF_DW, dwconv(h2, r1, P(m, d->t_dw2), H, W, co, 1, par));
            IPROF(m, pf, PF_PW, iconv(pw2, h2, d->h_pw2, off0, 1, (int)hw, co, co, &e2, 1, par));
            IPROF(m, pf, PF_RES, {
                net_gather_s2_image(g, cur, H, W, ci);
                net_to_bf16(gh, g, hwo * ci);
                iconv(res, gh, d->h_res, off0, 1, (int)hwo, ci, co, &er, 1, par);
            });
        } else {
            IPROF(m, pf, PF_DW, dwconv(dw1, cur, P(m, d->t_dw1), H, W, ci, 0, par));
            IPROF(m, pf, PF_PW, iconv(r1, dw1, d->f_pw1, off0, 1, (int)hw, ci, co, &e1, 0, par));
            IPROF(m, pf, PF_DW, dwconv(dw2, r1, P(m, d->t_dw2), H, W, co, 0, par));
            IPROF(m, pf, PF_PW, iconv(pw2, dw2, d->f_pw2, off0, 1, (int)hw, co, co, &e2, 0, par));
            IPROF(m, pf, PF_RES, {
                net_gather_s2_image(g, cur, H, W, ci);
                iconv(res, g, d->f_res, off0, 1, (int)hwo, ci, co, &er, 0, par);
            });
        }
        IPROF(m, pf, PF_POOL, net_maxpool_add_image(out, pw2, res, H, W, co));
        cur = out;
    }
    IPROF(m, pf, PF_HEAD,
          net_head_gap_image(m->logits + (size_t)n * m->K, cur, P(m, m->tG), P(m, m->tGb), m->S[2] + slot * s_img,
                             m->Hg, m->Wg, m->Cg, m->K));
}

/* Images are independent here, so the batch is split into images (dynamic:
 * a core taken by another process just does fewer of them); a batch
 * smaller than the thread count splits each image's layers instead (par). */
static void infer_forward(NetModel *m, const float *x, int B)
{
    const int bf16 = m->infer_mode == NET_INFER_BF16;
    PROF(m, 0, PF_BN, infer_fold(m, bf16));
#ifdef _OPENMP
    const int par = B < omp_get_max_threads() && !omp_in_parallel();
#else
    const int par = 0;
#endif
#pragma omp parallel for schedule(dynamic, 1) if (!par)
    for (int n = 0; n < B; n++) {
        double pf[PF_COUNT] = {0};
#ifdef _OPENMP
        const int slot = par ? n : omp_get_thread_num(); /* < B <= max_batch when !par */
#else
        const int slot = 0;
#endif
        infer_image(m, x, n, slot, bf16, par, pf);
        if (m->profile) {
#pragma omp critical(net_infer_profile)
            for (int k = 0; k < PF_COUNT; k++) m->pf_fwd[k] += pf[k];
        }
    }
    PROF(m, 0, PF_HEAD, softmax_rows(m->probs, m->logits, B, m->K));
}

EmoStatus net_set_infer_mode(NetModel *m, NetInferMode mode, EmoError *err)
{
    if (mode == NET_INFER_BF16 && !net_cpu_has_bf16())
        return emo_error_set(err, EMO_ERR_UNSUPPORTED, "network: bf16 inference needs a CPU with AVX512_BF16");
    if (mode == NET_INFER_BF16 && !m->infer_ok)
        return emo_error_set(err, EMO_ERR_UNSUPPORTED, "network: bf16 inference needs layer widths that are multiples of 16");
    if (mode != NET_INFER_FP32 && mode != NET_INFER_BF16 && mode != NET_INFER_LAYERS)
        return emo_error_set(err, EMO_ERR_ARG, "network: unknown inference mode %d", (int)mode);
    m->infer_mode = mode;
    return EMO_OK;
}

NetInferMode net_infer_mode(const NetModel *m) { return m->infer_mode; }

void net_set_bn_momentum(NetModel *m, float momentum) { m->bn_momentum = momentum; }
void net_set_train_winograd(NetModel *m, int on) { m->wino_train = on; }
float net_bn_momentum(const NetModel *m) { return m->bn_momentum; }

static const char *const infer_names[] = {"fp32", "bf16", "layers"};

const char *net_infer_mode_name(NetInferMode mode)
{
    return (unsigned)mode < sizeof infer_names / sizeof *infer_names ? infer_names[mode] : "?";
}

int net_infer_mode_parse(const char *s, NetInferMode *mode)
{
    for (int i = 0; i < (int)(sizeof infer_names / sizeof *infer_names); i++)
        if (strcmp(s, infer_names[i]) == 0) {
            *mode = (NetInferMode)i;
            return 1;
        }
    return 0;
}

void net_forward(NetModel *m, const float *x, int B, int train)
{
    m->B = B;
    m->last_train = train;
    if (!train && m->infer_mode != NET_INFER_LAYERS && m->infer_ok) {
        infer_forward(m, x, B);
        return;
    }
    const size_t npix = (size_t)B * m->H0 * m->W0;
    const float mean = m->cfg.input_mean, inv = 1.0f / m->cfg.input_std;
    PROF(m, 0, PF_INPUT, for (size_t i = 0; i < npix; i++) m->x[i] = (x[i] - mean) * inv);

    PROF(m, 0, PF_CONV_A, net_conv3x3c1_forward(m->a_conv, m->x, P(m, m->tA), B, m->H0, m->W0, m->Ca, 1));
    PROF(m, 0, PF_BN, bn_fwd(m, m->bnA, m->tbnAg, m->tbnAb, m->a_bn, m->a_conv, (size_t)B * m->H1 * m->W1, 0, train, 0));
    PROF(m, 0, PF_CONV_B, {
        if (m->wino_train && m->wino4_rows) {
            net_wino4_weights(m->wU, P(m, m->tB), m->Ca, m->Cb);
            net_conv3x3_wino_forward(m->b_relu, m->a_bn, m->wU, B, m->H1, m->W1, m->Ca, m->Cb, 1, m->S[0], m->S[3],
                                     m->s_elems / (size_t)m->max_batch, m->wino4_rows);
        } else {
            net_conv3x3_forward(m->b_relu, m->S[0], m->a_bn, P(m, m->tB), NULL, B, m->H1, m->W1, m->Ca, m->Cb, 1);
        }
    });
    PROF(m, 0, PF_BN, bn_fwd(m, m->bnB, m->tbnBg, m->tbnBb, m->b_bn, m->b_relu, (size_t)B * m->H2 * m->W2, 0, train, 0));

    const float *cur = m->b_bn;
    for (int i = 0; i < m->n_modules; i++) {
        NetModule *d = &m->mod[i];
        const size_t R = (size_t)B * d->H * d->W, Ro = (size_t)B * d->Ho * d->Wo;
        PROF(m, 0, PF_DW, net_dwconv3x3_forward(d->dw1, cur, P(m, d->t_dw1), B, d->H, d->W, d->cin));
        /* In train mode each conv before a BN leaves the BN's statistics in m->red. */
        double *stats = train ? m->red : NULL;
        int np;
        PROF(m, 0, PF_PW, np = net_conv1x1_forward(d->pw1, d->dw1, P(m, d->t_pw1), R, d->cin, d->cout, stats));
        PROF(m, 0, PF_BN, bn_fwd(m, d->bn1, d->t_bn1g, d->t_bn1b, d->r1, d->pw1, R, 1, train, np));
        PROF(m, 0, PF_DW, net_dwconv3x3_forward(d->dw2, d->r1, P(m, d->t_dw2), B, d->H, d->W, d->cout));
        /* The shortcut's conv and its BN's affine map first, so that the
         * max-pool adds it to its output in the same pass. */
        PROF(m, 0, PF_RES,
             np = net_conv1x1s2_forward(d->res, m->S[1], cur, P(m, d->t_res), B, d->H, d->W, d->cin, d->cout, stats));
        PROF(m, 0, PF_RES, bn_affine(m, d->rbn, d->t_rbng, d->t_rbnb, d->res, Ro, train, np));
        PROF(m, 0, PF_PW, np = net_conv1x1_forward(d->pw2, d->dw2, P(m, d->t_pw2), R, d->cout, d->cout, stats));
        /* BN2 fused into the max-pool: the normalized tensor is never stored */
        PROF(m, 0, PF_BN, bn_affine(m, d->bn2, d->t_bn2g, d->t_bn2b, d->pw2, R, train, np));
        PROF(m, 0, PF_POOL,
             net_maxpool_bn_forward(d->out, d->argmax, d->pw2, m->bn[d->bn2].a, m->bn[d->bn2].b, B, d->H, d->W,
                                    d->cout, d->res, m->bn[d->rbn].a, m->bn[d->rbn].b));
        cur = d->out;
    }
    PROF(m, 0, PF_HEAD, {
        net_head_forward(m->logits, m->g_S, cur, P(m, m->tG), P(m, m->tGb), B, m->Hg, m->Wg, m->Cg, m->K);
        softmax_rows(m->probs, m->logits, B, m->K);
    });
}

/*-*** Loss and backward ***/

float net_loss(NetModel *m, const int *labels, const NetLossOpts *opts)
{
    const NetLossOpts none = {0};
    if (!opts) opts = &none;
    return net_xent_forward_backward(m->probs, NULL, m->logits, labels, opts->class_weights, opts->label_smoothing,
                                     opts->focal_gamma, m->B, m->K);
}

/* BN bi's backward (no ReLU after it: conv A's and conv B's come before their BNs). */
static void bn_bwd(NetModel *m, int bi, int tg, int tb, float *dinp, const float *dout, const float *in, size_t R)
{
    NetBN *bn = &m->bn[bi];
    net_bn_backward(dinp, G(m, tg), G(m, tb), dout, NULL, in, bn->mean, bn->invstd, P(m, tg), R, bn->C, m->red);
}

/* BN bi's backward sums (dgamma, dbeta +=) and, in g, what the 1x1 conv
 * before it needs to finish its backward (net_conv1x1_backward). */
static void bn_grad(NetModel *m, NetBNGrad *g, int bi, int tg, int tb, const float *dout, int relu, const float *in,
                    size_t R)
{
    NetBN *bn = &m->bn[bi];
    const float *ab = relu ? bn->a : NULL; /* the ReLU's mask from the forward's affine map */
    net_bn_backward_sums(bn->coef, G(m, tg), G(m, tb), dout, ab, in, bn->mean, bn->invstd, P(m, tg), R, bn->C,
                         m->red);
    *g = (NetBNGrad){.dout = dout, .relu_ab = ab, .in = in, .mean = bn->mean, .invstd = bn->invstd,
                     .coef = bn->coef, .scratch = m->pwscr};
}

EmoStatus net_backward(NetModel *m, const int *labels, const NetLossOpts *opts, float *loss, EmoError *err)
{
    if (!m->last_train)
        return emo_error_set(err, EMO_ERR_ARG, "network: backward needs a train-mode forward first");
    const int B = m->B;
    for (int i = 0; i < B; i++)
        if (labels[i] < 0 || labels[i] >= m->K)
            return emo_error_set(err, EMO_ERR_ARG, "network: label %d of image %d is not a class (0..%d)", labels[i],
                                 i, m->K - 1);
    const NetLossOpts none = {0};
    if (!opts) opts = &none;
    float l;
    PROF(m, 1, PF_LOSS, {
        l = net_xent_forward_backward(m->probs, m->dlogits, m->logits, labels, opts->class_weights,
                                      opts->label_smoothing, opts->focal_gamma, B, m->K);
        memset(m->grads, 0, m->n_params * sizeof *m->grads);
    });
    if (loss) *loss = l;

    float **S = m->S;
    PROF(m, 1, PF_HEAD, {
        net_head_backward(S[3], G(m, m->tG), G(m, m->tGb), S[0], m->dlogits, m->g_S, P(m, m->tG), B, m->Hg, m->Wg,
                          m->Cg, m->K);
    });

    float *D = S[3], *Dn = S[0], *T1 = S[1], *T2 = S[2];
    for (int i = m->n_modules - 1; i >= 0; i--) {
        NetModule *d = &m->mod[i];
        const float *in = i ? m->mod[i - 1].out : m->b_bn;
        const size_t R = (size_t)B * d->H * d->W, Ro = (size_t)B * d->Ho * d->Wo;
        /* branch: D -> maxpool -> BN2 -> pw2 -> dw2 -> BN1+ReLU -> pw1 -> dw1 -> Dn (overwrites Dn).
         * Each BN's backward: its sums here, its second half inside the
         * backward of the pointwise conv before it (NetBNGrad). */
        NetBNGrad g;
        PROF(m, 1, PF_POOL, net_maxpool_backward(T1, D, d->argmax, B, d->H, d->W, d->cout));
        PROF(m, 1, PF_BN, bn_grad(m, &g, d->bn2, d->t_bn2g, d->t_bn2b, T1, 0, d->pw2, R));
        PROF(m, 1, PF_PW,
             net_conv1x1_backward(T2, G(m, d->t_pw2), NULL, d->dw2, P(m, d->t_pw2), R, d->cout, d->cout, m->wpart, &g));
        PROF(m, 1, PF_DW,
             net_dwconv3x3_backward(T1, G(m, d->t_dw2), T2, d->r1, P(m, d->t_dw2), B, d->H, d->W, d->cout, 0, m->red));
        PROF(m, 1, PF_BN, bn_grad(m, &g, d->bn1, d->t_bn1g, d->t_bn1b, T1, 1, d->pw1, R));
        PROF(m, 1, PF_PW,
             net_conv1x1_backward(T2, G(m, d->t_pw1), NULL, d->dw1, P(m, d->t_pw1), R, d->cin, d->cout, m->wpart, &g));
        PROF(m, 1, PF_DW,
             net_dwconv3x3_backward(Dn, G(m, d->t_dw1), T2, in, P(m, d->t_dw1), B, d->H, d->W, d->cin, 0, m->red));
        /* shortcut: D -> BN -> conv1x1/2 -> Dn (adds, on the stride grid only) */
        PROF(m, 1, PF_RES, bn_grad(m, &g, d->rbn, d->t_rbng, d->t_rbnb, D, 0, d->res, Ro));
        PROF(m, 1, PF_RES,
             net_conv1x1s2_backward(Dn, G(m, d->t_res), T2, NULL, in, P(m, d->t_res), B, d->H, d->W, d->cin, d->cout,
                                    m->wpart, &g));
        float *t = D;
        D = Dn;
        Dn = t;
    }
    /* D = d(BN B output) */
    PROF(m, 1, PF_BN, bn_bwd(m, m->bnB, m->tbnBg, m->tbnBb, T1, D, m->b_relu, (size_t)B * m->H2 * m->W2));
    PROF(m, 1, PF_CONV_B, {
        if (m->wino_train && m->wino_bwd_rows) { /* D and T2 are free now: the scratch */
            const int wdw = m->wino_dw_rows > 0; /* else dW by the direct GEMMs first */
            if (!wdw)
                net_conv3x3_backward(NULL, G(m, m->tB), NULL, T2, T1, m->b_relu, m->a_bn, P(m, m->tB), B, m->H1,
                                     m->W1, m->Ca, m->Cb, m->red, m->wpart);
            net_conv3x3_flip(m->wflip, P(m, m->tB), m->Ca, m->Cb);
            net_wino4_weights(m->wUt, m->wflip, m->Cb, m->Ca);
            net_conv3x3_wino_backward(Dn, wdw ? m->wpart : NULL, T1, m->b_relu, m->a_bn, m->wUt, B, m->H1, m->W1,
                                      m->Ca, m->Cb, D, T2, m->s_elems / (size_t)m->max_batch, m->wino_dw_rows,
                                      m->wino_bwd_rows);
            if (wdw) net_sum_parts(G(m, m->tB), m->wpart, B, (size_t)9 * m->Ca * m->Cb);
        } else {
            net_conv3x3_backward(Dn, G(m, m->tB), NULL, T2, T1, m->b_relu, m->a_bn, P(m, m->tB), B, m->H1, m->W1,
                                 m->Ca, m->Cb, m->red, m->wpart);
        }
    });
    PROF(m, 1, PF_BN, bn_bwd(m, m->bnA, m->tbnAg, m->tbnAb, T1, Dn, m->a_conv, (size_t)B * m->H1 * m->W1));
    PROF(m, 1, PF_CONV_A, net_conv3x3c1_backward(G(m, m->tA), T1, m->a_conv, m->x, B, m->H0, m->W0, m->Ca, m->red));
    return EMO_OK;
}

/*-*** Profiling ***/

void net_profile_enable(NetModel *m, int on)
{
    m->profile = on;
    memset(m->pf_fwd, 0, sizeof m->pf_fwd);
    memset(m->pf_bwd, 0, sizeof m->pf_bwd);
}

void net_profile_report(const NetModel *m, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < PF_COUNT && k < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%s=%.0f/%.0fms", i ? " " : "", pf_names[i], 1e3 * m->pf_fwd[i],
                         1e3 * m->pf_bwd[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
}

/*-*** Accessors ***/

const float *net_logits(const NetModel *m) { return m->logits; }
const float *net_probs(const NetModel *m) { return m->probs; }
size_t net_param_count(const NetModel *m) { return m->n_params; }
size_t net_buffer_count(const NetModel *m) { return m->n_buffers; }
float *net_params(NetModel *m) { return m->params; }
float *net_grads(NetModel *m) { return m->grads; }
float *net_buffers(NetModel *m) { return m->buffers; }
int net_tensor_count(const NetModel *m) { return m->n_tensors; }
const NetTensor *net_tensor(const NetModel *m, int i) { return &m->tensors[i]; }
const NetConfig *net_config(const NetModel *m) { return &m->cfg; }
int net_max_batch(const NetModel *m) { return m->max_batch; }

/* OIHW <-> HWIO index maps for 4-D tensors; 1-D tensors copy as they are. */
static size_t hwio_index(const int *s, int o, int i, int h, int w)
{
    return (((size_t)h * s[3] + w) * s[1] + i) * s[0] + o;
}

void net_tensor_from_torch(NetModel *m, int ti, const float *src)
{
    const NetTensor *t = &m->tensors[ti];
    float *dst = (t->kind == NET_TENSOR_PARAM ? m->params : m->buffers) + t->offset;
    if (t->ndim != 4) {
        memcpy(dst, src, t->numel * sizeof *dst);
        return;
    }
    const int *s = t->torch_shape;
    size_t k = 0;
    for (int o = 0; o < s[0]; o++)
        for (int i = 0; i < s[1]; i++)
            for (int h = 0; h < s[2]; h++)
                for (int w = 0; w < s[3]; w++) dst[hwio_index(s, o, i, h, w)] = src[k++];
}

void net_tensor_to_torch(const NetModel *m, int ti, const float *src_array, float *dst)
{
    const NetTensor *t = &m->tensors[ti];
    const float *src = src_array + t->offset;
    if (t->ndim != 4) {
        memcpy(dst, src, t->numel * sizeof *dst);
        return;
    }
    const int *s = t->torch_shape;
    size_t k = 0;
    for (int o = 0; o < s[0]; o++)
        for (int i = 0; i < s[1]; i++)
            for (int h = 0; h < s[2]; h++)
                for (int w = 0; w < s[3]; w++) dst[k++] = src[hwio_index(s, o, i, h, w)];
}

double net_forward_flops(const NetModel *m)
{
    double f = 2.0 * m->H1 * m->W1 * 9 * m->Ca + 2.0 * m->H2 * m->W2 * 9.0 * m->Ca * m->Cb;
    for (int i = 0; i < m->n_modules; i++) {
        const NetModule *d = &m->mod[i];
        const double hw = (double)d->H * d->W;
        f += 2.0 * hw * 9 * (d->cin + d->cout) + 2.0 * hw * d->cout * (d->cin + d->cout) +
             2.0 * d->Ho * d->Wo * d->cin * d->cout;
    }
    return f + 2.0 * m->Hg * m->Wg * 9.0 * m->Cg * m->K;
}

void net_set_threads(int n)
{
    if (n < 1) n = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}
