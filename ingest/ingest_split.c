/* ingest_split.c: seeded, stable hash split (see ingest_split.h). */
#include "ingest_split.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void ingest_split_default(IngestSplitSpec *spec)
{
    spec->frac[0] = 0.8;
    spec->frac[1] = 0.1;
    spec->frac[2] = 0.1;
    spec->fixed = INGEST_SPLIT_NONE;
    spec->seed = 0;
}

EmoStatus ingest_split_parse(const char *text, IngestSplitSpec *spec, EmoError *err)
{
    int s = ingest_split_from_name(text);
    if (s != INGEST_SPLIT_NONE) {
        spec->fixed = s;
        return EMO_OK;
    }
    double v[INGEST_NUM_SPLITS];
    const char *p = text;
    for (int i = 0; i < INGEST_NUM_SPLITS; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p || !(v[i] >= 0) || v[i] > 1e9)
            return emo_error_set(err, EMO_ERR_ARG, "--split '%s': expected train|val|test or three numbers A,B,C",
                                 text);
        p = end;
        if (i < INGEST_NUM_SPLITS - 1) {
            if (*p != ',')
                return emo_error_set(err, EMO_ERR_ARG, "--split '%s': expected three comma-separated numbers", text);
            p++;
        }
    }
    if (*p) return emo_error_set(err, EMO_ERR_ARG, "--split '%s': trailing text '%s'", text, p);
    double sum = v[0] + v[1] + v[2];
    if (sum <= 0) return emo_error_set(err, EMO_ERR_ARG, "--split '%s': fractions sum to 0", text);
    for (int i = 0; i < INGEST_NUM_SPLITS; i++) spec->frac[i] = v[i] / sum;
    spec->fixed = INGEST_SPLIT_NONE;
    return EMO_OK;
}

int ingest_split_assign(const IngestSplitSpec *spec, int source_split, uint64_t id)
{
    if (spec->fixed != INGEST_SPLIT_NONE) return spec->fixed;
    if (source_split != INGEST_SPLIT_NONE) return source_split;
    /* Hash the id's little-endian bytes with the seed: a uniform number in
     * [0,1) that depends on nothing but this record. */
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(id >> (8 * i));
    uint64_t h = XXH64(b, sizeof b, spec->seed);
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    if (u < spec->frac[0]) return INGEST_SPLIT_TRAIN;
    if (u < spec->frac[0] + spec->frac[1]) return INGEST_SPLIT_VAL;
    /* A zero test fraction must never receive records through rounding. */
    if (spec->frac[2] <= 0) return spec->frac[1] > 0 ? INGEST_SPLIT_VAL : INGEST_SPLIT_TRAIN;
    return INGEST_SPLIT_TEST;
}
