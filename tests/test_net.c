/* test_net.c: the CNN engine (train/net_*.h) against PyTorch and finite differences.
 *
 * - Reference: tests/data/torch/seed_cnn.fix holds PyTorch's seed_cnn()
 *   logits, loss, parameter gradients (sampled + whole-tensor sums), BN
 *   running stats and eval logits for a batch of 4, and three optimizer
 *   steps of each kind. Regenerate it with
 *       /usr/bin/python3 tests/gen_torch_fixture.py [path/to/shared/reference]
 *   Weights and input are not in the file: both sides derive them from the
 *   same integer hash (fx_hash here, hash_u there).
 * - Finite differences: every layer's backward, and the whole (small)
 *   network per parameter tensor, checked as directional derivatives
 *   (kann's kad_check_grad) with float-suited tolerances.
 * - Learning: 32 random images with 7 labels are memorized to 100%. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_blas.h"
#include "net_layers.h"
#include "net_model.h"
#include "net_optim.h"
#include "test_support.h"

/*-*** Fixture file ***/

typedef struct {
    int n;
    char **names;
    float **vals;
    uint32_t *counts;
} Fixture;

static uint32_t rd_u32(const uint8_t **p)
{
    uint32_t v = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 | (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
    *p += 4;
    return v;
}

static Fixture *fixture_load(void)
{
    const char *path = "tests/data/torch/seed_cnn.fix";
    size_t size;
    char *data = ts_slurp(path, &size);
    ck_assert_msg(data != NULL, "%s missing: run /usr/bin/python3 tests/gen_torch_fixture.py", path);
    const uint8_t *p = (const uint8_t *)data, *end = p + size;
    ck_assert_msg(size > 12 && memcmp(p, "EMOFIX1", 8) == 0, "%s: bad magic", path);
    p += 8;
    Fixture *f = calloc(1, sizeof *f);
    f->n = (int)rd_u32(&p);
    f->names = calloc(f->n, sizeof *f->names);
    f->vals = calloc(f->n, sizeof *f->vals);
    f->counts = calloc(f->n, sizeof *f->counts);
    for (int i = 0; i < f->n; i++) {
        ck_assert(p + 4 <= end);
        uint32_t len = rd_u32(&p);
        ck_assert(p + len + 4 <= end);
        f->names[i] = strndup((const char *)p, len);
        p += len;
        f->counts[i] = rd_u32(&p);
        ck_assert(p + 4 * (size_t)f->counts[i] <= end);
        f->vals[i] = malloc(4 * (size_t)f->counts[i] + 4);
        memcpy(f->vals[i], p, 4 * (size_t)f->counts[i]); /* little-endian host (x86) */
        p += 4 * (size_t)f->counts[i];
    }
    free(data);
    return f;
}

static const float *fx_get(const Fixture *f, const char *name, uint32_t *n)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0) {
            if (n) *n = f->counts[i];
            return f->vals[i];
        }
    ck_abort_msg("fixture record %s missing", name);
    return NULL;
}

static void fixture_free(Fixture *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->vals[i]);
    }
    free(f->names);
    free(f->vals);
    free(f->counts);
    free(f);
}

/*-*** The shared hash (must match hash_u in tests/gen_torch_fixture.py) ***/

static uint32_t fx_hash(uint32_t t, uint32_t i)
{
    uint32_t x = t * 0x9E3779B1u + i * 0x85EBCA77u + 0x165667B1u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    x *= 0x297A2D39u;
    x ^= x >> 15;
    return x;
}
static double fx_u(uint32_t t, uint32_t i) { return (double)(fx_hash(t, i) >> 8) / 16777216.0; }
static float fx_signed(uint32_t t, uint32_t i) { return (float)(2.0 * fx_u(t, i) - 1.0); }

/* Fills the model's parameters as fill_params() in the generator does. */
static void fixture_params(NetModel *m)
{
    int t = 0, nparam = 0;
    for (int i = 0; i < net_tensor_count(m); i++) nparam += net_tensor(m, i)->kind == NET_TENSOR_PARAM;
    const NetTensor *prev = NULL;
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind != NET_TENSOR_PARAM) continue;
        float *v = malloc(nt->numel * sizeof *v);
        const int *sh = nt->ndim == 4 ? nt->torch_shape : prev ? prev->torch_shape : NULL;
        for (size_t k = 0; k < nt->numel; k++) {
            float s = fx_signed((uint32_t)t, (uint32_t)k);
            if (nt->ndim == 4 || t == nparam - 1)
                v[k] = s * (float)(1.0 / sqrt((double)sh[1] * sh[2] * sh[3]));
            else if (strstr(nt->name, ".weight"))
                v[k] = 1.0f + s * 0.125f;
            else
                v[k] = s * 0.125f;
        }
        net_tensor_from_torch(m, i, v);
        free(v);
        prev = nt;
        t++;
    }
}

/* |a-b| <= tol * scale for every element; scale = max |ref| (at least floor). */
static void expect_close(const char *what, const float *got, const float *ref, size_t n, double tol, double floor)
{
    double scale = floor;
    for (size_t i = 0; i < n; i++) scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - ref[i]) <= tol * scale, "%s[%zu]: got %.8g, reference %.8g (scale %.3g)",
                      what, i, (double)got[i], (double)ref[i], scale);
}

/*-*** PyTorch reference ***/

START_TEST(default_net_has_pytorch_shapes)
{
    NetConfig cfg;
    net_config_default(&cfg);
    NetModel *m;
    EmoError err;
    ck_assert_int_eq(net_create(&m, &cfg, 2, &err), EMO_OK);
    ck_assert_uint_eq(net_param_count(m), 225159);
    int nparam = 0;
    for (int i = 0; i < net_tensor_count(m); i++) nparam += net_tensor(m, i)->kind == NET_TENSOR_PARAM;
    ck_assert_int_eq(nparam, 30); /* len(list(seed_cnn().parameters())) */
    ck_assert_str_eq(net_tensor(m, 0)->name, "0.weight");
    ck_assert_str_eq(net_tensor(m, net_tensor_count(m) - 1)->name, "8.bias");
    net_free(m);
}
END_TEST

START_TEST(matches_pytorch_seed_cnn)
{
    Fixture *f = fixture_load();
    NetConfig cfg;
    net_config_default(&cfg);
    NetModel *m;
    EmoError err;
    const int B = 4;
    ck_assert_int_eq(net_create(&m, &cfg, B, &err), EMO_OK);
    net_init_params(m, 1); /* running stats 0/1 as in PyTorch; params replaced next */
    fixture_params(m);
    float *x = malloc(sizeof(float) * B * 48 * 48);
    for (uint32_t i = 0; i < (uint32_t)B * 48 * 48; i++) x[i] = (float)fx_u(1000, i);
    const float *lab = fx_get(f, "labels", NULL);
    int labels[4];
    for (int i = 0; i < B; i++) labels[i] = (int)lab[i];
    NetLossOpts lo = {.class_weights = fx_get(f, "class_weights", NULL),
                      .label_smoothing = fx_get(f, "label_smoothing", NULL)[0]};

    net_forward(m, x, B, 1);
    expect_close("logits", net_logits(m), fx_get(f, "logits", NULL), (size_t)B * 7, 1e-4, 1e-3);
    float loss;
    ck_assert_int_eq(net_backward(m, labels, &lo, &loss, &err), EMO_OK);
    const float ref_loss = fx_get(f, "loss", NULL)[0];
    ck_assert_msg(fabs(loss - ref_loss) <= 1e-4 * fabs(ref_loss), "loss %.8g vs PyTorch %.8g", loss, ref_loss);

    char key[128];
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind == NET_TENSOR_BUFFER) {
            snprintf(key, sizeof key, "buf:%s", nt->name);
            uint32_t n;
            const float *ref = fx_get(f, key, &n);
            ck_assert_uint_eq(n, nt->numel);
            expect_close(key, net_buffers(m) + nt->offset, ref, n, 1e-4, 1e-3);
            continue;
        }
        float *g = malloc(nt->numel * sizeof *g);
        net_tensor_to_torch(m, i, net_grads(m), g);
        double ss = 0, as = 0;
        for (size_t k = 0; k < nt->numel; k++) {
            ss += (double)g[k] * g[k];
            as += fabs(g[k]);
        }
        snprintf(key, sizeof key, "grad:%s:sumsq", nt->name);
        const double rss = fx_get(f, key, NULL)[0];
        ck_assert_msg(fabs(ss - rss) <= 2e-4 * rss, "%s: %.8g vs PyTorch %.8g", key, ss, rss);
        snprintf(key, sizeof key, "grad:%s:abssum", nt->name);
        const double ras = fx_get(f, key, NULL)[0];
        ck_assert_msg(fabs(as - ras) <= 1e-4 * ras, "%s: %.8g vs PyTorch %.8g", key, as, ras);
        uint32_t ns;
        snprintf(key, sizeof key, "grad:%s:idx", nt->name);
        const float *idx = fx_get(f, key, &ns);
        snprintf(key, sizeof key, "grad:%s:val", nt->name);
        const float *val = fx_get(f, key, NULL);
        float *got = malloc(ns * sizeof *got);
        for (uint32_t k = 0; k < ns; k++) got[k] = g[(size_t)idx[k]];
        expect_close(key, got, val, ns, 1e-4, 1e-12);
        free(got);
        free(g);
    }
    /* whole-tensor projections on hashed +-1 vectors: every element counts */
    int t = 0;
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind != NET_TENSOR_PARAM) continue;
        float *g = malloc(nt->numel * sizeof *g);
        net_tensor_to_torch(m, i, net_grads(m), g);
        double pj = 0;
        for (size_t k = 0; k < nt->numel; k++) pj += (fx_u(3000 + (uint32_t)t, (uint32_t)k) < 0.5 ? -1.0 : 1.0) * g[k];
        snprintf(key, sizeof key, "grad:%s:proj", nt->name);
        const double rp = fx_get(f, key, NULL)[0];
        snprintf(key, sizeof key, "grad:%s:abssum", nt->name);
        const double ras = fx_get(f, key, NULL)[0];
        ck_assert_msg(fabs(pj - rp) <= 1e-4 * ras, "grad:%s:proj %.8g vs PyTorch %.8g", nt->name, pj, rp);
        free(g);
        t++;
    }
    net_forward(m, x, B, 0);
    expect_close("logits_eval", net_logits(m), fx_get(f, "logits_eval", NULL), (size_t)B * 7, 1e-4, 1e-3);
    free(x);
    net_free(m);
    fixture_free(f);
}
END_TEST

