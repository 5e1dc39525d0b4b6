/* aug_rng.c: SplitMix64 and the per-variant seeding (see aug_rng.h). */
#include "aug_rng.h"

#define AUG_GOLDEN 0x9E3779B97F4A7C15ull

AugRng aug_rng_from_seed(uint64_t seed)
{
    AugRng r = {aug_mix64(seed)};
    return r;
}

AugRng aug_rng_for_variant(uint64_t seed, uint64_t record_id, uint32_t copy)
{
    /* Chained mixing, each input entering after a full avalanche, so that
     * nearby seeds, ids or copy indices give unrelated streams. */
    uint64_t h = aug_mix64(seed + AUG_GOLDEN);
    h = aug_mix64(h ^ record_id);
    h = aug_mix64(h ^ ((uint64_t)copy * AUG_GOLDEN + 1));
    AugRng r = {h};
    return r;
}

uint64_t aug_rng_next(AugRng *rng)
{
    rng->state += AUG_GOLDEN;
    return aug_mix64(rng->state);
}

double aug_rng_unit(AugRng *rng)
{
    return (double)(aug_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double aug_rng_uniform(AugRng *rng, double lo, double hi)
{
    return lo + (hi - lo) * aug_rng_unit(rng);
}

uint32_t aug_rng_below(AugRng *rng, uint32_t n)
{
    return (uint32_t)(((aug_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

int aug_rng_chance(AugRng *rng, double p)
{
    double u = aug_rng_unit(rng);
    return u < p;
}
