/* aug_plan.c: per-record variant counts (see aug_plan.h). */
#include "aug_plan.h"

#include <string.h>

EmoStatus aug_plan_init(AugPlan *p, const uint64_t in_counts[EMO_NUM_CLASSES], uint32_t copies,
                        int keep_original, int balance, uint64_t target, EmoError *err)
{
    memset(p, 0, sizeof *p);
    p->copies = copies;
    p->keep_original = keep_original ? 1 : 0;
    if (target > AUG_PLAN_MAX_TARGET)
        return emo_error_set(err, EMO_ERR_ARG, "balance target %llu: must be at most %llu",
                             (unsigned long long)target, AUG_PLAN_MAX_TARGET);
    uint64_t per = (uint64_t)p->keep_original + copies, largest = 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        if (in_counts[c] >= (1ull << 32))
            return emo_error_set(err, EMO_ERR_ARG, "class %s: %llu records is beyond the planner's range",
                                 emo_class_name(c), (unsigned long long)in_counts[c]);
        p->in_counts[c] = in_counts[c];
        p->out_counts[c] = in_counts[c] * per;
        if (p->out_counts[c] > largest) largest = p->out_counts[c];
    }
    if (!balance) return EMO_OK;
    p->target = target ? target : largest;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        /* A class with no records cannot be oversampled; it stays empty. */
        if (p->in_counts[c] == 0 || p->out_counts[c] >= p->target) continue;
        p->extra[c] = p->target - p->out_counts[c];
        p->out_counts[c] = p->target;
    }
    return EMO_OK;
}

uint64_t aug_plan_variants(const AugPlan *p, int label, uint64_t ordinal)
{
    if (label < 0 || label >= EMO_NUM_CLASSES) return p->copies;
    uint64_t n = p->in_counts[label], e = p->extra[label];
    if (e == 0 || n == 0 || ordinal >= n) return p->copies;
    /* Bresenham-style spreading: the extras of the first j records total
     * floor(j E / n), exact in 64 bits since j < 2^32 and E <= 10^9. */
    return p->copies + (ordinal + 1) * e / n - ordinal * e / n;
}
