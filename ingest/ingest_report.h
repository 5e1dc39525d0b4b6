/* ingest_report.h: ingest-report.json, what a run did: counts per split and
 * class, which path each face took, every rejected input with its reason,
 * and the duplicates found (with those across splits, i.e. train/test
 * leakage, flagged). Built with jansson and written atomically; the lists
 * of rejects and duplicates wait in a temporary file, not in memory.
 *
 * Its content depends only on the inputs and options (no timings, no
 * thread count), so two runs over the same data give the same report. */
#ifndef INGEST_REPORT_H
#define INGEST_REPORT_H

#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"
#include "ingest_process.h"
#include "ingest_types.h"

typedef struct IngestReport IngestReport;

typedef struct {
    const char *source;      /* the duplicate */
    int64_t row;
    int split;
    int label;
    const char *of_source;   /* the earlier record it duplicates */
    int64_t of_row;
    int of_split;
    int of_label;
    int near;                /* 0 exact, 1 perceptual */
    int distance;            /* Hamming distance (near) */
    int dropped;             /* removed from the output (dedup on) */
} IngestDupInfo;

typedef struct {
    uint64_t inputs;         /* items seen (files, rows, URLs, rejects) */
    uint64_t records;        /* records written */
    uint64_t rejected;       /* inputs or faces that produced no record */
    uint64_t split_class[INGEST_NUM_SPLITS][EMO_NUM_CLASSES + 1]; /* [.][7] = unlabeled */
    uint64_t by_path[INGEST_PATH__COUNT];
    uint64_t by_reason[INGEST_REJ__COUNT];
    uint64_t dup_exact, dup_near, dup_cross_split, dup_dropped;
    uint64_t dup_label_conflicts;   /* duplicates whose labels differ */
    uint64_t cross_pairs[INGEST_NUM_SPLITS][INGEST_NUM_SPLITS];  /* [dup's split][original's split] */
} IngestCounts;

/* The rejected and duplicate lists are spooled to an unlinked temporary
 * file in `spool_dir` (NULL: tmpfile()), so memory does not grow with them. */
EmoStatus ingest_report_create(IngestReport **r, const char *spool_dir, EmoError *err);
void ingest_report_free(IngestReport *r);

/* Live counters (read for progress and the summary). */
const IngestCounts *ingest_report_counts(const IngestReport *r);

void ingest_report_input(IngestReport *r);
void ingest_report_accept(IngestReport *r, int split, int label, IngestFacePath path);
EmoStatus ingest_report_reject(IngestReport *r, const char *source, int64_t row, IngestReason reason,
                               const char *detail, EmoError *err);
EmoStatus ingest_report_duplicate(IngestReport *r, const IngestDupInfo *d, EmoError *err);
EmoStatus ingest_report_warning(IngestReport *r, const char *msg, EmoError *err);

/* Adds `value` (a JSON text, e.g. the options object) under `key` at the top. */
EmoStatus ingest_report_set_json(IngestReport *r, const char *key, const char *json_text, EmoError *err);

/* Writes the report to `path` atomically (it reads the spools back). */
EmoStatus ingest_report_write(IngestReport *r, const char *path, EmoError *err);

#endif /* INGEST_REPORT_H */
