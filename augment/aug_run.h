/* aug_run.h: augment a whole dataset, shards in -> shards out.
 *
 * Streams the input block by block (bounded memory: two input blocks, one
 * chunk of output variants, the writer's blocks), makes each record's
 * variants in parallel with OpenMP, and appends the results in a fixed order
 * (per input record: the original if kept, then copies 0, 1, ...), so the
 * output is byte-identical whatever the thread count. Output is atomic: on
 * any error the writer is aborted and the previous dataset at the output
 * path, if any, is left as it was.
 *
 * Output records: origin augmented, parent_id = the input record's id, id =
 * XXH64 of the new pixels, label, size, source and source_row copied, params
 * = the replayable text of aug_params_format. */
#ifndef AUG_RUN_H
#define AUG_RUN_H

#include <stdint.h>

#include "aug_params.h"
#include "aug_plan.h"
#include "emo_error.h"
#include "emo_record.h"

/* Called after each input block: records read so far of `total_in`, and
 * records written so far. */
typedef void (*AugProgressFn)(void *user, uint64_t records_in, uint64_t total_in, uint64_t records_out);

typedef struct {
    const char *input_dir;
    const char *output_dir;
    AugConfig cfg;
    uint64_t seed;
    uint32_t copies;            /* variants per record */
    int keep_original;
    int balance;                /* 1: oversample classes up to balance_target */
    uint64_t balance_target;    /* 0 = the largest class's count */
    int threads;                /* augmentation and compression threads; 0 = 1 */
    int zstd_level;             /* output compression; 0 = the format's default */
    const char *produced_by;    /* JSON object for the manifest, or NULL */
    AugProgressFn progress;     /* may be NULL */
    void *progress_user;
} AugRunOptions;

typedef struct {
    uint64_t records_in;
    uint64_t records_out;
    uint64_t originals_out;     /* kept input records */
    AugPlan plan;               /* counts per class: in, extra, out */
} AugRunStats;

/* Runs the augmentation. Errors name the file: a corrupt input shard
 * ("shard-00001.emo: block 3: checksum mismatch"), an unwritable output. */
EmoStatus aug_run(const AugRunOptions *o, AugRunStats *stats, EmoError *err);

#endif /* AUG_RUN_H */
