/* train_checkpoint.h: the trainer's state, and checkpoint files holding it.
 *
 * A checkpoint is an ordinary model file (formats/emo_model.h: config,
 * parameters, BN statistics, checksummed, written atomically) whose opaque
 * "extra" blob carries everything else a resumed run needs:
 *
 *   offset  size  field
 *   0       8     magic "EMOTRST1"
 *   8       4     u32 length L of the JSON text that follows
 *   12      L     JSON: position (epoch, batch, step), elapsed time, the
 *                 schedule and early-stopping state, the partial epoch's
 *                 metrics, the per-epoch history, the options fingerprint
 *   12+L    8     u64 optimizer step count
 *   20+L    8     u64 count K of optimizer state floats
 *   28+L    4K    f32 optimizer state (net_optim.h layout)
 * Integers little-endian; doubles in the JSON are printed with 17
 * significant digits, so they read back exactly.
 *
 * Being a model file, a checkpoint also works wherever a model does
 * (emopredict, emotrain --eval). */
#ifndef TRAIN_CHECKPOINT_H
#define TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "net_model.h"
#include "net_optim.h"
#include "train_metrics.h"
#include "train_run.h"
#include "train_schedule.h"

typedef struct {
    int epoch;                  /* the epoch to run next, 0-based */
    uint64_t batch;             /* batches of that epoch already done */
    uint64_t step;              /* optimizer steps in total */
    double elapsed_s;           /* training time over all processes */
    TrainScheduleState sched;
    double best_value;          /* best monitored value (-inf before any) */
    int best_epoch;             /* 1-based; 0 = none */
    int bad_epochs;             /* epochs since the best (early stopping) */
    TrainMetrics partial;       /* training metrics of the epoch in progress */
    TrainEpochRow *history;     /* finished epochs, malloc'd */
    int n_history;
    char *fingerprint;          /* options that shape the result, malloc'd */
} TrainState;

void train_state_init(TrainState *s);
void train_state_free(TrainState *s);

/* Appends a row to the history. */
EmoStatus train_state_push_row(TrainState *s, const TrainEpochRow *row, EmoError *err);

/* Saves model + state + optimizer atomically to path. */
EmoStatus train_checkpoint_save(const char *path, const NetModel *m, const TrainState *s, const NetOptim *o,
                                EmoError *err);

/* Loads a checkpoint: a new model for batches up to max_batch, the state,
 * and the optimizer state into `o`, which the caller has initialized
 * (net_optim_init) for the model's parameter count. Errors name the file:
 * EMO_ERR_FORMAT if it has no trainer state or it is malformed. */
EmoStatus train_checkpoint_load(const char *path, int max_batch, NetModel **m, TrainState *s,
                                const NetOptConfig *optim_cfg, NetOptim *o, EmoError *err);

#endif /* TRAIN_CHECKPOINT_H */
