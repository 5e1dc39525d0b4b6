/* emotrain: trains the emotion CNN. For now: the engine benchmark (--bench).
 *
 * Exit codes: 0 ok, 1 failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_bench.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emotrain --bench [--batch N] [--threads N] [--steps N] [--profile] [--quiet]\n"
            "\n"
            "  --bench        time the default network on synthetic 48x48 input:\n"
            "                 training (forward + backward + Adam step) and inference\n"
            "                 (eval-mode forward); prints one line\n"
            "                 train_img_per_s=N infer_img_per_s=M batch=.. threads=.. ...\n"
            "                 (images/s from the median of the timed steps)\n"
            "  --batch N      images per step (default 64)\n"
            "  --threads N    OpenMP and OpenBLAS threads (default: OMP_NUM_THREADS or all cores)\n"
            "  --steps N      timed steps per mode (default 20, after 3 untimed ones)\n"
            "  --profile      also print per-layer forward/backward times (ms, summed over the timed steps)\n"
            "  --quiet        print only the result line\n"
            "  --help         this text\n"
            "  --version      print the version\n");
}

/* Parses a positive int option value; returns 0 on error. */
static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000000) return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    NetBenchOpts o;
    net_bench_defaults(&o);
    int bench = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("emotrain %s\n", EMO_VERSION);
            return 0;
        } else if (!strcmp(a, "--bench")) {
            bench = 1;
        } else if (!strcmp(a, "--profile")) {
            o.profile = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if ((!strcmp(a, "--batch") || !strcmp(a, "--threads") || !strcmp(a, "--steps")) && i + 1 < argc) {
            int *dst = !strcmp(a, "--batch") ? &o.batch : !strcmp(a, "--threads") ? &o.threads : &o.steps;
            if (!parse_int(argv[++i], dst)) {
                fprintf(stderr, "emotrain: %s needs a positive integer, got '%s'\n", a, argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "emotrain: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!bench) {
        usage(stderr);
        return 2;
    }
    if (!quiet) fprintf(stderr, "emotrain: benchmarking batch %d ...\n", o.batch);
    NetBenchResult r;
    EmoError err;
    if (net_bench_run(&o, &r, &err) != EMO_OK) {
        fprintf(stderr, "emotrain: %s\n", err.msg);
        return 1;
    }
    printf("train_img_per_s=%.1f infer_img_per_s=%.1f batch=%d threads=%d params=%zu "
           "train_step_ms=%.1f infer_step_ms=%.1f train_gflop_per_s=%.1f\n",
           r.train_img_per_s, r.infer_img_per_s, r.batch, r.threads, r.params, r.train_step_ms, r.infer_step_ms,
           r.train_gflop_per_s);
    if (o.profile) printf("profile: %s\n", r.profile);
    return 0;
}
