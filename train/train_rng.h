/* train_rng.h: a small explicit-state RNG for the trainer (SplitMix64).
 *
 * Every random choice the trainer makes (shard order, shuffle buffer,
 * augmentation) draws from a TrainRng passed by pointer and seeded from
 * (run seed, epoch, purpose), never from a global: an epoch's data stream is
 * then a pure function of the seed, which is what lets --resume replay it. */
#ifndef TRAIN_RNG_H
#define TRAIN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} TrainRng;

/* One SplitMix64 step: also a good 64-bit mixer for deriving seeds. */
static inline uint64_t train_rng_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A seed derived from a parent seed and up to two indices (epoch, stream). */
static inline uint64_t train_rng_derive(uint64_t seed, uint64_t a, uint64_t b)
{
    return train_rng_mix(train_rng_mix(train_rng_mix(seed) ^ a) ^ (b * 0xD6E8FEB86659FD93ull));
}

static inline void train_rng_seed(TrainRng *r, uint64_t seed)
{
    r->state = seed;
}

static inline uint64_t train_rng_next(TrainRng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double train_rng_uniform(TrainRng *r)
{
    return (double)(train_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n); n > 0. (The modulo bias is < n / 2^64.) */
static inline uint64_t train_rng_below(TrainRng *r, uint64_t n)
{
    return train_rng_next(r) % n;
}

#endif /* TRAIN_RNG_H */
