/* emotrain: train the emotion CNN on face shards (with checkpoints and
 * resume), evaluate a model (--eval), or time the engine (--bench).
 *
 * The training loop, loader, metrics and reports are the trainer library
 * (train/train_*.h); this file is the command line around it: options,
 * the class-weight and epoch lines, the progress bar on a TTY, signals
 * (Ctrl-C finishes the batch and writes a checkpoint), the final report.
 * --help below is the manual. Exit codes: 0 ok, 1 failed or interrupted,
 * 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emo_fs.h"
#include "net_bench.h"
#include "net_blas.h"
#include "net_model.h"
#include "train_eval.h"
#include "train_loader.h"
#include "train_report.h"
#include "train_run.h"

#ifndef EMO_VERSION
#define EMO_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: emotrain --shards DIR [--shards DIR2 ...] [--val DIR] -o RUNDIR [options]\n"
    "       emotrain --eval --model M --shards DIR [-o|--json report.json] [--confusion-png F]\n"
    "       emotrain --bench [--batch N] [--threads N] [--steps N] [--profile]\n"
    "Try 'emotrain --help'.\n";

static const char help_text[] =
    "emotrain: train the emotion CNN on face shards, or evaluate a model.\n"
    "\n"
    "TRAINING\n"
    "  emotrain --shards DIR [--shards DIR2 ...] [--val DIR] -o RUNDIR [options]\n"
    "\n"
    "  Streams the records of every --shards dataset (e.g. the ingested set and\n"
    "  emoaugment's output): each epoch visits the shards in a seeded random order,\n"
    "  mixes the datasets, shuffles through a bounded buffer, and assembles batches\n"
    "  on a worker thread. After every epoch it evaluates on --val and writes into\n"
    "  RUNDIR (each file atomically):\n"
    "    checkpoint.emomodel  model + optimizer + schedule + data position (--resume)\n"
    "    best.emomodel        the model of the best epoch by --monitor on --val\n"
    "    last.emomodel        the model after the latest epoch\n"
    "    metrics.csv          one row per epoch: epoch, elapsed_s, epoch_s, lr,\n"
    "                         train_loss, train_acc, val_loss, val_acc, val_macro_f1,\n"
    "                         val_recall_<class> for the 7 classes, best (0/1)\n"
    "    eval.json            best.emomodel on --val: accuracy, macro-F1, per-class\n"
    "                         precision/recall/F1, confusion matrix\n"
    "    confusion.png        that confusion matrix as a heat map\n"
    "  It prints the class weights it uses, one line per epoch on stderr, a\n"
    "  progress bar (images/s, ETA) when stderr is a terminal, and the report of\n"
    "  best.emomodel (with its confusion matrix) on stdout at the end.\n"
    "  Without --val, the best model is chosen on the training metrics and no\n"
    "  eval.json or confusion.png is written.\n"
    "\n"
    "  Data\n"
    "    --shards DIR         training dataset (repeatable)\n"
    "    --val DIR            validation dataset (repeatable)\n"
    "    -o, --output RUNDIR  run directory (created)\n"
    "    --augment LIST       on-the-fly augmentation, comma-separated: flip,\n"
    "                         shift=F (fraction of the size), rotate=DEG, zoom=F,\n"
    "                         brightness=F; 'none' (default). Offline augmentation\n"
    "                         (emoaugment) is the main tool; this adds variety per epoch\n"
    "    --hflip              the same as --augment flip\n"
    "    --shuffle-buffer N   records held for shuffling (default 8192, ~18 MB)\n"
    "    --skip-corrupt       skip corrupt shard blocks (counted and reported at the\n"
    "                         end) instead of stopping with an error naming them\n"
    "\n"
    "  Optimization\n"
    "    --epochs N           epochs (default 30)\n"
    "    --batch N            batch size (default 64)\n"
    "    --lr X               base learning rate (default 1e-3)\n"
    "    --optimizer NAME     adam (default), adamw, sgd\n"
    "    --momentum X         SGD momentum (default 0.9)\n"
    "    --nesterov           SGD with Nesterov momentum\n"
    "    --weight-decay X     L2 (adam, sgd) or decoupled (adamw) decay\n"
    "                         (default 0; adamw 0.01)\n"
    "    --clip-norm X        clip the global gradient norm to X (default off)\n"
    "    --ema D              keep an exponential moving average of the weights\n"
    "                         (decay D, e.g. 0.999: about the last 1/(1-D) steps)\n"
    "                         and validate and save it instead of the live\n"
    "                         weights (default 0 = off). --bn-recal re-estimates\n"
    "                         the batch-norm statistics for the average; with\n"
    "                         --bn-recal 0 it uses the live weights' running ones\n"
    "    --schedule NAME      plateau (default): x factor when --monitor stalls for\n"
    "                         --plateau-patience epochs; cosine: to --min-lr over the\n"
    "                         run; onecycle: up to --lr then down (Smith); constant\n"
    "    --warmup EPOCHS      linear warm-up from lr/100 (fractions allowed)\n"
    "    --min-lr X           floor of cosine and plateau (default 0)\n"
    "    --plateau-patience N (default 3)   --plateau-factor X (default 0.5)\n"
    "\n"
    "  Loss\n"
    "    --class-weights S    inverse (default): N/(C n_c); sqrt: its square root;\n"
    "                         effective[:BETA]: (1-BETA)/(1-BETA^n_c), Cui et al. 2019\n"
    "                         (BETA default 0.999); none; or w0,...,w6 in the class\n"
    "                         order angry,disgust,fear,happy,neutral,sad,surprise.\n"
    "                         All are normalized to mean 1 over the classes present\n"
    "    --focal GAMMA        focal term (1-p)^GAMMA (default 0 = cross-entropy)\n"
    "    --label-smoothing E  (default 0)\n"
    "\n"
    "  Network\n"
    "    --arch A,B:M1[,M2...] widths of the two stem convolutions and of each\n"
    "                         separable residual module (default 64,64:128,256, the\n"
    "                         article's network); stored in the model file. A fresh\n"
    "                         run initializes from --seed; input is 1x48x48 gray\n"
    "\n"
    "  Batch norm\n"
    "    --bn-recal N         before each validation, re-estimate the batch-norm\n"
    "                         statistics for the epoch's final weights over N\n"
    "                         unaugmented training batches, averaged alike\n"
    "                         (default 50; 0 = off).\n"
    "                         The running averages kept while training lag the\n"
    "                         weights at high learning rates (FER2013, epoch 6:\n"
    "                         37.6% validation accuracy with them, 50.4% after)\n"
    "\n"
    "  Model selection\n"
    "    --monitor NAME       macro_f1 (default) or accuracy on --val: picks\n"
    "                         best.emomodel, drives plateau and early stopping\n"
    "    --early-stop N       stop after N epochs without improvement (default off)\n"
    "\n"
    "  Run control\n"
    "    --threads N          compute threads (default 1); results are reproducible\n"
    "                         at a fixed thread count\n"
    "    --seed S             seed of initialization, data order and augmentation\n"
    "                         (default 1)\n"
    "    --resume             continue RUNDIR's checkpoint; with the same options and\n"
    "                         thread count the result equals an uninterrupted run.\n"
    "                         Without a checkpoint, starts afresh\n"
    "    --checkpoint-every N also checkpoint every N batches (default: epoch ends)\n"
    "    --stop-after N       stop after N batches as if interrupted (for tests)\n"
    "    Ctrl-C (SIGINT) or SIGTERM: finish the batch, write the checkpoint, exit 1;\n"
    "    resume later with --resume.\n"
    "\n"
    "EVALUATION\n"
    "  emotrain --eval --model M --shards DIR [--shards DIR2 ...] [-o FILE | --json FILE]\n"
    "           [--confusion-png FILE] [--tta[=MODE]] [--precision fp32|bf16] [--batch N]\n"
    "           [--threads N] [--skip-corrupt]\n"
    "  Runs model M over the datasets and prints accuracy, macro-F1, per-class\n"
    "  precision/recall/F1 and the confusion matrix on stdout; -o/--json writes the\n"
    "  same as JSON, --confusion-png as a heat map. --tta averages each face's\n"
    "  class probabilities over views of it (test-time augmentation; the JSON's\n"
    "  \"tta\" says which): --tta or --tta=flip, the face and its mirror image\n"
    "  (2x the work); --tta=shift[:PX], those two also moved PX pixels (default 2)\n"
    "  left, right, up and down (10x). --precision bf16 multiplies in bfloat16\n"
    "  (AVX512_BF16 CPUs; sums stay fp32; default fp32). Whether it is faster depends\n"
    "  on the CPU: compare with --bench --precision bf16 (a Xeon model 0xCF: 538\n"
    "  images/s against 951 for fp32).\n"
    "\n"
    "BENCHMARK\n"
    "  emotrain --bench [--batch N] [--threads N] [--steps N] [--profile] [--quiet]\n"
    "  times the default network on synthetic input and prints one line\n"
    "  train_img_per_s=N infer_img_per_s=M ... ('emotrain --bench --help' for more).\n"
    "\n"
    "COMMON\n"
    "  --quiet              only errors and the final report\n"
    "  --help, --version\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done; 1 failed or interrupted (the message says which; an interrupted run\n"
    "  can be resumed); 2 usage error.\n"
    "\n"
    "EXAMPLE\n"
    "  emoshard import /data/fer2013/train -o shards/train\n"
    "  emoshard import /data/fer2013/val -o shards/val\n"
    "  emotrain --shards shards/train --val shards/val -o runs/fer --epochs 30 \\\n"
    "           --augment flip,shift=0.1,rotate=10 --threads 2\n"
    "  emotrain --eval --model runs/fer/best.emomodel --shards shards/val\n";

#define MAX_DIRS 32

enum {
    OPT_SHARDS = 256, OPT_VAL, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_OPTIMIZER, OPT_MOMENTUM, OPT_NESTEROV,
    OPT_WD, OPT_CLIP, OPT_SCHEDULE, OPT_WARMUP, OPT_MIN_LR, OPT_PPAT, OPT_PFACTOR, OPT_CW, OPT_FOCAL,
    OPT_SMOOTH, OPT_EARLY, OPT_MONITOR, OPT_AUGMENT, OPT_HFLIP, OPT_BUFFER, OPT_THREADS, OPT_SEED, OPT_RESUME,
    OPT_SKIP, OPT_CKPT_EVERY, OPT_STOP_AFTER, OPT_QUIET, OPT_HELP, OPT_VERSION, OPT_EVAL, OPT_MODEL, OPT_JSON,
    OPT_PNG, OPT_ARCH, OPT_TTA, OPT_BNRECAL, OPT_PRECISION, OPT_EMA,
};

static const struct option long_opts[] = {
    {"shards", required_argument, 0, OPT_SHARDS},
    {"val", required_argument, 0, OPT_VAL},
    {"output", required_argument, 0, 'o'},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"batch", required_argument, 0, OPT_BATCH},
    {"lr", required_argument, 0, OPT_LR},
    {"optimizer", required_argument, 0, OPT_OPTIMIZER},
    {"momentum", required_argument, 0, OPT_MOMENTUM},
    {"nesterov", no_argument, 0, OPT_NESTEROV},
    {"weight-decay", required_argument, 0, OPT_WD},
    {"clip-norm", required_argument, 0, OPT_CLIP},
    {"schedule", required_argument, 0, OPT_SCHEDULE},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {"min-lr", required_argument, 0, OPT_MIN_LR},
    {"plateau-patience", required_argument, 0, OPT_PPAT},
    {"plateau-factor", required_argument, 0, OPT_PFACTOR},
    {"class-weights", required_argument, 0, OPT_CW},
    {"focal", required_argument, 0, OPT_FOCAL},
    {"label-smoothing", required_argument, 0, OPT_SMOOTH},
    {"early-stop", required_argument, 0, OPT_EARLY},
    {"monitor", required_argument, 0, OPT_MONITOR},
    {"augment", required_argument, 0, OPT_AUGMENT},
    {"hflip", no_argument, 0, OPT_HFLIP},
    {"shuffle-buffer", required_argument, 0, OPT_BUFFER},
    {"threads", required_argument, 0, OPT_THREADS},
    {"seed", required_argument, 0, OPT_SEED},
    {"resume", no_argument, 0, OPT_RESUME},
    {"skip-corrupt", no_argument, 0, OPT_SKIP},
    {"checkpoint-every", required_argument, 0, OPT_CKPT_EVERY},
    {"stop-after", required_argument, 0, OPT_STOP_AFTER},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, OPT_HELP},
    {"version", no_argument, 0, OPT_VERSION},
    {"eval", no_argument, 0, OPT_EVAL},
    {"model", required_argument, 0, OPT_MODEL},
    {"json", required_argument, 0, OPT_JSON},
    {"confusion-png", required_argument, 0, OPT_PNG},
    {"arch", required_argument, 0, OPT_ARCH},
    {"tta", optional_argument, 0, OPT_TTA},
    {"bn-recal", required_argument, 0, OPT_BNRECAL},
    {"ema", required_argument, 0, OPT_EMA},
    {"precision", required_argument, 0, OPT_PRECISION},
    {0, 0, 0, 0},
};

/*-*** Argument parsing helpers ***/

