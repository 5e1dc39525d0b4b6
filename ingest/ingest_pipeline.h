/* ingest_pipeline.h: one emoingest run, from sources to out/train, out/val,
 * out/test and out/ingest-report.json.
 *
 * Items are read in input order in batches, processed in parallel (read,
 * decode, detect/align or pass through, hash), then committed one by one in
 * input order: de-duplication, split, dataset writers, report, boxes TSV.
 * So the datasets and the report are byte-identical whatever --threads is.
 *
 * Duplicates: with dedup on (exact, the default, or near) the first
 * occurrence in input order is kept and later copies are dropped and
 * reported ("duplicate of X"), also across splits; put an evaluation set
 * first on the command line to keep it whole. With dedup off nothing is
 * dropped but exact duplicates are still reported (so leakage is visible).
 *
 * Output: only non-empty splits are written; a split directory left by an
 * earlier run in the same out/ that this run did not produce is removed
 * (only if it is a dataset, i.e. holds a manifest.json), so out/ always
 * describes one run. Datasets and the report are written atomically. */
#ifndef INGEST_PIPELINE_H
#define INGEST_PIPELINE_H

#include <stdint.h>

#include "emo_error.h"
#include "ingest_face.h"
#include "ingest_http.h"
#include "ingest_process.h"
#include "ingest_report.h"
#include "ingest_split.h"

typedef enum {
    INGEST_DEDUP_OFF = 0,
    INGEST_DEDUP_EXACT,
    INGEST_DEDUP_NEAR,
} IngestDedupMode;

/* Default --near-threshold (bits of 64), chosen on FER2013: see emoingest --help. */
#define INGEST_NEAR_THRESHOLD_DEFAULT 4

typedef struct {
    uint64_t items_done;       /* inputs committed */
    uint64_t records;          /* written */
    uint64_t rejected;
    double fraction;           /* 0..1, or -1 if unknown */
} IngestProgress;

typedef void (*IngestProgressFn)(void *ctx, const IngestProgress *p);

typedef struct {
    /* inputs */
    const char *const *paths;
    int npaths;
    const char *const *url_lists;
    int n_url_lists;
    const char *const *crawls;
    int ncrawls;
    int crawl_depth;                 /* default 1 */
    int crawl_label;                 /* default EMO_LABEL_NONE */
    int crawl_max_pages;             /* default 1000 */
    const char *labels_path;         /* --labels FILE or NULL */
    IngestHttpOptions http;          /* cache_dir NULL = <out>/http-cache; "" = none */
    /* processing */
    int size;                        /* 48 */
    IngestDetectMode detect;
    int min_input;                   /* 0 = size / 2 */
    uint64_t max_pixels;             /* 0 = library default */
    uint64_t max_file_bytes;         /* 0 = 256 MiB */
    IngestFaceOptions face;
    IngestDedupMode dedup;
    int near_threshold;
    IngestSplitSpec split;
    const char *boxes_path;          /* --boxes FILE or NULL */
    int threads;                     /* 0 = OpenMP default */
    /* output */
    const char *out_dir;
    int shard_records;               /* 0 = writer default */
    /* progress (called from the calling thread between batches) */
    IngestProgressFn progress;
    void *progress_ctx;
} IngestOptions;

void ingest_options_default(IngestOptions *o);

typedef struct {
    IngestCounts counts;             /* final counters (see ingest_report.h) */
    char report_path[4096];
} IngestSummary;

/* Runs ingest. EMO_OK when the run completed (even with rejects, even with
 * no records: check summary->counts.records). Errors: bad options
 * (EMO_ERR_ARG, NOT_FOUND: nothing was done), cascade loading, fatal output
 * I/O (the previous datasets are left untouched). */
EmoStatus ingest_run(const IngestOptions *o, IngestSummary *summary, EmoError *err);

#endif /* INGEST_PIPELINE_H */