START_TEST(optimizers_match_pytorch)
{
    Fixture *f = fixture_load();
    uint32_t n;
    const float *p0 = fx_get(f, "opt:p0", &n);
    const float *grads = fx_get(f, "opt:grads", NULL);
    struct {
        const char *name;
        NetOptKind kind;
        float lr, wd, clip;
        int nesterov;
    } cases[] = {
        {"opt:sgd", NET_OPT_SGD, 0.1f, 0.01f, 0, 0},   {"opt:nesterov", NET_OPT_SGD, 0.1f, 0.01f, 0, 1},
        {"opt:adam", NET_OPT_ADAM, 0.01f, 0.01f, 0, 0}, {"opt:adamw", NET_OPT_ADAMW, 0.01f, 0.1f, 0, 0},
        {"opt:adam_clip", NET_OPT_ADAM, 0.01f, 0, 0.5f, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        NetOptConfig oc;
        net_optim_config_default(&oc, cases[c].kind);
        oc.weight_decay = cases[c].wd;
        oc.nesterov = cases[c].nesterov;
        oc.clip_norm = cases[c].clip;
        NetOptim o;
        ck_assert_int_eq(net_optim_init(&o, &oc, n, NULL), EMO_OK);
        float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
        memcpy(p, p0, n * sizeof *p);
        for (int k = 0; k < 3; k++) {
            memcpy(g, grads + (size_t)k * n, n * sizeof *g);
            net_optim_step_arrays(&o, p, g, NULL, 0, cases[c].lr);
        }
        expect_close(cases[c].name, p, fx_get(f, cases[c].name, NULL), n, 1e-5, 1e-3);
        free(p);
        free(g);
        net_optim_free(&o);
    }
    fixture_free(f);
}
END_TEST

/*-*** Finite differences ***/

/* A layer under test: forward computes the layer, returns sum(out * R). */
typedef double (*FwdFn)(void *ctx);

/* Fills a with uniform values in [lo, hi) from a seeded xorshift. */
static void fill(float *a, size_t n, uint64_t *s, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)((ts_rand(s) >> 40) / 16777216.0);
}

/* Directional derivative check: x moved by +-h*v, v uniform in [-1,1).
 * Compares (L(x+hv) - L(x-hv)) / 2h with <g, v>. */
static void dircheck(const char *what, FwdFn fwd, void *ctx, float *x, const float *g, size_t n, float h,
                     double tol, double abs_tol, uint64_t seed)
{
    float *v = malloc(n * sizeof *v), *x0 = malloc(n * sizeof *x0);
    uint64_t s = seed;
    fill(v, n, &s, -1, 1);
    memcpy(x0, x, n * sizeof *x);
    double ana = 0;
    for (size_t i = 0; i < n; i++) ana += (double)g[i] * v[i];
    for (size_t i = 0; i < n; i++) x[i] = x0[i] + h * v[i];
    double lp = fwd(ctx);
    for (size_t i = 0; i < n; i++) x[i] = x0[i] - h * v[i];
    double lm = fwd(ctx);
    memcpy(x, x0, n * sizeof *x);
    double num = (lp - lm) / (2.0 * h);
    double scale = fabs(num) > fabs(ana) ? fabs(num) : fabs(ana);
    ck_assert_msg(scale > 1e-6, "%s: degenerate check (derivative %g)", what, scale);
    ck_assert_msg(fabs(num - ana) <= tol * scale + abs_tol, "%s: numeric %.7g vs analytic %.7g (rel err %.2g)", what, num,
                  ana, fabs(num - ana) / scale);
    free(v);
    free(x0);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* One struct serves every layer: the fields a layer does not use stay NULL. */
typedef struct {
    int B, H, W, Ci, Co, relu;
    float *in, *w, *bias, *gamma, *beta, *out, *R, *full, *aux;
    float *mean, *invstd, *rm, *rv, *ab;
    int *argmax;
    double *red;
    size_t nout;
} Layer;

static double fwd_conv3x3c1(void *c)
{
    Layer *L = c;
    net_conv3x3c1_forward(L->out, L->in, L->w, L->B, L->H, L->W, L->Co, L->relu);
    return dot(L->out, L->R, L->nout);
}
static double fwd_conv3x3(void *c)
{
    Layer *L = c;
    net_conv3x3_forward(L->out, L->full, L->in, L->w, L->bias, L->B, L->H, L->W, L->Ci, L->Co, L->relu);
    return dot(L->out, L->R, L->nout);
}
static double fwd_conv1x1(void *c)
{
    Layer *L = c;
    net_conv1x1_forward(L->out, L->in, L->w, (size_t)L->B * L->H * L->W, L->Ci, L->Co, NULL);
    return dot(L->out, L->R, L->nout);
}
static double fwd_conv1x1s2(void *c)
{
    Layer *L = c;
    net_conv1x1s2_forward(L->out, L->full, L->in, L->w, L->B, L->H, L->W, L->Ci, L->Co, NULL);
    return dot(L->out, L->R, L->nout);
}
static double fwd_dw(void *c)
{
    Layer *L = c;
    net_dwconv3x3_forward(L->out, L->in, L->w, L->B, L->H, L->W, L->Ci);
    return dot(L->out, L->R, L->nout);
}
static double fwd_bn(void *c)
{
    Layer *L = c;
    net_bn_forward_train(L->out, L->ab, L->mean, L->invstd, L->rm, L->rv, L->in, L->gamma, L->beta,
                         (size_t)L->B * L->H * L->W, L->Ci, 0.1f, 1e-5f, L->relu, 0, L->red);
    return dot(L->out, L->R, L->nout);
}
static double fwd_pool(void *c)
{
    Layer *L = c;
    net_maxpool_forward(L->out, L->argmax, L->in, L->B, L->H, L->W, L->Ci);
    return dot(L->out, L->R, L->nout);
}

static Layer layer_new(int B, int H, int W, int Ci, int Co, size_t nin, size_t nw, size_t nout, uint64_t *s)
{
    Layer L = {.B = B, .H = H, .W = W, .Ci = Ci, .Co = Co, .nout = nout};
    L.in = malloc(nin * sizeof(float));
    L.w = malloc((nw ? nw : 1) * sizeof(float));
    L.out = malloc(nout * sizeof(float));
    L.R = malloc(nout * sizeof(float));
    L.full = calloc((size_t)B * H * W * (Ci > Co ? Ci : Co) + 64, sizeof(float));
    L.red = malloc(NET_RED_DOUBLES(Ci > Co ? Ci : Co) * sizeof(double));
    fill(L.in, nin, s, -1, 1);
    fill(L.w, nw, s, -0.5f, 0.5f);
    fill(L.R, nout, s, -1, 1);
    return L;
}

static void layer_free(Layer *L)
{
    free(L->in);
    free(L->w);
    free(L->out);
    free(L->R);
    free(L->full);
    free(L->red);
    free(L->bias);
    free(L->gamma);
    free(L->beta);
    free(L->mean);
    free(L->invstd);
    free(L->ab);
    free(L->rm);
    free(L->rv);
    free(L->argmax);
    free(L->aux);
}

/* --ema: the average follows net_optim.h's rule (the first step copies, then
 * d_t = min(D, (1+t)/(10+t))), never feeds back into the training, and
 * swapping it in twice restores both arrays. */
START_TEST(weight_average_follows_the_steps)
{
    enum { N = 6, STEPS = 30 };
    NetOptConfig plain, avg_cfg;
    net_optim_config_default(&plain, NET_OPT_ADAMW);
    avg_cfg = plain;
    avg_cfg.ema_decay = 0.9f;
    NetOptim a, b;
    ck_assert_int_eq(net_optim_init(&a, &plain, N, NULL), EMO_OK);
    ck_assert_int_eq(net_optim_init(&b, &avg_cfg, N, NULL), EMO_OK);
    ck_assert_ptr_null(net_optim_average(&a));
    ck_assert_ptr_nonnull(net_optim_average(&b));
    ck_assert_uint_eq(net_optim_state_count(&a), 2 * N);
    ck_assert_uint_eq(net_optim_state_count(&b), 3 * N);
    float pa[N], pb[N], g[N];
    double expect[N];
    for (int i = 0; i < N; i++) pa[i] = pb[i] = 0.1f * (float)(i - 2);
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = sinf(0.7f * (float)(t * (i + 1)));
        float g2[N];
        memcpy(g2, g, sizeof g);
        net_optim_step_arrays(&a, pa, g, NULL, 0, 0.05f);
        net_optim_step_arrays(&b, pb, g2, NULL, 0, 0.05f);
        /* The average does not touch the training: same parameters, bit for bit. */
        ck_assert_mem_eq(pa, pb, sizeof pa);
        const double d = t == 1 ? 0.0 : fmin(0.9, (double)t / (9.0 + t));
        for (int i = 0; i < N; i++) expect[i] = d * (t == 1 ? 0.0 : expect[i]) + (1 - d) * pb[i];
    }
    const float *avg = net_optim_average(&b);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(fabs(avg[i] - expect[i]) < 1e-6, "avg[%d] %g, expected %g", i, avg[i], expect[i]);
        /* It lags the parameters, which moved in 30 steps of 0.05. */
        ck_assert_msg(fabsf(avg[i] - pb[i]) > 1e-4f, "avg[%d] %g equals the parameter", i, avg[i]);
    }
    float keep_p[N], keep_avg[N];
    memcpy(keep_p, pb, sizeof pb);
    memcpy(keep_avg, avg, sizeof keep_avg);
    net_optim_swap_average(&b, pb);
    ck_assert_mem_eq(pb, keep_avg, sizeof pb);
    ck_assert_mem_eq(net_optim_average(&b), keep_p, sizeof keep_p);
    net_optim_swap_average(&b, pb);
    ck_assert_mem_eq(pb, keep_p, sizeof pb);
    ck_assert_mem_eq(net_optim_average(&b), keep_avg, sizeof keep_avg);
    net_optim_free(&a);
    net_optim_free(&b);
    avg_cfg.ema_decay = 1.0f;
    EmoError err;
    ck_assert_int_eq(net_optim_init(&b, &avg_cfg, N, &err), EMO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "decay"));
}
END_TEST

