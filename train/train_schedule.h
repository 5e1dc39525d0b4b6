/* train_schedule.h: learning-rate schedules, as a pure function of progress.
 *
 * The rate at any step is lr(config, state, t) where t is the progress in
 * epochs (epoch + batch/batches_per_epoch). Only reduce-on-plateau has state
 * (its current factor and patience counters), updated once per epoch with
 * the monitored validation metric; that small struct goes into checkpoints,
 * so a resumed run follows the same rates as an uninterrupted one.
 *
 *   constant  base_lr
 *   cosine    base_lr -> min_lr along half a cosine over the run
 *   onecycle  base_lr/div -> base_lr (cosine, first pct_start of the run)
 *             -> base_lr/(div*final_div) (cosine, the rest): Smith's 1cycle
 *             as PyTorch's OneCycleLR shapes it
 *   plateau   base_lr, times `factor` whenever the metric has not improved
 *             by min_delta for `patience` epochs (then `cooldown` epochs of
 *             grace), never below min_lr: Keras's ReduceLROnPlateau
 *
 * A linear warm-up over warmup_epochs (from base_lr/100) multiplies the
 * constant, cosine and plateau schedules; onecycle has its own warm-up and
 * uses warmup_epochs, when given, as the length of its rising phase. */
#ifndef TRAIN_SCHEDULE_H
#define TRAIN_SCHEDULE_H

#include "emo_error.h"

typedef enum {
    TRAIN_SCHED_CONSTANT = 0,
    TRAIN_SCHED_COSINE,
    TRAIN_SCHED_ONECYCLE,
    TRAIN_SCHED_PLATEAU,
} TrainScheduleKind;

typedef struct {
    TrainScheduleKind kind;
    double base_lr;
    double min_lr;          /* cosine floor; plateau floor */
    double warmup_epochs;   /* 0 = none */
    int total_epochs;       /* cosine/onecycle length */
    /* plateau */
    double factor;          /* default 0.5 */
    int patience;           /* default 3 */
    int cooldown;           /* default 0 */
    double min_delta;       /* default 1e-4 */
    /* onecycle */
    double div_factor;      /* default 25 */
    double final_div;       /* default 1e4 */
    double pct_start;       /* default 0.3 */
} TrainScheduleConfig;

typedef struct {
    double scale;           /* plateau's current multiplier (1 at start) */
    double best;            /* best monitored value so far */
    int bad_epochs;         /* epochs since it improved */
    int cooldown_left;
    int reductions;         /* how many times the rate was cut */
} TrainScheduleState;

/* Fills the defaults above for the given kind, base rate and length. */
void train_schedule_defaults(TrainScheduleConfig *c, TrainScheduleKind kind, double base_lr, int total_epochs);

/* "constant", "cosine", "onecycle", "plateau" -> kind; EMO_ERR_ARG otherwise. */
EmoStatus train_schedule_parse(const char *name, TrainScheduleKind *kind, EmoError *err);
const char *train_schedule_name(TrainScheduleKind kind);

void train_schedule_init(TrainScheduleState *s);

/* The learning rate at progress t (in epochs, >= 0). */
double train_schedule_lr(const TrainScheduleConfig *c, const TrainScheduleState *s, double t);

/* End of an epoch: feeds the monitored metric (higher is better) to the
 * plateau logic. Returns 1 if the rate was just reduced. No-op (0) for the
 * other schedules. */
int train_schedule_epoch_end(const TrainScheduleConfig *c, TrainScheduleState *s, double metric);

#endif /* TRAIN_SCHEDULE_H */