static int usage_error(const char *fmt, const char *arg)
{
    fputs("emotrain: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return 2;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return 0;
    *out = (long)v;
    return 1;
}

/* "A,B:M1,M2,..." into the config's widths. */
static int parse_arch(const char *s, NetConfig *cfg)
{
    unsigned a, b;
    int used;
    if (sscanf(s, "%u,%u:%n", &a, &b, &used) != 2 || a == 0 || b == 0 || a > 4096 || b > 4096) return 0;
    const char *p = s + used;
    uint32_t n = 0;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long w = strtoul(p, &end, 10);
        if (end == p || errno || w == 0 || w > 4096 || n == EMO_MODEL_MAX_MODULES) return 0;
        cfg->module_width[n++] = (uint32_t)w;
        if (*end == ',') end++;
        else if (*end) return 0;
        p = end;
    }
    if (n == 0) return 0;
    cfg->stem_width[0] = a;
    cfg->stem_width[1] = b;
    cfg->n_modules = n;
    return 1;
}

/*-*** Output while training ***/

typedef struct {
    int quiet;
    int tty;
    double last_draw;
    int bar_shown;
} Ui;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_duration(double s, char *buf, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void clear_bar(Ui *ui)
{
    if (ui->bar_shown) {
        fputs("\r\033[K", stderr);
        ui->bar_shown = 0;
    }
}

static void on_start(void *ctx, const TrainStartInfo *in)
{
    Ui *ui = ctx;
    if (ui->quiet) return;
    fprintf(stderr, "emotrain: %llu training records, %llu validation; %zu parameters; %llu batches per epoch\n",
            (unsigned long long)in->train_records, (unsigned long long)in->val_records, in->params,
            (unsigned long long)in->batches_per_epoch);
    fputs("class counts: ", stderr);
    for (int c = 0; c < EMO_NUM_CLASSES; c++)
        fprintf(stderr, "%s%s %llu", c ? ", " : "", emo_class_name(c), (unsigned long long)in->class_counts[c]);
    fputs("\nclass weights:", stderr);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) fprintf(stderr, " %s %.3f", emo_class_name(c), in->class_weights[c]);
    fputc('\n', stderr);
    if (in->resumed)
        fprintf(stderr, "resuming at epoch %d, batch %llu\n", in->start_epoch + 1,
                (unsigned long long)in->start_batch);
}

