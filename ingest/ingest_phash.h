/* ingest_phash.h: 64-bit perceptual hash (DCT pHash) for near-duplicate
 * detection.
 *
 * The recipe of imagehash.phash: shrink to 32x32 (area average), take the
 * 2-D DCT-II, keep the 8x8 lowest frequencies, and set bit i when
 * coefficient i is above their median. Re-encoding, small brightness or
 * contrast changes and mild blur leave most bits alone; different faces
 * differ in about half of them. Bits are in row-major order of the 8x8 block
 * (bit 63 = the DC term). Distances are Hamming distances. */
#ifndef INGEST_PHASH_H
#define INGEST_PHASH_H

#include <stdint.h>

#include "emo_error.h"

/* The DCT basis, computed once and shared read-only by all threads. */
typedef struct {
    float cos_tab[8][32];  /* cos(pi*(2x+1)*u/64) */
} IngestPhash;

void ingest_phash_init(IngestPhash *ph);

/* Hash of a w x h gray image (stride bytes per row). */
EmoStatus ingest_phash_compute(const IngestPhash *ph, const uint8_t *gray, int w, int h, int stride,
                               uint64_t *hash, EmoError *err);

static inline int ingest_hamming(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

#endif /* INGEST_PHASH_H */
