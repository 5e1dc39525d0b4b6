/* net_bench.h: throughput of the default network on synthetic input (emotrain --bench).
 *
 * Training = forward (train mode) + backward + Adam step; inference =
 * forward in eval mode. Each timed step is measured alone and the median
 * step time is reported, so a burst of load from another process on a
 * shared machine moves the result less than a mean would. */
#ifndef NET_BENCH_H
#define NET_BENCH_H

#include <stddef.h>

#include "emo_error.h"
#include "net_model.h"

typedef struct {
    int batch;   /* images per step (default 64) */
    int threads; /* OpenMP + OpenBLAS threads; 0 = leave as is */
    int steps;   /* timed steps per mode (default 20) */
    int warmup;  /* untimed steps first (default 3) */
    int profile; /* fill NetBenchResult.profile with per-layer times of the timed steps */
    NetInferMode infer; /* how the inference steps run (default NET_INFER_FP32) */
} NetBenchOpts;

typedef struct {
    double train_img_per_s, infer_img_per_s; /* batch / median step time */
    double train_step_ms, infer_step_ms;     /* median step times */
    double train_img_per_cpu_s, infer_img_per_cpu_s; /* images per second of process CPU time: on a
                                                      * shared machine, the load-independent cost */
    double train_gflop_per_s;                /* 3 x forward FLOPs per image x train img/s */
    double infer_gflop_per_s;                /* forward FLOPs per image x infer img/s */
    double fwd_gflop_per_img;
    size_t params;
    int batch, threads;
    char profile[1024]; /* net_profile_report summed over the timed training steps */
    char infer_profile[1024]; /* the same over the inference steps; the per-image layers
                               * (NET_INFER_FP32/BF16) sum thread time, not wall time */
} NetBenchResult;

void net_bench_defaults(NetBenchOpts *o);

/* Runs the benchmark. EMO_ERR_ARG on a bad option, EMO_ERR_NOMEM. */
EmoStatus net_bench_run(const NetBenchOpts *o, NetBenchResult *r, EmoError *err);

#endif /* NET_BENCH_H */