START_TEST(grad_conv3x3c1)
{
    uint64_t s = 11;
    const int B = 2, H = 7, W = 6, Co = 21; /* 16 channels in the register kernel, 5 in the tail */
    const size_t nin = (size_t)B * H * W, nout = (size_t)B * (H - 2) * (W - 2) * Co;
    Layer L = layer_new(B, H, W, 1, Co, nin, 9 * Co, nout, &s);
    float *dw = calloc(9 * Co, sizeof *dw), *dw2 = calloc(9 * Co, sizeof *dw2), *masked = malloc(nout * sizeof *masked);
    fwd_conv3x3c1(&L);
    net_conv3x3c1_backward(dw, L.R, NULL, L.in, B, H, W, Co, L.red);
    dircheck("conv3x3c1 dw", fwd_conv3x3c1, &L, L.w, dw, 9 * Co, 1e-2f, 1e-3, 0, 1);
    L.relu = 1; /* fused ReLU = plain backward of the masked gradient */
    fwd_conv3x3c1(&L);
    for (size_t i = 0; i < nout; i++) masked[i] = L.out[i] > 0 ? L.R[i] : 0.0f;
    memset(dw, 0, 9 * Co * sizeof *dw);
    net_conv3x3c1_backward(dw, masked, NULL, L.in, B, H, W, Co, L.red);
    net_conv3x3c1_backward(dw2, L.R, L.out, L.in, B, H, W, Co, L.red);
    for (int i = 0; i < 9 * Co; i++) ck_assert_float_eq(dw[i], dw2[i]);
    free(dw);
    free(dw2);
    free(masked);
    layer_free(&L);
}
END_TEST

/* The fused ReLU's backward must equal the plain backward of dout masked
 * by (out > 0); the plain backward is checked by finite differences (linear
 * in every argument, so no ReLU kinks can spoil the difference quotient). */
START_TEST(grad_conv3x3)
{
    uint64_t s = 12;
    const int H = 6, W = 7, Ci = 3, Co = 4;
    for (int pass = 0; pass < 2; pass++) {
        const int B = pass ? 11 : 2; /* 11 > NET_GEMM_CHUNKS: blocks of several images */
        const size_t nin = (size_t)B * H * W * Ci, nw = 9 * Ci * Co, nout = (size_t)B * (H - 2) * (W - 2) * Co;
        Layer L = layer_new(B, H, W, Ci, Co, nin, nw, nout, &s);
        L.bias = malloc(Co * sizeof(float));
        fill(L.bias, Co, &s, -0.5f, 0.5f);
        float *dw = calloc(nw, sizeof *dw), *db = calloc(Co, sizeof *db), *dx = malloc(nin * sizeof *dx);
        float *full2 = calloc((size_t)B * H * W * Co, sizeof *full2);
        float *wpart = malloc(NET_WPART_FLOATS(nw, B) * sizeof *wpart);
        fwd_conv3x3(&L);
        net_conv3x3_backward(dx, dw, db, full2, L.R, NULL, L.in, L.w, B, H, W, Ci, Co, L.red, wpart);
        /* dw against the definition, summed in double */
        for (int t = 0; t < 9; t++)
            for (int ci = 0; ci < Ci; ci++)
                for (int co = 0; co < Co; co++) {
                    double ref = 0;
                    for (int n = 0; n < B; n++)
                        for (int y = 0; y < H - 2; y++)
                            for (int x = 0; x < W - 2; x++)
                                ref += (double)L.in[((n * H + y + t / 3) * W + x + t % 3) * Ci + ci] *
                                       L.R[((n * (H - 2) + y) * (W - 2) + x) * Co + co];
                    ck_assert_msg(fabs(ref - dw[(t * Ci + ci) * Co + co]) < 1e-4, "conv3x3 dw[%d][%d][%d]: %g vs %g",
                                  t, ci, co, dw[(t * Ci + ci) * Co + co], ref);
                }
        dircheck("conv3x3 dx", fwd_conv3x3, &L, L.in, dx, nin, 1e-2f, 5e-3, 2e-4, 2);
        dircheck("conv3x3 dw", fwd_conv3x3, &L, L.w, dw, nw, 1e-2f, 5e-3, 2e-4, 3);
        dircheck("conv3x3 db", fwd_conv3x3, &L, L.bias, db, Co, 1e-2f, 5e-3, 2e-4, 4);
        /* fused ReLU */
        L.relu = 1;
        fwd_conv3x3(&L);
        float *dw2 = calloc(nw, sizeof *dw2), *db2 = calloc(Co, sizeof *db2), *dx2 = malloc(nin * sizeof *dx2);
        float *masked = malloc(nout * sizeof *masked);
        for (size_t i = 0; i < nout; i++) masked[i] = L.out[i] > 0 ? L.R[i] : 0.0f;
        memset(dw, 0, nw * sizeof *dw);
        memset(db, 0, Co * sizeof *db);
        net_conv3x3_backward(dx, dw, db, full2, masked, NULL, L.in, L.w, B, H, W, Ci, Co, L.red, wpart);
        net_conv3x3_backward(dx2, dw2, db2, full2, L.R, L.out, L.in, L.w, B, H, W, Ci, Co, L.red, wpart);
        for (size_t i = 0; i < nin; i++) ck_assert_float_eq(dx[i], dx2[i]);
        for (size_t i = 0; i < nw; i++) ck_assert_float_eq(dw[i], dw2[i]);
        for (int i = 0; i < Co; i++) ck_assert_float_eq(db[i], db2[i]);
        free(dw2);
        free(db2);
        free(dx2);
        free(masked);
        free(wpart);
        free(dw);
        free(db);
        free(dx);
        free(full2);
        layer_free(&L);
    }
}
END_TEST

