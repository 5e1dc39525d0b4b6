/* aug_plan.h: how many variants each input record gets (--copies,
 * --keep-original, --balance).
 *
 * Every record gets `copies` variants (copy indices 0..copies-1), plus the
 * record itself with keep_original. With balance, each class c whose output
 * would hold fewer than TARGET records gets extra variants: E_c = TARGET -
 * n_c * (keep + copies), spread evenly and deterministically over the
 * class's records in dataset order (record j of n gets
 * floor((j+1) E/n) - floor(j E/n) extra, so counts differ by at most one and
 * the extras are not bunched at the start). TARGET defaults to the largest
 * class's output count. Classes already at or above TARGET keep all their
 * records: balancing only adds. Unlabeled records get `copies` variants.
 *
 * The counts come from the input manifest up front, so the plan is fixed
 * before the first record is read; the run keeps the per-class ordinal. */
#ifndef AUG_PLAN_H
#define AUG_PLAN_H

#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"

/* Largest TARGET accepted (keeps j * E within 64 bits for any class size
 * a manifest can hold: ordinals below 2^32). */
#define AUG_PLAN_MAX_TARGET 1000000000ull

typedef struct {
    uint32_t copies;                        /* variants per record */
    int keep_original;                      /* 1: the record itself too */
    uint64_t target;                        /* balance target (0 = no balancing) */
    uint64_t in_counts[EMO_NUM_CLASSES];    /* input records per class */
    uint64_t extra[EMO_NUM_CLASSES];        /* extra variants per class */
    uint64_t out_counts[EMO_NUM_CLASSES];   /* resulting records per class */
} AugPlan;

/* Builds the plan. balance = 0: no balancing (target ignored); balance = 1
 * with target 0: balance to the largest class's output count. Fails with
 * EMO_ERR_ARG if target exceeds AUG_PLAN_MAX_TARGET or a class count
 * reaches 2^32. */
EmoStatus aug_plan_init(AugPlan *p, const uint64_t in_counts[EMO_NUM_CLASSES], uint32_t copies,
                        int keep_original, int balance, uint64_t target, EmoError *err);

/* Variants for the record of class `label` (EMO_LABEL_NONE or out of range:
 * unlabeled) that is the `ordinal`-th (0-based) of its class in dataset
 * order. */
uint64_t aug_plan_variants(const AugPlan *p, int label, uint64_t ordinal);

#endif /* AUG_PLAN_H */