static void on_progress(void *ctx, const TrainProgress *p)
{
    Ui *ui = ctx;
    if (ui->quiet || !ui->tty) return;
    double t = mono_s();
    if (t - ui->last_draw < 0.2 && p->batch < p->batches) return;
    ui->last_draw = t;
    char eta[32];
    fmt_duration(p->eta_s, eta, sizeof eta);
    int width = 24, fill = p->batches ? (int)((double)width * (double)p->batch / (double)p->batches) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %llu/%llu  %.0f img/s  ETA %s  loss %.4f  acc %.2f%%  lr %.2e",
            p->epoch, p->epochs, bar, (unsigned long long)p->batch, (unsigned long long)p->batches,
            p->images_per_s, eta, p->loss, 100 * p->accuracy, p->lr);
    ui->bar_shown = 1;
}

static void on_epoch(void *ctx, const TrainEpochRow *r, const TrainMetrics *val)
{
    Ui *ui = ctx;
    (void)val;
    if (ui->quiet) return;
    clear_bar(ui);
    fprintf(stderr, "epoch %3d  train loss %.4f acc %.2f%%", r->epoch, r->train_loss, 100 * r->train_acc);
    if (r->has_val) {
        fprintf(stderr, "  val loss %.4f acc %.2f%% F1 %.4f  recall", r->val_loss, 100 * r->val_acc,
                r->val_macro_f1);
        for (int c = 0; c < EMO_NUM_CLASSES; c++)
            fprintf(stderr, " %.3s %.0f", emo_class_name(c), 100 * r->val_recall[c]);
    }
    char el[32];
    fmt_duration(r->elapsed_s, el, sizeof el);
    fprintf(stderr, "  lr %.2e  %.0f s (total %s)%s%s\n", r->lr, r->epoch_s, el, r->best ? "  *best" : "",
            r->lr_reduced ? "  (lr reduced)" : "");
}