START_TEST(grad_conv1x1_and_stride2)
{
    uint64_t s = 13;
    const int B = 2, H = 5, W = 4, Ci = 3, Co = 6;
    const size_t nin = (size_t)B * H * W * Ci, nw = (size_t)Ci * Co;
    {
        const size_t nout = (size_t)B * H * W * Co;
        Layer L = layer_new(B, H, W, Ci, Co, nin, nw, nout, &s);
        float *dw = calloc(nw, sizeof *dw), *dx = malloc(nin * sizeof *dx);
        float *wpart = malloc(NET_WPART_FLOATS(nw, B) * sizeof *wpart);
        net_conv1x1_backward(dx, dw, L.R, L.in, L.w, (size_t)B * H * W, Ci, Co, wpart, NULL);
        free(wpart);
        dircheck("conv1x1 dx", fwd_conv1x1, &L, L.in, dx, nin, 1e-2f, 1e-3, 0, 5);
        dircheck("conv1x1 dw", fwd_conv1x1, &L, L.w, dw, nw, 1e-2f, 1e-3, 0, 6);
        free(dw);
        free(dx);
        layer_free(&L);
    }
    {
        const int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
        const size_t nout = (size_t)B * Ho * Wo * Co;
        Layer L = layer_new(B, H, W, Ci, Co, nin, nw, nout, &s);
        float *dw = calloc(nw, sizeof *dw), *dx = malloc(nin * sizeof *dx);
        float *wpart = malloc(NET_WPART_FLOATS(nw, B) * sizeof *wpart);
        for (size_t i = 0; i < nin; i++) dx[i] = 0.25f; /* it adds: 0.25 + the gradient */
        net_conv1x1s2_backward(dx, dw, L.full, L.R, L.in, L.w, B, H, W, Ci, Co, wpart, NULL);
        free(wpart);
        for (size_t i = 0; i < nin; i++) {
            const size_t pix = i / Ci, x = pix % W, y = pix / W % H;
            if (x % 2 || y % 2) ck_assert_float_eq(dx[i], 0.25f); /* off the stride grid: untouched */
            dx[i] -= 0.25f;
        }
        dircheck("conv1x1s2 dx", fwd_conv1x1s2, &L, L.in, dx, nin, 1e-2f, 1e-3, 0, 7);
        dircheck("conv1x1s2 dw", fwd_conv1x1s2, &L, L.w, dw, nw, 1e-2f, 1e-3, 0, 8);
        free(dw);
        free(dx);
        layer_free(&L);
    }
}
END_TEST

START_TEST(grad_dwconv)
{
    uint64_t s = 14;
    const int B = 2, H = 5, W = 6, C = 19; /* 16 channels in the register kernel, 3 in the tail */
    const size_t n = (size_t)B * H * W * C;
    Layer L = layer_new(B, H, W, C, C, n, 9 * C, n, &s);
    float *dw = calloc(9 * C, sizeof *dw), *dx = malloc(n * sizeof *dx), *acc = malloc(n * sizeof *acc);
    net_dwconv3x3_backward(dx, dw, L.R, L.in, L.w, B, H, W, C, 0, L.red);
    dircheck("dwconv dx", fwd_dw, &L, L.in, dx, n, 1e-2f, 1e-3, 0, 9);
    dircheck("dwconv dw", fwd_dw, &L, L.w, dw, 9 * C, 1e-2f, 1e-3, 0, 10);
    /* accumulate mode adds to what is there */
    for (size_t i = 0; i < n; i++) acc[i] = 1.0f;
    memset(dw, 0, 9 * C * sizeof *dw);
    net_dwconv3x3_backward(acc, dw, L.R, L.in, L.w, B, H, W, C, 1, L.red);
    for (size_t i = 0; i < n; i++) ck_assert_float_eq_tol(acc[i], dx[i] + 1.0f, 1e-5);
    free(dw);
    free(dx);
    free(acc);
    layer_free(&L);
}
END_TEST

START_TEST(grad_batchnorm)
{
    uint64_t s = 15;
    const int B = 3, H = 3, W = 2, C = 4;
    const size_t n = (size_t)B * H * W * C;
    for (int relu = 0; relu < 2; relu++) {
        Layer L = layer_new(B, H, W, C, C, n, 0, n, &s);
        L.relu = relu;
        L.gamma = malloc(C * sizeof(float));
        L.beta = malloc(C * sizeof(float));
        L.mean = malloc(C * sizeof(float));
        L.invstd = malloc(C * sizeof(float));
        L.rm = calloc(C, sizeof(float));
        L.rv = calloc(C, sizeof(float));
        L.ab = malloc(2 * C * sizeof(float));
        fill(L.gamma, C, &s, 0.5f, 1.5f);
        fill(L.beta, C, &s, -0.5f, 0.5f);
        float *dg = calloc(C, sizeof *dg), *db = calloc(C, sizeof *db), *dx = malloc(n * sizeof *dx);
        fwd_bn(&L);
        /* running stats: r = 0.9*0 + 0.1*stat, unbiased variance */
        for (int c = 0; c < C; c++) {
            double mu = 0, var = 0;
            for (size_t r = 0; r < n / C; r++) mu += L.in[r * C + c];
            mu /= (double)(n / C);
            for (size_t r = 0; r < n / C; r++) var += (L.in[r * C + c] - mu) * (L.in[r * C + c] - mu);
            ck_assert_float_eq_tol(L.rm[c], 0.1 * mu, 1e-6);
            ck_assert_float_eq_tol(L.rv[c], 0.1 * var / (double)(n / C - 1), 1e-6);
        }
        net_bn_backward(dx, dg, db, L.R, relu ? L.ab : NULL, L.in, L.mean, L.invstd, L.gamma, n / C, C, L.red);
        if (relu) { /* the mask from the affine map is the forward's ReLU, to the bit */
            float *masked = malloc(n * sizeof *masked), *dx2 = malloc(n * sizeof *dx2);
            float *dg2 = calloc(C, sizeof *dg2), *db2 = calloc(C, sizeof *db2);
            for (size_t i = 0; i < n; i++) masked[i] = L.out[i] > 0 ? L.R[i] : 0.0f;
            net_bn_backward(dx2, dg2, db2, masked, NULL, L.in, L.mean, L.invstd, L.gamma, n / C, C, L.red);
            ck_assert_mem_eq(dx2, dx, n * sizeof *dx);
            ck_assert_mem_eq(dg2, dg, C * sizeof *dg);
            ck_assert_mem_eq(db2, db, C * sizeof *db);
            free(masked), free(dx2), free(dg2), free(db2);
        }
        dircheck("bn dx", fwd_bn, &L, L.in, dx, n, 1e-3f, 2e-2, 0, 11);
        dircheck("bn dgamma", fwd_bn, &L, L.gamma, dg, C, 1e-3f, 2e-2, 0, 12);
        dircheck("bn dbeta", fwd_bn, &L, L.beta, db, C, 1e-3f, 2e-2, 0, 13);
        free(dg);
        free(db);
        free(dx);
        layer_free(&L);
    }
}
END_TEST

/* Largest |a - b| over the largest |b|: agreement of two computations. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fabs((double)a[i] - b[i]) > d ? fabs((double)a[i] - b[i]) : d;
        m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
    }
    return m > 0 ? d / m : d;
}

/* A 1x1 conv that leaves its batch norm's statistics (net_conv1x1_forward
 * with stats) and one that finishes its batch norm's backward (NetBNGrad)
 * against the separate layers. Sizes: R = 4800 rows, so that each of the 8
 * GEMM blocks has two NET_PW_SUB pieces; widths multiples of 16 (the tiled
 * kernel), 48 columns of which 16 fall in an edge tile; the conv's output
 * far from 0 (a mean of ~100 against a deviation of ~1), which
 * E[x^2] - E[x]^2 in float would lose. */
