/* train_schedule.c: learning-rate schedules (see train_schedule.h). */
#include "train_schedule.h"

#include <math.h>
#include <string.h>

static const char *const sched_names[] = {"constant", "cosine", "onecycle", "plateau"};

void train_schedule_defaults(TrainScheduleConfig *c, TrainScheduleKind kind, double base_lr, int total_epochs)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->base_lr = base_lr;
    c->min_lr = 0;
    c->total_epochs = total_epochs;
    c->factor = 0.5;
    c->patience = 3;
    c->cooldown = 0;
    c->min_delta = 1e-4;
    c->div_factor = 25;
    c->final_div = 1e4;
    c->pct_start = 0.3;
}

EmoStatus train_schedule_parse(const char *name, TrainScheduleKind *kind, EmoError *err)
{
    for (int k = 0; k < 4; k++)
        if (name && strcmp(name, sched_names[k]) == 0) {
            *kind = (TrainScheduleKind)k;
            return EMO_OK;
        }
    return emo_error_set(err, EMO_ERR_ARG, "schedule '%s': expected constant|cosine|onecycle|plateau",
                         name ? name : "");
}

const char *train_schedule_name(TrainScheduleKind kind)
{
    return (unsigned)kind < 4 ? sched_names[kind] : "?";
}

void train_schedule_init(TrainScheduleState *s)
{
    memset(s, 0, sizeof *s);
    s->scale = 1;
    s->best = -INFINITY;
}

/* Cosine interpolation from a (u = 0) to b (u = 1). */
static double cos_interp(double a, double b, double u)
{
    if (u < 0) u = 0;
    if (u > 1) u = 1;
    return b + (a - b) * 0.5 * (1 + cos(M_PI * u));
}

double train_schedule_lr(const TrainScheduleConfig *c, const TrainScheduleState *s, double t)
{
    double total = c->total_epochs > 0 ? c->total_epochs : 1;
    if (c->kind == TRAIN_SCHED_ONECYCLE) {
        double rise = c->warmup_epochs > 0 ? c->warmup_epochs : c->pct_start * total;
        double start = c->base_lr / c->div_factor;
        double end = start / c->final_div;
        if (t < rise) return cos_interp(start, c->base_lr, t / rise);
        return cos_interp(c->base_lr, end, (t - rise) / (total - rise > 0 ? total - rise : 1));
    }
    double lr = c->base_lr;
    if (c->kind == TRAIN_SCHED_COSINE) {
        /* The cosine runs over the epochs after the warm-up. */
        double span = total - c->warmup_epochs;
        lr = cos_interp(c->base_lr, c->min_lr, span > 0 ? (t - c->warmup_epochs) / span : 1);
    } else if (c->kind == TRAIN_SCHED_PLATEAU) {
        lr = c->base_lr * s->scale;
        if (lr < c->min_lr) lr = c->min_lr;
    }
    if (c->warmup_epochs > 0 && t < c->warmup_epochs) {
        double f = 0.01 + 0.99 * (t / c->warmup_epochs);
        lr *= f;
    }
    return lr;
}

int train_schedule_epoch_end(const TrainScheduleConfig *c, TrainScheduleState *s, double metric)
{
    if (c->kind != TRAIN_SCHED_PLATEAU) return 0;
    if (metric > s->best + c->min_delta) {
        s->best = metric;
        s->bad_epochs = 0;
        return 0;
    }
    if (s->cooldown_left > 0) {
        s->cooldown_left--;
        return 0;
    }
    if (++s->bad_epochs >= c->patience) {
        /* Keras semantics: reduce once `patience` epochs passed with no
         * improvement, then start counting afresh. At the floor, stay. */
        if (c->base_lr * s->scale <= c->min_lr) return 0;
        s->scale *= c->factor;
        s->bad_epochs = 0;
        s->cooldown_left = c->cooldown;
        s->reductions++;
        return 1;
    }
    return 0;
}
