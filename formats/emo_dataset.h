/* emo_dataset.h: write and stream datasets of face records.
 *
 * A dataset is a directory: manifest.json plus shard-00000.emo,
 * shard-00001.emo, ... (the byte layout is in formats/SHARDS.md). Readers
 * trust only the manifest: a directory without one is not a dataset.
 *
 * Writing is atomic at the dataset level: the writer builds the new dataset
 * in a sibling staging directory and swaps it in on close, so an interrupted
 * or failed write leaves the previous dataset (if any) exactly as it was, and
 * re-running the producer redoes it cleanly.
 *
 * Reading streams records shard by shard, block by block, with bounded
 * memory (one or two decompressed blocks), optionally visiting shards in a
 * seeded random order and decompressing the next block on a worker thread. */
#ifndef EMO_DATASET_H
#define EMO_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"

/*-*** Manifest ***/

#define EMO_DATASET_FORMAT_VERSION 1
#define EMO_MANIFEST_NAME "manifest.json"

typedef struct {
    char *name;             /* "shard-00000.emo" */
    uint64_t records;
    uint64_t bytes;         /* file size */
    uint64_t xxh64;         /* checksum of the whole shard file */
} EmoShardInfo;

typedef struct {
    int format_version;
    int num_shards;
    EmoShardInfo *shards;
    uint64_t num_records;
    uint64_t class_counts[EMO_NUM_CLASSES];
    uint64_t unlabeled;
    uint64_t augmented;                      /* records with origin AUGMENTED */
    int width, height, channels;             /* 0 if records differ in size */
    char *class_names[EMO_NUM_CLASSES];
    uint64_t raw_pixel_bytes;                /* sum of w*h*c, for the compression ratio */
    char *produced_by;                       /* JSON text of the "produced_by" object, or NULL */
} EmoManifest;

/* Loads DIR/manifest.json. Missing manifest: EMO_ERR_NOT_FOUND naming it. */
EmoStatus emo_manifest_load(const char *dir, EmoManifest *m, EmoError *err);
void emo_manifest_free(EmoManifest *m);

/* Writes DIR/manifest.json atomically (the writer uses this; tools that fix
 * up a manifest may too). class_names must all be set. */
EmoStatus emo_manifest_save(const char *dir, const EmoManifest *m, EmoError *err);

/*-*** Writer ***/

typedef struct {
    uint32_t records_per_block;   /* 0 = 256 */
    uint32_t records_per_shard;   /* 0 = 8192 */
    int zstd_level;               /* 0 = default (chosen by measurement, see SHARDS.md) */
    int threads;                  /* compression threads; 0 = 1 */
    const char *produced_by;      /* JSON object text, e.g. {"tool":"emoingest","version":"0.1.0",
                                     "options":{...},"inputs":[...]}; stored in the manifest; may be NULL */
} EmoDatasetWriterOptions;

typedef struct EmoDatasetWriter EmoDatasetWriter;

/* Starts writing a dataset that will appear at `dir` on close. */
EmoStatus emo_dataset_writer_open(EmoDatasetWriter **w, const char *dir,
                                  const EmoDatasetWriterOptions *opt, EmoError *err);

/* Appends a copy of *rec. Records keep the order in which they are added.
 * rec->id is recomputed from the pixels if it is 0. */
EmoStatus emo_dataset_writer_add(EmoDatasetWriter *w, const EmoRecord *rec, EmoError *err);

/* Finishes the last shard, writes the manifest and swaps the dataset into
 * place. Frees w, also on failure (then the old dataset is untouched). */
EmoStatus emo_dataset_writer_close(EmoDatasetWriter *w, EmoError *err);

/* Discards what was written; the old dataset is untouched. Frees w; NULL-safe. */
void emo_dataset_writer_abort(EmoDatasetWriter *w);

/*-*** Reader ***/

typedef struct {
    uint64_t shuffle_seed;   /* 0 = manifest order; else a seeded random order of all blocks */
    int prefetch;            /* 1 = decompress ahead on a worker thread */
    int skip_corrupt;        /* 1 = skip (and count) corrupt blocks instead of failing */
} EmoReaderOptions;

typedef struct EmoDatasetReader EmoDatasetReader;

/* A decoded block: `count` records, valid until the next call on the reader. */
typedef struct {
    const EmoRecord *records;
    size_t count;
    int shard;          /* index in the manifest */
    int block;          /* index within the shard */
} EmoRecordBlock;

EmoStatus emo_dataset_reader_open(EmoDatasetReader **r, const char *dir,
                                  const EmoReaderOptions *opt, EmoError *err);

/* Next record. EMO_OK: *rec is valid until the next call. EMO_ERR_EOF at the
 * end. Errors name the shard file and the block. */
EmoStatus emo_dataset_reader_next(EmoDatasetReader *r, EmoRecord *rec, EmoError *err);

/* Next whole block (do not mix with _next within one block). */
EmoStatus emo_dataset_reader_next_block(EmoDatasetReader *r, EmoRecordBlock *blk, EmoError *err);

const EmoManifest *emo_dataset_reader_manifest(const EmoDatasetReader *r);

/* Blocks skipped as corrupt so far (with skip_corrupt). */
uint64_t emo_dataset_reader_skipped_blocks(const EmoDatasetReader *r);

void emo_dataset_reader_close(EmoDatasetReader *r);

#endif /* EMO_DATASET_H */