START_TEST(fused_bn_conv1x1_match_layers)
{
    uint64_t s = 21;
    const int Ci = 32, Co = 48;
    const size_t R = 4800, nin = R * Ci, nout = R * Co, nw = (size_t)Ci * Co;
    float *in = malloc(nin * sizeof *in), *w = malloc(nw * sizeof *w), *out = malloc(nout * sizeof *out),
          *out2 = malloc(nout * sizeof *out2);
    fill(in, nin, &s, 0.5f, 1.5f);
    fill(w, nw, &s, -0.1f, 0.5f);
    for (size_t i = 0; i < nin; i += Ci) in[i] = 40.0f; /* channel 0 of every row, times 2.5: a large mean */
    for (int c = 0; c < Co; c++) w[c] = 2.5f;
    double *red = malloc(NET_RED_DOUBLES(Co) * sizeof *red);
    float *wpart = malloc(NET_WPART_FLOATS(nw, 64) * sizeof *wpart);
    float *gamma = malloc(Co * sizeof *gamma), *beta = malloc(Co * sizeof *beta);
    fill(gamma, Co, &s, 0.5f, 1.5f);
    fill(beta, Co, &s, -0.5f, 0.5f);
    float st[2][4][48], ab[2][96]; /* mean, invstd, running mean, running var; affine map; unfused, fused */
    memset(st, 0, sizeof st);
    float *y = malloc(nout * sizeof *y), *y2 = malloc(nout * sizeof *y2);

    net_conv1x1_forward(out, in, w, R, Ci, Co, NULL);
    net_bn_forward_train(y, ab[0], st[0][0], st[0][1], st[0][2], st[0][3], out, gamma, beta, R, Co, 0.1f, 1e-5f, 1, 0,
                         red);
    const int np = net_conv1x1_forward(out2, in, w, R, Ci, Co, red);
    ck_assert_int_eq(np, NET_GEMM_CHUNKS);
    ck_assert_mem_eq(out2, out, nout * sizeof *out);
    net_bn_forward_train(y2, ab[1], st[1][0], st[1][1], st[1][2], st[1][3], out2, gamma, beta, R, Co, 0.1f, 1e-5f, 1,
                         np, red);
    for (int c = 0; c < Co; c++) { /* both against the statistics in double */
        double mu = 0, var = 0;
        for (size_t r = 0; r < R; r++) mu += out[r * Co + c];
        mu /= (double)R;
        for (size_t r = 0; r < R; r++) var += (out[r * Co + c] - mu) * (out[r * Co + c] - mu);
        var /= (double)R;
        ck_assert_msg(mu > 90, "channel %d: mean %g, not the large-mean case", c, mu);
        for (int f = 0; f < 2; f++) {
            ck_assert_double_eq_tol(st[f][0][c], mu, 1e-6 * fabs(mu));
            ck_assert_double_eq_tol(st[f][1][c], 1 / sqrt(var + 1e-5), 1e-5 / sqrt(var + 1e-5));
        }
    }
    { /* y = a*x + b cancels a*x ~ 200 down to y ~ 1 here, so the two differ
       * by the rounding of a*x (and of a): bound by a few ulps of a*x, not of y */
        double dmax = 0, axmax = 0;
        for (size_t i = 0; i < nout; i++) {
            dmax = fmax(dmax, fabs((double)y2[i] - y[i]));
            axmax = fmax(axmax, fabs((double)out[i] * ab[0][i % Co]));
        }
        ck_assert_msg(dmax <= 1e-6 * axmax, "outputs differ by %g, a*x up to %g", dmax, axmax);
    }

    /* backward: BN (with its ReLU) then the conv, against the fused pair */
    float *dy = malloc(nout * sizeof *dy), *dbn = malloc(nout * sizeof *dbn), *coef = malloc(3 * Co * sizeof *coef);
    float *dx = malloc(nin * sizeof *dx), *dx2 = malloc(nin * sizeof *dx2), *scr = malloc(NET_GEMM_CHUNKS * NET_PW_SUB * Co * sizeof *scr);
    float *dw = calloc(nw, sizeof *dw), *dw2 = calloc(nw, sizeof *dw2), *dg = calloc(Co, sizeof *dg),
          *db = calloc(Co, sizeof *db), *dg2 = calloc(Co, sizeof *dg2), *db2 = calloc(Co, sizeof *db2);
    fill(dy, nout, &s, -1, 1);
    net_bn_backward(dbn, dg, db, dy, ab[0], out, st[0][0], st[0][1], gamma, R, Co, red);
    { /* the ReLU's mask, made from the affine map, is the forward's to the bit */
        float *masked = malloc(nout * sizeof *masked), *dbn2 = malloc(nout * sizeof *dbn2);
        float *dg3 = calloc(Co, sizeof *dg3), *db3 = calloc(Co, sizeof *db3);
        size_t zeros = 0;
        for (size_t i = 0; i < nout; i++) {
            masked[i] = y[i] > 0 ? dy[i] : 0.0f;
            zeros += y[i] <= 0;
        }
        ck_assert_msg(zeros > nout / 4 && zeros < 3 * nout / 4, "%zu of %zu outputs are 0", zeros, nout);
        net_bn_backward(dbn2, dg3, db3, masked, NULL, out, st[0][0], st[0][1], gamma, R, Co, red);
        ck_assert_mem_eq(dbn2, dbn, nout * sizeof *dbn);
        ck_assert_mem_eq(dg3, dg, Co * sizeof *dg);
        free(masked), free(dbn2), free(dg3), free(db3);
    }
    net_conv1x1_backward(dx, dw, dbn, in, w, R, Ci, Co, wpart, NULL);
    net_bn_backward_sums(coef, dg2, db2, dy, ab[0], out, st[0][0], st[0][1], gamma, R, Co, red);
    const NetBNGrad g = {.dout = dy, .relu_ab = ab[0], .in = out, .mean = st[0][0], .invstd = st[0][1], .coef = coef,
                         .scratch = scr};
    net_conv1x1_backward(dx2, dw2, NULL, in, w, R, Ci, Co, wpart, &g);
    ck_assert_mem_eq(dg2, dg, Co * sizeof *dg);
    ck_assert_mem_eq(db2, db, Co * sizeof *db);
    ck_assert_double_le(rel_diff(dx2, dx, nin), 1e-6);
    ck_assert_double_le(rel_diff(dw2, dw, nw), 1e-6);
    /* and the input gradient is w^T times the BN's, computed here in double */
    for (size_t r = 0; r < R; r += 997)
        for (int i = 0; i < Ci; i++) {
            double t = 0, m = 0;
            for (int c = 0; c < Co; c++) {
                t += (double)dbn[r * Co + c] * w[(size_t)i * Co + c];
                m += fabs((double)dbn[r * Co + c] * w[(size_t)i * Co + c]);
            }
            ck_assert_double_le(fabs(dx2[r * Ci + i] - t), 1e-6 * m + 1e-12);
        }
    free(in), free(w), free(out), free(out2), free(red), free(wpart), free(gamma), free(beta), free(y), free(y2);
    free(dy), free(dbn), free(coef), free(dx), free(dx2), free(scr), free(dw), free(dw2), free(dg), free(db);
    free(dg2), free(db2);
}
END_TEST

typedef struct {
    int B, H, W, C, K;
    float *in, *w, *bias, *S, *logits, *R;
} HeadCtx;

static double fwd_head(void *c)
{
    HeadCtx *h = c;
    net_head_forward(h->logits, h->S, h->in, h->w, h->bias, h->B, h->H, h->W, h->C, h->K);
    return dot(h->logits, h->R, (size_t)h->B * h->K);
}

/* The head (conv G, padding 1, bias, then the global average pool, computed
 * pool first) against the convolution written out, and its gradients
 * against finite differences. 19 channels, a 5x4 map, 3 classes. */
START_TEST(head_is_conv_then_average_pool)
{
    uint64_t s = 17;
    HeadCtx h = {.B = 2, .H = 5, .W = 4, .C = 19, .K = 3};
    const size_t nin = (size_t)h.B * h.H * h.W * h.C, nw = (size_t)9 * h.C * h.K, nl = (size_t)h.B * h.K;
    h.in = malloc(nin * sizeof *h.in), h.w = malloc(nw * sizeof *h.w), h.bias = malloc(h.K * sizeof *h.bias);
    h.S = malloc((size_t)h.B * 9 * h.C * sizeof *h.S), h.logits = malloc(nl * sizeof *h.logits);
    h.R = malloc(nl * sizeof *h.R);
    fill(h.in, nin, &s, -1, 1);
    fill(h.w, nw, &s, -0.5f, 0.5f);
    fill(h.bias, h.K, &s, -0.5f, 0.5f);
    fill(h.R, nl, &s, -1, 1);
    fwd_head(&h);
    for (int n = 0; n < h.B; n++)
        for (int k = 0; k < h.K; k++) {
            double sum = 0; /* sum over output pixels of the padded conv */
            for (int y = 0; y < h.H; y++)
                for (int x = 0; x < h.W; x++) {
                    double v = h.bias[k];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            const int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= h.H || ix < 0 || ix >= h.W) continue;
                            for (int c = 0; c < h.C; c++)
                                v += (double)h.in[(((size_t)n * h.H + iy) * h.W + ix) * h.C + c] *
                                     h.w[((size_t)(ky * 3 + kx) * h.C + c) * h.K + k];
                        }
                    sum += v;
                }
            ck_assert_double_eq_tol(h.logits[(size_t)n * h.K + k], sum / (h.H * h.W), 1e-5);
        }
    float *dx = malloc(nin * sizeof *dx), *dw = calloc(nw, sizeof *dw), *db = calloc(h.K, sizeof *db);
    float *U = malloc((size_t)h.B * 9 * h.C * sizeof *U);
    net_head_backward(dx, dw, db, U, h.R, h.S, h.w, h.B, h.H, h.W, h.C, h.K);
    dircheck("head dx", fwd_head, &h, h.in, dx, nin, 1e-2f, 1e-3, 0, 31);
    dircheck("head dw", fwd_head, &h, h.w, dw, nw, 1e-2f, 1e-3, 0, 32);
    dircheck("head dbias", fwd_head, &h, h.bias, db, h.K, 1e-2f, 1e-3, 0, 33);
    free(h.in), free(h.w), free(h.bias), free(h.S), free(h.logits), free(h.R), free(dx), free(dw), free(db), free(U);
}
END_TEST

