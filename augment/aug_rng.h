/* aug_rng.h: the explicit random state behind every augmentation choice.
 *
 * Augmentation must replay exactly: the variant made for (seed, record id,
 * copy index) may not depend on thread count, shard order or what else ran
 * before. So there is no global generator; each variant seeds its own AugRng
 * from a hash of those three numbers (aug_rng_for_variant) and draws every
 * parameter from it in a fixed order.
 *
 * The generator is SplitMix64 (Steele, Lea, Flood 2014): one 64-bit word of
 * state, passes BigCrush, and is cheap to seed from a hash, which is all a
 * few dozen draws per image need. */
#ifndef AUG_RNG_H
#define AUG_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} AugRng;

/* A generator seeded with `seed` (any value, 0 included). */
AugRng aug_rng_from_seed(uint64_t seed);

/* The generator for one variant: seeded from a hash of (seed, record id,
 * copy index), so each variant's stream is independent of every other. */
AugRng aug_rng_for_variant(uint64_t seed, uint64_t record_id, uint32_t copy);

/* Next 64 random bits. */
uint64_t aug_rng_next(AugRng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
double aug_rng_unit(AugRng *rng);

/* Uniform double in [lo, hi). */
double aug_rng_uniform(AugRng *rng, double lo, double hi);

/* Uniform integer in [0, n) (n >= 1), without modulo bias worth noting
 * (Lemire's multiply-shift on 32 bits; n is at most an image size here). */
uint32_t aug_rng_below(AugRng *rng, uint32_t n);

/* True with probability p (p <= 0 never, p >= 1 always). One draw is taken
 * whatever p is, so the layout of a stream does not depend on p. */
int aug_rng_chance(AugRng *rng, double p);

/* The SplitMix64 finalizer: a 64-bit bijective mix used to derive seeds.
 * Inline so that loops over it (aug_noise) vectorize. */
static inline uint64_t aug_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

#endif /* AUG_RNG_H */
