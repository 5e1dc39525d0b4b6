/* net_bench.c: the engine's throughput benchmark (see net_bench.h). */
#include "net_bench.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "net_model.h"
#include "net_optim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void net_bench_defaults(NetBenchOpts *o)
{
    o->batch = 64;
    o->threads = 0;
    o->steps = 20;
    o->warmup = 3;
    o->profile = 0;
    o->infer = NET_INFER_FP32;
}

EmoStatus net_bench_run(const NetBenchOpts *o, NetBenchResult *r, EmoError *err)
{
    memset(r, 0, sizeof *r);
    if (o->batch < 1 || o->batch > 4096 || o->steps < 1 || o->steps > 100000 || o->warmup < 0 || o->threads < 0)
        return emo_error_set(err, EMO_ERR_ARG, "bench: batch 1..4096, steps >= 1, warmup >= 0, threads >= 0");
    if (o->threads > 0) net_set_threads(o->threads);
    NetConfig cfg;
    net_config_default(&cfg);
    NetModel *m;
    EMO_RETURN_IF_ERR(net_create(&m, &cfg, o->batch, err));
    net_init_params(m, 1);
    NetOptConfig oc;
    net_optim_config_default(&oc, NET_OPT_ADAM);
    NetOptim opt;
    EmoStatus s = net_optim_init(&opt, &oc, net_param_count(m), err);
    const size_t npix = (size_t)o->batch * cfg.input_h * cfg.input_w;
    float *x = malloc(npix * sizeof *x);
    int *labels = malloc((size_t)o->batch * sizeof *labels);
    double *t = malloc((size_t)o->steps * sizeof *t);
    if (s == EMO_OK && (!x || !labels || !t)) s = emo_error_set(err, EMO_ERR_NOMEM, "bench: out of memory");
    if (s == EMO_OK) s = net_set_infer_mode(m, o->infer, err);
    if (s != EMO_OK) goto done;
    uint64_t st = 42;
    for (size_t i = 0; i < npix; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(st >> 40) / 16777216.0f;
    }
    for (int i = 0; i < o->batch; i++) labels[i] = i % (int)cfg.n_classes;

    double c0 = 0;
    for (int i = 0; i < o->warmup + o->steps; i++) {
        if (i == o->warmup) c0 = cpu_s();
        if (o->profile && i == o->warmup) net_profile_enable(m, 1);
        const double t0 = now_s();
        net_forward(m, x, o->batch, 1);
        if ((s = net_backward(m, labels, NULL, NULL, err)) != EMO_OK) goto done;
        net_optim_step(&opt, m, 1e-3f);
        if (i >= o->warmup) t[i - o->warmup] = now_s() - t0;
    }
    r->train_img_per_cpu_s = (double)o->batch * o->steps / (cpu_s() - c0);
    r->train_step_ms = 1e3 * median(t, o->steps);
    if (o->profile) {
        net_profile_report(m, r->profile, sizeof r->profile);
        net_profile_enable(m, 0);
    }
    for (int i = 0; i < o->warmup + o->steps; i++) {
        if (i == o->warmup) c0 = cpu_s();
        if (o->profile && i == o->warmup) net_profile_enable(m, 1);
        const double t0 = now_s();
        net_forward(m, x, o->batch, 0);
        if (i >= o->warmup) t[i - o->warmup] = now_s() - t0;
    }
    if (o->profile) {
        net_profile_report(m, r->infer_profile, sizeof r->infer_profile);
        net_profile_enable(m, 0);
    }
    r->infer_img_per_cpu_s = (double)o->batch * o->steps / (cpu_s() - c0);
    r->infer_step_ms = 1e3 * median(t, o->steps);
    r->train_img_per_s = o->batch / (1e-3 * r->train_step_ms);
    r->infer_img_per_s = o->batch / (1e-3 * r->infer_step_ms);
    r->fwd_gflop_per_img = 1e-9 * net_forward_flops(m);
    r->train_gflop_per_s = 3.0 * r->fwd_gflop_per_img * r->train_img_per_s;
    r->infer_gflop_per_s = r->fwd_gflop_per_img * r->infer_img_per_s;
    r->params = net_param_count(m);
    r->batch = o->batch;
#ifdef _OPENMP
    r->threads = omp_get_max_threads();
#else
    r->threads = 1;
#endif
done:
    free(x);
    free(labels);
    free(t);
    net_optim_free(&opt);
    net_free(m);
    return s;
}