/*-*** Signals: finish the batch, checkpoint, exit ***/

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    stop_requested = 1;
    /* A second signal kills as usual. */
    signal(sig, SIG_DFL);
}

/*-*** --eval ***/

static int run_eval(const char *model, const char *const *dirs, int ndirs, const char *json_path,
                    const char *png_path, int batch, int threads, int skip_corrupt, const TrainView *views, int n_views, const char *tta_desc, NetInferMode precision,
                    int quiet)
{
    EmoError err;
    NetModel *m = NULL;
    TrainLoader *l = NULL;
    int rc = 1;
    net_set_threads(threads);
    if (net_load(&m, model, batch, NULL, NULL, &err) != EMO_OK) goto fail;
    if (net_set_infer_mode(m, precision, &err) != EMO_OK) goto fail;
    const NetConfig *cfg = net_config(m);
    TrainLoaderOptions lo = {0};
    lo.dirs = dirs;
    lo.num_dirs = ndirs;
    lo.batch_size = batch;
    lo.width = (int)cfg->input_w;
    lo.height = (int)cfg->input_h;
    lo.skip_corrupt = skip_corrupt;
    if (train_loader_open(&l, &lo, &err) != EMO_OK) goto fail;
    TrainMetrics tm;
    train_metrics_reset(&tm);
    double t0 = mono_s();
    if (train_evaluate_tta(m, l, views, n_views, &tm, &err) != EMO_OK) goto fail;
    double dt = mono_s() - t0;
    char *text = train_report_text(&tm);
    if (!text) {
        emo_error_set(&err, EMO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (n_views > 1)
        printf("model %s (test-time augmentation: %s, %d views)\n%s", model, tta_desc, n_views, text);
    else
        printf("model %s\n%s", model, text);
    free(text);
    if (!quiet)
        fprintf(stderr, "emotrain: evaluated %llu records in %.1f s (%.0f img/s)\n", (unsigned long long)tm.count,
                dt, dt > 0 ? (double)tm.count / dt : 0);
    uint64_t skipped = train_loader_skipped_blocks(l);
    if (skipped) fprintf(stderr, "emotrain: skipped %llu corrupt block(s)\n", (unsigned long long)skipped);
    if (json_path) {
        json_t *j = train_report_json(&tm);
        if (!j) {
            emo_error_set(&err, EMO_ERR_NOMEM, "out of memory");
            goto fail;
        }
        json_object_set_new(j, "model", json_string(model));
        json_t *ds = json_array();
        for (int i = 0; i < ndirs; i++) json_array_append_new(ds, json_string(dirs[i]));
        json_object_set_new(j, "datasets", ds);
        json_object_set_new(j, "skipped_blocks", json_integer((json_int_t)skipped));
        json_object_set_new(j, "tta", json_string(tta_desc));
        json_object_set_new(j, "precision", json_string(net_infer_mode_name(precision)));
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(j);
        EmoAtomicFile f;
        if (!s) {
            emo_error_set(&err, EMO_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (emo_atomic_open(&f, json_path, &err) != EMO_OK) {
            free(s);
            goto fail;
        }
        fputs(s, f.fp);
        fputc('\n', f.fp);
        free(s);
        if (emo_atomic_commit(&f, &err) != EMO_OK) goto fail;
    }
    if (png_path && train_report_confusion_png(&tm, model, png_path, &err) != EMO_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "emotrain: %s\n", err.msg);
done:
    train_loader_close(l);
    net_free(m);
    return rc;
}

/*-*** Training and --eval ***/

/* The version, and the GEMM kernels this CPU got (net_blas.h). */
static void print_version(void)
{
    printf("emotrain %s (OpenBLAS kernels: %s)\n", EMO_VERSION, net_blas_kernels());
}

static int train_main(int argc, char **argv)
{
    TrainOptions o;
    train_options_default(&o);
    const char *train_dirs[MAX_DIRS], *val_dirs[MAX_DIRS];
    int ntrain = 0, nval = 0, quiet = 0, eval = 0, precision_set = 0;
    TrainView tta_views[TRAIN_TTA_MAX_VIEWS];
    char tta_desc[32];
    int tta_set = 0, n_views = train_tta_parse("none", tta_views, tta_desc, sizeof tta_desc, NULL);
    NetInferMode precision = NET_INFER_FP32;
    const char *out = NULL, *model = NULL, *json_path = NULL, *png_path = NULL;
    const char *optimizer = "adam", *schedule = "plateau";
    double lr = 1e-3, momentum = NAN, wd = NAN, clip = 0, ema = 0, warmup = 0, min_lr = 0, pfactor = 0.5;
    long ppat = 3;
    int nesterov = 0;
    const char *augment = NULL;
    int hflip = 0;
    EmoError err;
    double v;
    long n;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_SHARDS:
            if (ntrain == MAX_DIRS) return usage_error("too many --shards (at most %s)", "32");
            train_dirs[ntrain++] = optarg;
            break;
        case OPT_VAL:
            if (nval == MAX_DIRS) return usage_error("too many --val (at most %s)", "32");
            val_dirs[nval++] = optarg;
            break;
        case 'o': out = optarg; break;
        case OPT_EPOCHS:
            if (!parse_int(optarg, 1, 100000, &n)) return usage_error("--epochs '%s': expected 1..100000", optarg);
            o.epochs = (int)n;
            break;
        case OPT_BATCH:
            if (!parse_int(optarg, 2, 4096, &n)) return usage_error("--batch '%s': expected 2..4096", optarg);
            o.batch = (int)n;
            break;
        case OPT_LR:
            if (!parse_num(optarg, 1e-12, 100, &lr) || lr <= 0) return usage_error("--lr '%s': expected a positive number", optarg);
            break;
        case OPT_OPTIMIZER: optimizer = optarg; break;
        case OPT_MOMENTUM:
            if (!parse_num(optarg, 0, 0.999999, &momentum)) return usage_error("--momentum '%s': expected 0..1", optarg);
            break;
        case OPT_NESTEROV: nesterov = 1; break;
        case OPT_WD:
            if (!parse_num(optarg, 0, 10, &wd)) return usage_error("--weight-decay '%s': expected 0..10", optarg);
            break;
        case OPT_CLIP:
            if (!parse_num(optarg, 0, 1e9, &clip)) return usage_error("--clip-norm '%s': expected >= 0", optarg);
            break;
        case OPT_EMA:
            if (!parse_num(optarg, 0, 0.999999, &ema)) return usage_error("--ema '%s': expected a decay in [0, 1)", optarg);
            break;
        case OPT_SCHEDULE: schedule = optarg; break;
        case OPT_WARMUP:
            if (!parse_num(optarg, 0, 1e5, &warmup)) return usage_error("--warmup '%s': expected epochs >= 0", optarg);
            break;
        case OPT_MIN_LR:
            if (!parse_num(optarg, 0, 100, &min_lr)) return usage_error("--min-lr '%s': expected >= 0", optarg);
            break;
        case OPT_PPAT:
            if (!parse_int(optarg, 0, 100000, &ppat)) return usage_error("--plateau-patience '%s': expected >= 0", optarg);
            break;
        case OPT_PFACTOR:
            if (!parse_num(optarg, 1e-6, 0.999999, &pfactor)) return usage_error("--plateau-factor '%s': expected 0..1", optarg);
            break;
        case OPT_CW:
            if (train_class_weights_parse(optarg, &o.class_weights, &err) != EMO_OK) return usage_error("%s", err.msg);
            break;
        case OPT_FOCAL:
            if (!parse_num(optarg, 0, 10, &v)) return usage_error("--focal '%s': expected 0..10", optarg);
            o.focal_gamma = (float)v;
            break;
        case OPT_SMOOTH:
            if (!parse_num(optarg, 0, 0.999, &v)) return usage_error("--label-smoothing '%s': expected 0..1", optarg);
            o.label_smoothing = (float)v;
            break;
        case OPT_EARLY:
            if (!parse_int(optarg, 0, 100000, &n)) return usage_error("--early-stop '%s': expected epochs >= 0", optarg);
            o.early_stop = (int)n;
            break;
        case OPT_MONITOR:
            if (strcmp(optarg, "macro_f1") == 0 || strcmp(optarg, "macro-f1") == 0) o.monitor = TRAIN_MONITOR_MACRO_F1;
            else if (strcmp(optarg, "accuracy") == 0) o.monitor = TRAIN_MONITOR_ACCURACY;
            else return usage_error("--monitor '%s': expected macro_f1 or accuracy", optarg);
            break;
        case OPT_AUGMENT: augment = optarg; break;
        case OPT_HFLIP: hflip = 1; break;
        case OPT_BUFFER:
            if (!parse_int(optarg, 0, 100000000, &n)) return usage_error("--shuffle-buffer '%s': expected records >= 0", optarg);
            o.shuffle_buffer = (size_t)(n ? n : 1);
            break;
        case OPT_THREADS:
            if (!parse_int(optarg, 1, 1024, &n)) return usage_error("--threads '%s': expected 1..1024", optarg);
            o.threads = (int)n;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-') return usage_error("--seed '%s': expected an unsigned integer", optarg);
            o.seed = s;
            break;
        }
        case OPT_RESUME: o.resume = 1; break;
        case OPT_SKIP: o.skip_corrupt = 1; break;
        case OPT_CKPT_EVERY:
            if (!parse_int(optarg, 0, 1000000000, &n)) return usage_error("--checkpoint-every '%s': expected batches >= 0", optarg);
            o.checkpoint_every = (int)n;
            break;
        case OPT_STOP_AFTER:
            if (!parse_int(optarg, 1, 1000000000, &n)) return usage_error("--stop-after '%s': expected batches >= 1", optarg);
            o.stop_after_batches = (uint64_t)n;
            break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_HELP: fputs(help_text, stdout); return 0;
        case OPT_VERSION: print_version(); return 0;
        case OPT_EVAL: eval = 1; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_JSON: json_path = optarg; break;
        case OPT_PNG: png_path = optarg; break;
        case OPT_TTA:
            n_views = train_tta_parse(optarg ? optarg : "flip", tta_views, tta_desc, sizeof tta_desc, &err);
            if (!n_views) return usage_error("--tta: %s", err.msg);
            tta_set = 1;
            break;
        case OPT_PRECISION:
            if (!net_infer_mode_parse(optarg, &precision)) return usage_error("--precision '%s': expected fp32, bf16 or layers", optarg);
            precision_set = 1;
            break;
        case OPT_BNRECAL:
            if (!parse_int(optarg, 0, 1000000, &n)) return usage_error("--bn-recal '%s': expected batches >= 0", optarg);
            o.bn_recal = (int)n;
            break;
        case OPT_ARCH:
            if (!parse_arch(optarg, &o.net)) return usage_error("--arch '%s': expected A,B:M1[,M2...] (e.g. 64,64:128,256)", optarg);
            break;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (ntrain == 0) return usage_error("%s", "--shards DIR is required");

    if (eval) {
        if (!model) return usage_error("%s", "--eval needs --model M");
        if (out && json_path) return usage_error("%s", "give -o or --json, not both");
        return run_eval(model, train_dirs, ntrain, json_path ? json_path : out, png_path, o.batch, o.threads,
                        o.skip_corrupt, tta_views, n_views, tta_desc, precision, quiet);
    }
    if (!out) return usage_error("%s", "-o RUNDIR is required");
    if (model || json_path || png_path || tta_set || precision_set)
        return usage_error("%s", "--model/--json/--confusion-png/--tta/--precision go with --eval");

    if (train_optimizer_parse(optimizer, &o.optim, &err) != EMO_OK) return usage_error("%s", err.msg);
    if (!isnan(momentum)) o.optim.momentum = (float)momentum;
    if (!isnan(wd)) o.optim.weight_decay = (float)wd;
    o.optim.nesterov = nesterov;
    o.optim.clip_norm = (float)clip;
    o.optim.ema_decay = (float)ema;
    if (nesterov && (o.optim.kind != NET_OPT_SGD || o.optim.momentum <= 0))
        return usage_error("%s", "--nesterov needs --optimizer sgd with momentum > 0");
    TrainScheduleKind sk;
    if (train_schedule_parse(schedule, &sk, &err) != EMO_OK) return usage_error("%s", err.msg);
    train_schedule_defaults(&o.schedule, sk, lr, o.epochs);
    o.schedule.warmup_epochs = warmup;
    o.schedule.min_lr = min_lr;
    o.schedule.patience = (int)ppat;
    o.schedule.factor = pfactor;
    if (augment && train_augment_parse(augment, &o.augment, &err) != EMO_OK) return usage_error("%s", err.msg);
    if (hflip) o.augment.hflip = 1;
    o.train_dirs = train_dirs;
    o.num_train = ntrain;
    o.val_dirs = val_dirs;
    o.num_val = nval;
    o.run_dir = out;
    o.stop_flag = &stop_requested;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    Ui ui = {.quiet = quiet, .tty = isatty(2), .last_draw = 0, .bar_shown = 0};
    TrainCallbacks cb = {on_start, on_progress, on_epoch, &ui};
    TrainResult res;
    EmoStatus st = train_run(&o, &cb, &res, &err);
    clear_bar(&ui);
    if (st != EMO_OK) {
        fprintf(stderr, "emotrain: %s\n", err.msg);
        if (res.skipped_blocks) fprintf(stderr, "emotrain: %llu corrupt block(s) were skipped before that\n",
                                        (unsigned long long)res.skipped_blocks);
        return 1;
    }
    if (res.skipped_blocks)
        fprintf(stderr, "emotrain: skipped %llu corrupt block(s) in total (--skip-corrupt)\n",
                (unsigned long long)res.skipped_blocks);
    if (res.stopped) {
        fprintf(stderr, "emotrain: stopped during epoch %d; checkpoint in %s/checkpoint.emomodel; continue with "
                        "the same command and --resume\n", res.epochs_done + 1, out);
        return 1;
    }
    if (res.early_stopped && !quiet)
        fprintf(stderr, "emotrain: early stop after epoch %d (no improvement for %d epochs)\n", res.epochs_done,
                o.early_stop);
    if (res.has_final) {
        TrainMetricSummary s;
        train_metrics_summarize(&res.final_val, &s);
        printf("best epoch %d of %d: validation accuracy %.4f, macro-F1 %.4f (%s/best.emomodel)\n", res.best_epoch,
               res.epochs_done, s.accuracy, s.macro_f1, out);
        char *text = train_report_text(&res.final_val);
        if (text) fputs(text, stdout);
        free(text);
    } else {
        printf("best epoch %d of %d (%s/best.emomodel; no --val, chosen on training metrics)\n", res.best_epoch,
               res.epochs_done, out);
    }
    return 0;
}

/*-*** --bench: the engine benchmark (net_bench.h) ***/

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: emotrain --bench [--batch N] [--threads N] [--steps N] [--precision P] [--profile] [--quiet]\n"
            "\n"
            "  --bench        time the default network on synthetic 48x48 input:\n"
            "                 training (forward + backward + Adam step) and inference\n"
            "                 (eval-mode forward); prints one line\n"
            "                 train_img_per_s=N infer_img_per_s=M batch=.. threads=.. ...\n"
            "                 (images/s from the median of the timed steps)\n"
            "  --batch N      images per step (default 64)\n"
            "  --threads N    OpenMP and OpenBLAS threads (default: OMP_NUM_THREADS or all cores)\n"
            "  --steps N      timed steps per mode (default 20, after 3 untimed ones)\n"
            "  --precision P  inference arithmetic: fp32 (default), bf16 (needs AVX512_BF16),\n"
            "                 layers (the training code's layer-by-layer pass, for comparison)\n"
            "  --profile      also print per-layer forward/backward times (ms, summed over the timed\n"
            "                 steps; inference: thread time summed over images)\n"
            "  --quiet        print only the result line\n"
            "  --help         this text\n"
            "  --version      print the version and the OpenBLAS kernels in use\n");
}

/* Parses a positive int option value; returns 0 on error. */
static int bench_parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000000) return 0;
    *out = (int)v;
    return 1;
}

