/* ingest_split.h: which split a record goes to.
 *
 * Precedence: `--split train|val|test` puts everything there; otherwise the
 * source's split (a train/val/test folder, a CSV Usage column) is kept;
 * otherwise the record is placed by a seeded hash of its content id against
 * the fractions (`--split 0.8,0.1,0.1`). The hash depends only on the pixels
 * and the seed, so adding or removing other images never moves a record to
 * another split, and exact duplicates always land together. */
#ifndef INGEST_SPLIT_H
#define INGEST_SPLIT_H

#include <stdint.h>

#include "emo_error.h"
#include "ingest_types.h"

typedef struct {
    double frac[INGEST_NUM_SPLITS];  /* train, val, test; sum 1 */
    int fixed;                       /* a split for everything, or INGEST_SPLIT_NONE */
    uint64_t seed;
} IngestSplitSpec;

/* Default: 0.8, 0.1, 0.1, nothing fixed, seed 0. */
void ingest_split_default(IngestSplitSpec *spec);

/* Parses "train", "val", "test" or "A,B,C" (non-negative, at least one
 * positive; normalized to sum 1, so "8,1,1" works too). Keeps spec->seed. */
EmoStatus ingest_split_parse(const char *text, IngestSplitSpec *spec, EmoError *err);

/* The split for a record with content id `id` whose source said
 * `source_split` (INGEST_SPLIT_NONE if nothing). */
int ingest_split_assign(const IngestSplitSpec *spec, int source_split, uint64_t id);

#endif /* INGEST_SPLIT_H */
