/* ingest_walk.h: a folder tree as a stream of input items, in a fixed order.
 *
 * The walk is depth-first with each directory's entries sorted bytewise, so
 * the order (and therefore the output) never depends on the file system.
 * Memory is bounded by depth x directory size, not by the tree size.
 *
 * Labels and splits come from directory names: a directory named like a
 * class (or mapped by --labels) labels everything below it, the nearest one
 * winning; train/val(idation)/test directories set the split. The root's
 * own name counts too, so `emoingest fer2013/train/happy` is labeled happy,
 * split train. Files with no class directory above them are unlabeled.
 *
 * Nothing here hangs or crashes on hostile trees: a directory reached again
 * through a symlink (a loop) and ELOOP links are rejected as "symlink loop",
 * dangling links and unreadable directories as "unreadable", fifos and
 * devices as "not a regular file" (never opened), zero-byte files as
 * "empty file". Hidden entries (".name": .git, .DS_Store, macOS "._" files)
 * are skipped and counted. */
#ifndef INGEST_WALK_H
#define INGEST_WALK_H

#include <stdint.h>

#include "emo_error.h"
#include "ingest_labels.h"
#include "ingest_types.h"

typedef struct {
    const IngestLabelMap *labels;  /* may be NULL */
    int max_depth;                 /* 0 = 64 */
} IngestWalkOptions;

typedef struct {
    uint64_t files;                /* regular files produced as items */
    uint64_t rejects;              /* reject items produced */
    uint64_t hidden;               /* hidden entries skipped */
    /* Directory names that are neither a class nor a split (their files get
     * the label from above, or none); the first few, for the report. */
    int n_unknown_dirs;
    char *unknown_dirs[16];
} IngestWalkStats;

typedef struct IngestWalk IngestWalk;

/* Starts walking the directory `root`. Fails (EMO_ERR_IO / NOT_FOUND) if
 * root cannot be opened as a directory. */
EmoStatus ingest_walk_open(IngestWalk **w, const char *root, const IngestWalkOptions *opt, EmoError *err);

/* The next item: INGEST_ITEM_FILE (with label and split) or
 * INGEST_ITEM_REJECT. EMO_ERR_EOF when done; other errors only for memory. */
EmoStatus ingest_walk_next(IngestWalk *w, IngestItem *it, EmoError *err);

const IngestWalkStats *ingest_walk_stats(const IngestWalk *w);

void ingest_walk_close(IngestWalk *w);

/* Number of non-hidden entries that are not directories under root (a cheap
 * readdir-only pass, for progress ETAs); symlinked directories are not
 * followed here, so it is an estimate. */
uint64_t ingest_walk_count(const char *root, int max_depth);

#endif /* INGEST_WALK_H */
