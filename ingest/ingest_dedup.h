/* ingest_dedup.h: the index of records seen so far, for exact duplicates
 * (same content id = XXH64 of the pixels) and near duplicates (perceptual
 * hashes within a Hamming distance).
 *
 * Near lookups use multi-index hashing: the 64-bit hash is cut into t+1
 * chunks; two hashes within distance t agree exactly on at least one chunk
 * (pigeonhole), so only records sharing a chunk are compared. Lookups are
 * exact (no candidate is missed) and far cheaper than a linear scan.
 *
 * Entries are numbered 0, 1, 2, ... in the order they are added; the caller
 * keeps whatever it needs per entry (source, split) in its own arrays. */
#ifndef INGEST_DEDUP_H
#define INGEST_DEDUP_H

#include <stdint.h>

#include "emo_error.h"

#define INGEST_NEAR_THRESHOLD_MAX 24

typedef struct IngestDedup IngestDedup;

/* near_threshold: -1 = exact only; 0..INGEST_NEAR_THRESHOLD_MAX = also
 * index perceptual hashes for near lookups. */
EmoStatus ingest_dedup_create(IngestDedup **d, int near_threshold, EmoError *err);
void ingest_dedup_free(IngestDedup *d);

/* The entry with the same id, or -1. */
int64_t ingest_dedup_find_exact(const IngestDedup *d, uint64_t id);

/* The entry whose phash is nearest to `phash` within the threshold (ties:
 * the earliest entry), or -1; *distance gets its Hamming distance. Always
 * -1 when the index was created exact-only. */
int64_t ingest_dedup_find_near(const IngestDedup *d, uint64_t phash, int *distance);

/* Adds an entry; *index (may be NULL) gets its number. An id already present
 * keeps pointing at its first entry. */
EmoStatus ingest_dedup_add(IngestDedup *d, uint64_t id, uint64_t phash, int64_t *index, EmoError *err);

int64_t ingest_dedup_count(const IngestDedup *d);

#endif /* INGEST_DEDUP_H */