START_TEST(grad_maxpool)
{
    uint64_t s = 16;
    /* 3 channels: one at a time; 35: two vectors of 16 and a tail of 3 */
    for (int C = 3; C <= 35; C += 32) {
        const int B = 2, H = 7, W = 6, Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
        const size_t nin = (size_t)B * H * W * C, nout = (size_t)B * Ho * Wo * C;
        Layer L = layer_new(B, H, W, C, C, nin, 0, nout, &s);
        L.argmax = malloc(nout * sizeof(int));
        float *dx = malloc(nin * sizeof *dx), *dref = calloc(nin, sizeof *dref);
        fwd_pool(&L);
        net_maxpool_backward(dx, L.R, L.argmax, B, H, W, C);
        dircheck("maxpool dx", fwd_pool, &L, L.in, dx, nin, 1e-4f, 1e-2, 0, 14);
        for (size_t i = 0; i < nin; i += 5) L.in[i] = 0.5f; /* ties (no derivative): the first maximum wins */
        fwd_pool(&L);
        /* out is the window maximum, its index the first in scan order, independently computed */
        for (int n = 0; n < B; n++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++)
                    for (int c = 0; c < C; c++) {
                        float mx = -1e30f;
                        int at = -1;
                        for (int y = 2 * oy - 1; y <= 2 * oy + 1; y++)
                            for (int x = 2 * ox - 1; x <= 2 * ox + 1; x++)
                                if (y >= 0 && y < H && x >= 0 && x < W && L.in[((n * H + y) * W + x) * C + c] > mx) {
                                    mx = L.in[((n * H + y) * W + x) * C + c];
                                    at = y * W + x;
                                }
                        const size_t k = (((size_t)n * Ho + oy) * Wo + ox) * C + c;
                        ck_assert_float_eq(L.out[k], mx);
                        ck_assert_int_eq(L.argmax[k], at);
                        dref[(((size_t)n * H * W) + at) * C + c] += L.R[k]; /* the scatter, in output order */
                    }
        net_maxpool_backward(dx, L.R, L.argmax, B, H, W, C);
        ck_assert_mem_eq(dx, dref, nin * sizeof *dx);
        /* fused BN affine map (a < 0 flips the order): same as pooling a*x+b */
        float *a = malloc(C * sizeof *a), *b = malloc(C * sizeof *b), *ra = malloc(C * sizeof *ra),
              *rb = malloc(C * sizeof *rb);
        for (int c = 0; c < C; c++) {
            a[c] = c % 3 == 1 ? -1.3f : 0.7f + 0.05f * c;
            b[c] = 0.1f * (c % 5) - 0.2f;
            ra[c] = c % 2 ? -0.5f : 1.5f;
            rb[c] = 0.01f * c - 0.2f;
        }
        float *y = malloc(nin * sizeof *y), *o2 = malloc(nout * sizeof *o2), *res = malloc(nout * sizeof *res);
        int *am2 = malloc(nout * sizeof *am2);
        for (size_t i = 0; i < nin; i++) y[i] = L.in[i] * a[i % C] + b[i % C];
        net_maxpool_forward(L.out, L.argmax, y, B, H, W, C);
        net_maxpool_bn_forward(o2, am2, L.in, a, b, B, H, W, C, NULL, NULL, NULL);
        for (size_t i = 0; i < nout; i++) {
            ck_assert_float_eq_tol(o2[i], L.out[i], 1e-6);
            ck_assert_int_eq(am2[i], L.argmax[i]);
        }
        /* and with a shortcut's affine map added: out + ra*res + rb */
        for (size_t i = 0; i < nout; i++) res[i] = (float)(i % 7) - 3.0f;
        net_maxpool_bn_forward(o2, am2, L.in, a, b, B, H, W, C, res, ra, rb);
        for (size_t i = 0; i < nout; i++) {
            ck_assert_float_eq_tol(o2[i], L.out[i] + res[i] * ra[i % C] + rb[i % C], 1e-5);
            ck_assert_int_eq(am2[i], L.argmax[i]);
        }
        free(a), free(b), free(ra), free(rb), free(res), free(y), free(o2), free(am2), free(dx), free(dref);
        layer_free(&L);
    }
}
END_TEST

typedef struct {
    float *logits, *probs, *w;
    int *labels;
    float smoothing, gamma;
    int B, K;
} LossCtx;

static double fwd_loss(void *c)
{
    LossCtx *L = c;
    return net_xent_forward_backward(L->probs, NULL, L->logits, L->labels, L->w, L->smoothing, L->gamma, L->B, L->K);
}

START_TEST(grad_loss_weights_smoothing_focal)
{
    uint64_t s = 17;
    const int B = 5, K = 4;
    float logits[20], probs[20], d[20], w[4] = {1.0f, 2.5f, 0.5f, 1.5f};
    int labels[5] = {0, 3, 1, 1, 2};
    fill(logits, 20, &s, -2, 2);
    const float sm[] = {0, 0.1f, 0, 0.2f}, gm[] = {0, 0, 2.0f, 1.5f};
    for (int k = 0; k < 4; k++) {
        LossCtx L = {logits, probs, w, labels, sm[k], gm[k], B, K};
        net_xent_forward_backward(probs, d, logits, labels, w, sm[k], gm[k], B, K);
        dircheck("loss dlogits", fwd_loss, &L, logits, d, 20, 1e-2f, 1e-3, 0, 20 + k);
    }
    /* unweighted, unsmoothed: the textbook mean of -log p_y */
    double ref = 0;
    float got = net_xent_forward_backward(probs, NULL, logits, labels, NULL, 0, 0, B, K);
    for (int i = 0; i < B; i++) ref -= log(probs[i * K + labels[i]]);
    ck_assert_float_eq_tol(got, ref / B, 1e-6);
}
END_TEST

/* Whole network, small config: a directional check per parameter tensor.
 * A tiny net with BN over a few rows has ReLU and max-pool kinks everywhere,
 * so the step must be small (1e-4: measured, the central difference of the
 * first layer converges to the analytic value only below ~2e-4); the
 * absolute floor covers float rounding of the loss divided by 2h. */
typedef struct {
    NetModel *m;
    const float *x;
    const int *labels;
    const NetLossOpts *lo;
    int B;
} NetCtx;

static double fwd_net(void *c)
{
    NetCtx *n = c;
    net_forward(n->m, n->x, n->B, 1);
    return net_loss(n->m, n->labels, n->lo);
}

static void small_config(NetConfig *cfg)
{
    net_config_default(cfg);
    cfg->input_h = cfg->input_w = 14;
    cfg->stem_width[0] = 3;
    cfg->stem_width[1] = 4;
    cfg->n_modules = 2;
    cfg->module_width[0] = 6;
    cfg->module_width[1] = 8;
    cfg->n_classes = 3;
}

START_TEST(grad_whole_network)
{
    NetConfig cfg;
    small_config(&cfg);
    cfg.input_mean = 0.5f;
    cfg.input_std = 0.25f;
    NetModel *m;
    ck_assert_int_eq(net_create(&m, &cfg, 3, NULL), EMO_OK);
    net_init_params(m, 7);
    /* non-trivial BN affine parameters so their gradients are exercised */
    uint64_t s = 99;
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind == NET_TENSOR_PARAM && nt->ndim == 1)
            fill(net_params(m) + nt->offset, nt->numel, &s, strstr(nt->name, "weight") ? 0.5f : -0.3f,
                 strstr(nt->name, "weight") ? 1.5f : 0.3f);
    }
    const int B = 3;
    float x[3 * 14 * 14];
    fill(x, sizeof x / sizeof x[0], &s, 0, 1);
    int labels[3] = {2, 0, 1};
    float w[3] = {1.0f, 2.0f, 0.5f};
    NetLossOpts lo = {.class_weights = w, .label_smoothing = 0.1f};
    NetCtx ctx = {m, x, labels, &lo, B};
    fwd_net(&ctx);
    ck_assert_int_eq(net_backward(m, labels, &lo, NULL, NULL), EMO_OK);
    float *g = malloc(net_param_count(m) * sizeof *g);
    memcpy(g, net_grads(m), net_param_count(m) * sizeof *g);
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind != NET_TENSOR_PARAM) continue;
        char what[80];
        snprintf(what, sizeof what, "network d/d %s", nt->name);
        dircheck(what, fwd_net, &ctx, net_params(m) + nt->offset, g + nt->offset, nt->numel, 1e-4f, 2e-2, 2e-3,
                 100 + (uint64_t)i);
    }
    free(g);
    net_free(m);
}
END_TEST