static int bench_main(int argc, char **argv)
{
    NetBenchOpts o;
    net_bench_defaults(&o);
    int bench = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            print_version();
            return 0;
        } else if (!strcmp(a, "--bench")) {
            bench = 1;
        } else if (!strcmp(a, "--profile")) {
            o.profile = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--precision") && i + 1 < argc) {
            if (!net_infer_mode_parse(argv[++i], &o.infer)) {
                fprintf(stderr, "emotrain: --precision '%s': expected fp32, bf16 or layers\n", argv[i]);
                return 2;
            }
        } else if ((!strcmp(a, "--batch") || !strcmp(a, "--threads") || !strcmp(a, "--steps")) && i + 1 < argc) {
            int *dst = !strcmp(a, "--batch") ? &o.batch : !strcmp(a, "--threads") ? &o.threads : &o.steps;
            if (!bench_parse_int(argv[++i], dst)) {
                fprintf(stderr, "emotrain: %s needs a positive integer, got '%s'\n", a, argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "emotrain: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!bench) {
        bench_usage(stderr);
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
           "train_step_ms=%.1f infer_step_ms=%.1f train_gflop_per_s=%.1f infer_gflop_per_s=%.1f precision=%s blas=%s\n",
           r.train_img_per_s, r.infer_img_per_s, r.batch, r.threads, r.params, r.train_step_ms, r.infer_step_ms,
           r.train_gflop_per_s, r.infer_gflop_per_s, net_infer_mode_name(o.infer), net_blas_kernels());
    if (o.profile) printf("profile: %s\nprofile_infer: %s\n", r.profile, r.infer_profile);
    return 0;
}

/*-*** main ***/

int main(int argc, char **argv)
{
    net_blas_select_kernels(argv); /* may run this program again, on the right GEMM kernels */
    /* --bench anywhere selects the engine benchmark and its own options. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--bench") == 0) return bench_main(argc, argv);
    return train_main(argc, argv);
}
