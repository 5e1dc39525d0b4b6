/* train_run.h: a whole training run, with checkpoints and resume.
 *
 * train_run streams the training datasets through the network for a number
 * of epochs (train_loader.h), validates after each one (train_eval.h), and
 * keeps in the run directory:
 *
 *   checkpoint.emomodel  model + trainer state (optimizer moments, schedule,
 *                        early-stopping counters, epoch and batch position,
 *                        metrics history, the partial epoch's metrics),
 *                        written atomically at every epoch end and every
 *                        checkpoint_every batches
 *   best.emomodel        the model of the best epoch by the monitored metric
 *   last.emomodel        the model after the latest epoch
 *   metrics.csv          one row per epoch (header in train_run.c)
 *   eval.json            the final report of best.emomodel on the validation
 *   confusion.png        data, and its confusion heat map (with --val only)
 *
 * Before each validation the batch-norm statistics are re-estimated for the
 * epoch's final weights (bn_recal; see train_bn_recalibrate), so that the
 * monitored metric, best.emomodel and the plateau and early-stopping
 * decisions judge the weights, not the lag of the running averages.
 *
 * With weight averaging (optim.ema_decay > 0, net_optim.h) the average
 * takes the live weights' place for that re-estimation, the validation and
 * best/last.emomodel. The checkpoint keeps the live weights, with the
 * average in its optimizer state, and the statistics of the average (so a
 * checkpoint used as a model mixes the two: use best or last instead).
 *
 * Resume: with opt->resume and a checkpoint present, the run continues from
 * the checkpoint's position. Every random choice derives from (seed, epoch)
 * and the kernels reduce in a fixed order, so at the same thread count the
 * resumed run ends with the same weights, bit for bit, as an uninterrupted
 * one. The options that shape the result are stored in the checkpoint, and
 * a resume with different ones is refused (the thread count may change: the
 * run then continues, but is no longer bit-identical).
 *
 * The library prints nothing: the caller sees the run through callbacks. */
#ifndef TRAIN_RUN_H
#define TRAIN_RUN_H

#include <signal.h>
#include <stdint.h>

#include "emo_error.h"
#include "net_model.h"
#include "net_optim.h"
#include "train_augment.h"
#include "train_metrics.h"
#include "train_schedule.h"
#include "train_weights.h"

typedef enum { TRAIN_MONITOR_MACRO_F1 = 0, TRAIN_MONITOR_ACCURACY } TrainMonitor;

typedef struct {
    const char *const *train_dirs;  /* --shards (one or more) */
    int num_train;
    const char *const *val_dirs;    /* --val (zero or more) */
    int num_val;
    const char *run_dir;            /* -o */

    NetConfig net;                  /* architecture of a fresh model */
    int epochs;
    int batch;
    NetOptConfig optim;
    TrainScheduleConfig schedule;   /* base_lr, kind, warm-up, ...; total_epochs is set from epochs */
    TrainClassWeightSpec class_weights;
    float focal_gamma;
    float label_smoothing;
    int early_stop;                 /* patience in epochs; 0 = off */
    TrainMonitor monitor;
    TrainAugment augment;
    size_t shuffle_buffer;          /* 0 = the loader's default */
    int threads;                    /* >= 1 */
    uint64_t seed;
    int resume;
    int skip_corrupt;
    int checkpoint_every;           /* also checkpoint every N batches; 0 = epoch ends only */
    int bn_recal;                   /* precise BN: re-estimate the batch-norm statistics over this
                                       many unaugmented training batches before each validation
                                       (train_bn_recalibrate); 0 = off */

    /* Stopping early from outside: when *stop_flag becomes nonzero (a
     * signal handler), or after stop_after_batches batches of this process
     * (a test hook; 0 = never), the run writes a checkpoint and returns
     * EMO_OK with result->stopped = 1. */
    const volatile sig_atomic_t *stop_flag;
    uint64_t stop_after_batches;
} TrainOptions;

/* Sensible defaults: the article's net, 30 epochs, batch 64, Adam 1e-3,
 * plateau schedule, inverse-frequency weights, monitor macro-F1, seed 1,
 * 1 thread, BN recalibration over 50 batches. The caller sets the datasets
 * and the run directory. */
void train_options_default(TrainOptions *o);

/* Parses "adam", "adamw", "sgd" into o->optim (its defaults). */
EmoStatus train_optimizer_parse(const char *name, NetOptConfig *cfg, EmoError *err);
const char *train_optimizer_name(NetOptKind kind);

/* What the run is about to do (on_start). */
typedef struct {
    uint64_t train_records, val_records;
    uint64_t class_counts[EMO_NUM_CLASSES];
    float class_weights[EMO_NUM_CLASSES];
    uint64_t batches_per_epoch;
    size_t params;
    int start_epoch;                /* 0-based epoch the run starts in */
    uint64_t start_batch;           /* batches of it already done (resume) */
    int resumed;                    /* 1 if continuing from a checkpoint */
} TrainStartInfo;

/* Within an epoch (on_progress, after every batch). */
typedef struct {
    int epoch, epochs;              /* 1-based epoch */
    uint64_t batch, batches;        /* batches done in this epoch / per epoch */
    double images_per_s;            /* this process's rate in this epoch */
    double eta_s;                   /* to the end of the epoch */
    double loss, accuracy;          /* running means over the epoch */
    double lr;
} TrainProgress;

/* One finished epoch (on_epoch; also a metrics.csv row). */
typedef struct {
    int epoch;                      /* 1-based */
    double elapsed_s;               /* training time so far, over restarts */
    double epoch_s;
    double lr;                      /* at the end of the epoch */
    double train_loss, train_acc;
    int has_val;
    double val_loss, val_acc, val_macro_f1;
    double val_recall[EMO_NUM_CLASSES];
    int best;                       /* this epoch is the best so far */
    int lr_reduced;                 /* plateau cut the rate after it */
} TrainEpochRow;

typedef struct {
    void (*on_start)(void *ctx, const TrainStartInfo *info);
    void (*on_progress)(void *ctx, const TrainProgress *p);
    void (*on_epoch)(void *ctx, const TrainEpochRow *row, const TrainMetrics *val);
    void *ctx;
} TrainCallbacks;

typedef struct {
    int epochs_done;
    int stopped;                    /* interrupted (stop flag / hook); resume later */
    int early_stopped;              /* patience ran out */
    int best_epoch;                 /* 1-based; 0 if none */
    double best_value;              /* of the monitored metric */
    uint64_t skipped_blocks;        /* corrupt blocks skipped (skip_corrupt) */
    uint64_t skipped_unlabeled;
    int has_final;                  /* final_val is valid (best model on --val) */
    TrainMetrics final_val;
} TrainResult;

/* Runs (or resumes) training. Errors name the file (shard and block, model,
 * checkpoint) and the reason. */
EmoStatus train_run(const TrainOptions *opt, const TrainCallbacks *cb, TrainResult *result, EmoError *err);

#endif /* TRAIN_RUN_H */