START_TEST(backward_needs_train_forward)
{
    NetConfig cfg;
    small_config(&cfg);
    NetModel *m;
    ck_assert_int_eq(net_create(&m, &cfg, 2, NULL), EMO_OK);
    net_init_params(m, 1);
    float x[2 * 14 * 14] = {0};
    int labels[2] = {0, 5};
    net_forward(m, x, 2, 0);
    EmoError err;
    ck_assert_int_eq(net_backward(m, labels, NULL, NULL, &err), EMO_ERR_ARG);
    net_forward(m, x, 2, 1);
    ck_assert_int_eq(net_backward(m, labels, NULL, NULL, &err), EMO_ERR_ARG); /* label 5 of 3 classes */
    ck_assert_ptr_nonnull(strstr(err.msg, "label 5"));
    cfg.n_classes = 1;
    NetModel *bad;
    ck_assert_int_eq(net_create(&bad, &cfg, 2, &err), EMO_ERR_ARG);
    ck_assert_ptr_null(bad);
    net_free(m);
}
END_TEST

/*-*** Eval-mode fast path (NetInferMode) ***/

/* Max |got - ref| / max(|ref|, floor) over n values. */
static double max_rel_err(const float *got, const float *ref, size_t n, double floor)
{
    double scale = floor, e = 0;
    for (size_t i = 0; i < n; i++) scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    for (size_t i = 0; i < n; i++) e = fabs((double)got[i] - ref[i]) > e ? fabs((double)got[i] - ref[i]) : e;
    return e / scale;
}

/* The FP32 and BF16 modes against the layer path (NET_INFER_LAYERS) with
 * non-trivial BN statistics, at batch B and B-1. */
static void check_infer_modes(const NetConfig *cfg, int B, uint32_t seed, double tol32, double tol16)
{
    NetModel *m;
    EmoError err;
    ck_assert_int_eq(net_create(&m, cfg, B, &err), EMO_OK);
    net_init_params(m, seed);
    fixture_params(m); /* gamma 1 +- 1/8, beta +- 1/8, conv weights +- 1/sqrt(fan_in) */
    for (int i = 0; i < net_tensor_count(m); i++) {
        const NetTensor *nt = net_tensor(m, i);
        if (nt->kind != NET_TENSOR_BUFFER) continue;
        float *v = net_buffers(m) + nt->offset;
        const int var = strstr(nt->name, "running_var") != NULL;
        for (size_t k = 0; k < nt->numel; k++)
            v[k] = var ? 0.25f + (float)fx_u(seed + 50 + (uint32_t)i, (uint32_t)k)
                       : 0.3f * fx_signed(seed + 50 + (uint32_t)i, (uint32_t)k);
    }
    const size_t npix = (size_t)B * cfg->input_h * cfg->input_w, K = cfg->n_classes;
    float *x = malloc(npix * sizeof *x), *ref = malloc((size_t)B * K * sizeof *ref);
    float *refp = malloc((size_t)B * K * sizeof *refp);
    for (size_t i = 0; i < npix; i++) x[i] = (float)fx_u(seed + 1000, (uint32_t)i);
    ck_assert_int_eq(net_infer_mode(m), NET_INFER_FP32); /* the default */
    for (int b = B; b >= B - 1 && b >= 1; b--) {
        ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_LAYERS, &err), EMO_OK);
        net_forward(m, x, b, 0);
        memcpy(ref, net_logits(m), (size_t)b * K * sizeof *ref);
        memcpy(refp, net_probs(m), (size_t)b * K * sizeof *refp);
        ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_FP32, &err), EMO_OK);
        net_forward(m, x, b, 0);
        const double e32 = max_rel_err(net_logits(m), ref, (size_t)b * K, 1e-3);
        fprintf(stderr, "infer %ux%u batch %d: fp32 logits max rel err %.2e", cfg->input_w, cfg->input_h, b, e32);
        expect_close("fp32 logits", net_logits(m), ref, (size_t)b * K, tol32, 1e-3);
        expect_close("fp32 probs", net_probs(m), refp, (size_t)b * K, tol32, 1e-3);
        if (net_cpu_has_bf16()) {
            ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_BF16, &err), EMO_OK);
            net_forward(m, x, b, 0);
            fprintf(stderr, ", bf16 %.2e", max_rel_err(net_logits(m), ref, (size_t)b * K, 1e-3));
            expect_close("bf16 logits", net_logits(m), ref, (size_t)b * K, tol16, 1e-3);
            ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_FP32, &err), EMO_OK);
        }
        fprintf(stderr, "\n");
    }
    /* an eval forward leaves training untouched: train mode still works after it */
    net_forward(m, x, B, 1);
    int *labels = calloc((size_t)B, sizeof *labels);
    ck_assert_int_eq(net_backward(m, labels, NULL, NULL, &err), EMO_OK);
    free(labels);
    free(x);
    free(ref);
    free(refp);
    net_free(m);
}

START_TEST(infer_matches_layers_default_net)
{
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.input_mean = 0.5f;
    cfg.input_std = 0.25f;
    check_infer_modes(&cfg, 5, 7, 1e-5, 2e-2);
    check_infer_modes(&cfg, 1, 8, 1e-5, 2e-2); /* fewer images than threads: layers split over threads */
}
END_TEST

/* Widths that are multiples of 16 but not of 64 (the kernels' column tails),
 * odd image sizes (row tails; conv B direct instead of Winograd), a
 * narrowing module. */
START_TEST(infer_matches_layers_odd_shapes)
{
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.input_h = 20; /* conv B output 16x20: Winograd F(4x4,3x3) in fp32, F(2x2,3x3) in bf16 */
    cfg.input_w = 24;
    cfg.stem_width[0] = 16;
    cfg.stem_width[1] = 48;
    cfg.module_width[0] = 80;
    cfg.module_width[1] = 32;
    cfg.n_classes = 3;
    check_infer_modes(&cfg, 3, 11, 1e-5, 2e-2);
    cfg.n_modules = 1;
    cfg.input_h = 22; /* 18x14: F(2x2,3x3) in both */
    cfg.input_w = 16;
    check_infer_modes(&cfg, 2, 13, 1e-5, 2e-2);
    cfg.input_h = 21; /* 17x15: the implicit GEMM */
    cfg.input_w = 19;
    check_infer_modes(&cfg, 1, 12, 1e-5, 2e-2);
}
END_TEST

/* Training's conv B by Winograd (forward and input gradient) against the
 * direct GEMMs (net_set_train_winograd(m, 0)): logits, loss, every gradient
 * and the BN statistics agree to 2e-5 of each tensor's largest value. The
 * two must also differ somewhere (by rounding): otherwise the Winograd path
 * did not run and the comparison proves nothing. */
static void check_train_winograd(const NetConfig *cfg, int B, uint32_t seed)
{
    NetModel *m;
    EmoError err;
    ck_assert_int_eq(net_create(&m, cfg, B, &err), EMO_OK);
    net_init_params(m, seed);
    fixture_params(m);
    const size_t npix = (size_t)B * cfg->input_h * cfg->input_w, K = cfg->n_classes, np = net_param_count(m);
    float *x = malloc(npix * sizeof *x), *logits = malloc((size_t)B * K * sizeof *logits);
    float *grads = malloc(np * sizeof *grads), *bufs = malloc(net_buffer_count(m) * sizeof *bufs);
    int *labels = malloc((size_t)B * sizeof *labels);
    for (size_t i = 0; i < npix; i++) x[i] = (float)fx_u(seed + 1000, (uint32_t)i);
    for (int i = 0; i < B; i++) labels[i] = (int)(fx_hash(seed + 2000, (uint32_t)i) % K);
    float loss[2];
    float *saved = malloc(net_buffer_count(m) * sizeof *saved);
    memcpy(saved, net_buffers(m), net_buffer_count(m) * sizeof *saved);
    double differs = 0;
    for (int pass = 0; pass < 2; pass++) {
        net_set_train_winograd(m, pass == 0 ? 0 : 1); /* pass 0: direct (reference), 1: Winograd */
        memcpy(net_buffers(m), saved, net_buffer_count(m) * sizeof *saved);
        net_forward(m, x, B, 1);
        ck_assert_int_eq(net_backward(m, labels, NULL, &loss[pass], &err), EMO_OK);
        if (pass == 0) {
            memcpy(logits, net_logits(m), (size_t)B * K * sizeof *logits);
            memcpy(grads, net_grads(m), np * sizeof *grads);
            memcpy(bufs, net_buffers(m), net_buffer_count(m) * sizeof *bufs);
            continue;
        }
        expect_close("winograd logits", net_logits(m), logits, (size_t)B * K, 2e-5, 1e-3);
        ck_assert_msg(fabs(loss[1] - loss[0]) <= 2e-5 * fabs(loss[0]), "loss %.8g vs direct %.8g", loss[1], loss[0]);
        for (int i = 0; i < net_tensor_count(m); i++) {
            const NetTensor *nt = net_tensor(m, i);
            const float *got = nt->kind == NET_TENSOR_BUFFER ? net_buffers(m) : net_grads(m);
            const float *ref = nt->kind == NET_TENSOR_BUFFER ? bufs : grads;
            char what[160];
            snprintf(what, sizeof what, "winograd %s %s", nt->kind == NET_TENSOR_BUFFER ? "buffer" : "grad", nt->name);
            expect_close(what, got + nt->offset, ref + nt->offset, nt->numel, 2e-5, 1e-12);
            for (size_t k = 0; k < nt->numel; k++) differs += fabs((double)got[nt->offset + k] - ref[nt->offset + k]);
        }
    }
    ck_assert_msg(differs > 0, "the Winograd and direct passes are bit-identical: Winograd did not run");
    free(saved);
    free(labels);
    free(bufs);
    free(grads);
    free(logits);
    free(x);
    net_free(m);
}

START_TEST(train_winograd_matches_direct)
{
    NetConfig cfg;
    net_config_default(&cfg);
    check_train_winograd(&cfg, 3, 21); /* 46x46 -> 44x44: both passes */
    cfg.input_h = 21;                      /* conv B 19x17 -> 17x15: the input gradient only (framed, cropped) */
    cfg.input_w = 19;
    cfg.stem_width[0] = 16;
    cfg.stem_width[1] = 48;
    cfg.module_width[0] = 32;
    cfg.module_width[1] = 32;
    cfg.n_classes = 3;
    check_train_winograd(&cfg, 2, 22);
    cfg.input_h = 20; /* 18x22 -> 16x20: both */
    cfg.input_w = 24;
    check_train_winograd(&cfg, 2, 23);
}
END_TEST

/* Widths the kernels do not take run the layer path in FP32 mode; BF16 is refused. */
START_TEST(infer_falls_back_on_other_widths)
{
    NetConfig cfg;
    small_config(&cfg);
    NetModel *m;
    EmoError err;
    ck_assert_int_eq(net_create(&m, &cfg, 2, &err), EMO_OK);
    net_init_params(m, 3);
    float x[2 * 14 * 14], ref[6];
    for (int i = 0; i < 2 * 14 * 14; i++) x[i] = (float)fx_u(9, (uint32_t)i);
    ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_LAYERS, &err), EMO_OK);
    net_forward(m, x, 2, 0);
    memcpy(ref, net_logits(m), sizeof ref);
    ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_FP32, &err), EMO_OK);
    net_forward(m, x, 2, 0);
    ck_assert(memcmp(ref, net_logits(m), sizeof ref) == 0);
    ck_assert_int_eq(net_set_infer_mode(m, NET_INFER_BF16, &err), EMO_ERR_UNSUPPORTED);
    ck_assert_int_eq(net_infer_mode(m), NET_INFER_FP32);
    NetInferMode mode;
    ck_assert(net_infer_mode_parse("bf16", &mode) && mode == NET_INFER_BF16);
    ck_assert(net_infer_mode_parse("layers", &mode) && mode == NET_INFER_LAYERS);
    ck_assert(!net_infer_mode_parse("fp16", &mode));
    ck_assert_str_eq(net_infer_mode_name(NET_INFER_FP32), "fp32");
    net_free(m);
}
END_TEST

/*-*** Learning ***/

START_TEST(memorizes_tiny_dataset)
{
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.input_h = cfg.input_w = 24;
    cfg.stem_width[0] = cfg.stem_width[1] = 8;
    cfg.module_width[0] = 16;
    cfg.module_width[1] = 32;
    const int N = 32, K = 7;
    NetModel *m;
    ck_assert_int_eq(net_create(&m, &cfg, N, NULL), EMO_OK);
    net_init_params(m, 3);
    float *x = malloc(sizeof(float) * N * 24 * 24);
    uint64_t s = 5;
    fill(x, (size_t)N * 24 * 24, &s, 0, 1);
    int labels[32];
    for (int i = 0; i < N; i++) labels[i] = i % K;
    NetOptConfig oc;
    net_optim_config_default(&oc, NET_OPT_ADAM);
    NetOptim o;
    ck_assert_int_eq(net_optim_init(&o, &oc, net_param_count(m), NULL), EMO_OK);
    float first = 0, loss = 0;
    int correct = 0, step;
    for (step = 0; step < 400; step++) {
        net_forward(m, x, N, 1);
        ck_assert_int_eq(net_backward(m, labels, NULL, &loss, NULL), EMO_OK);
        if (step == 0) first = loss;
        net_optim_step(&o, m, 3e-3f);
        if (step % 20 == 19) { /* accuracy with the running statistics (eval mode) */
            net_forward(m, x, N, 0);
            correct = 0;
            for (int i = 0; i < N; i++) {
                const float *p = net_probs(m) + (size_t)i * K;
                int best = 0;
                for (int c = 1; c < K; c++) best = p[c] > p[best] ? c : best;
                correct += best == labels[i];
            }
            if (correct == N) break;
        }
    }
    ck_assert_msg(correct == N, "only %d/%d memorized after %d steps (loss %.3f -> %.3f)", correct, N, step, first,
                  loss);
    free(x);
    net_optim_free(&o);
    net_free(m);
}
END_TEST

/* The GEMM kernel choice (net_blas.h), case by case. */
START_TEST(blas_plan_rules)
{
    /* OpenBLAS fell back to SSE3 kernels: ask for the CPU's best. */
    ck_assert_str_eq(net_blas_plan("Prescott", NET_CPU_AVX512, NULL, NULL), "SkylakeX");
    ck_assert_str_eq(net_blas_plan("Sandybridge", NET_CPU_AVX2, NULL, ""), "Haswell");
    ck_assert_str_eq(net_blas_plan("Prescott", NET_CPU_AVX512, "", NULL), "SkylakeX"); /* empty = unset */
    /* Already fast kernels, an older CPU, the user's choice, valgrind: keep. */
    ck_assert_ptr_null(net_blas_plan("SkylakeX", NET_CPU_AVX512, NULL, NULL));
    ck_assert_ptr_null(net_blas_plan("Zen", NET_CPU_AVX2, NULL, NULL));
    ck_assert_ptr_null(net_blas_plan("Haswell", NET_CPU_AVX512, NULL, NULL));
    ck_assert_ptr_null(net_blas_plan("Prescott", NET_CPU_BASIC, NULL, NULL));
    ck_assert_ptr_null(net_blas_plan("Prescott", NET_CPU_AVX512, "Prescott", NULL));
    ck_assert_ptr_null(
        net_blas_plan("Prescott", NET_CPU_AVX2, NULL, "/usr/libexec/valgrind/vgpreload_core-amd64-linux.so"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *ref = tcase_create("pytorch");
    tcase_add_test(ref, default_net_has_pytorch_shapes);
    tcase_add_test(ref, matches_pytorch_seed_cnn);
    tcase_add_test(ref, optimizers_match_pytorch);
    tcase_add_test(ref, weight_average_follows_the_steps);
    tcase_set_timeout(ref, 120);
    suite_add_tcase(s, ref);
    TCase *fd = tcase_create("finite_differences");
    tcase_add_test(fd, grad_conv3x3c1);
    tcase_add_test(fd, grad_conv3x3);
    tcase_add_test(fd, grad_conv1x1_and_stride2);
    tcase_add_test(fd, grad_dwconv);
    tcase_add_test(fd, grad_batchnorm);
    tcase_add_test(fd, fused_bn_conv1x1_match_layers);
    tcase_add_test(fd, grad_maxpool);
    tcase_add_test(fd, head_is_conv_then_average_pool);
    tcase_add_test(fd, grad_loss_weights_smoothing_focal);
    tcase_add_test(fd, grad_whole_network);
    tcase_add_test(fd, backward_needs_train_forward);
    tcase_set_timeout(fd, 120);
    suite_add_tcase(s, fd);
    TCase *inf = tcase_create("inference");
    tcase_add_test(inf, infer_matches_layers_default_net);
    tcase_add_test(inf, infer_matches_layers_odd_shapes);
    tcase_add_test(inf, infer_falls_back_on_other_widths);
    tcase_add_test(inf, train_winograd_matches_direct);
    tcase_add_test(inf, blas_plan_rules);
    tcase_set_timeout(inf, 120);
    suite_add_tcase(s, inf);
    TCase *learn = tcase_create("learning");
    tcase_add_test(learn, memorizes_tiny_dataset);
    tcase_set_timeout(learn, 300);
    suite_add_tcase(s, learn);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
