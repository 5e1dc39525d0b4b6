/* train_loader.h: stream batches of faces from one or more datasets.
 *
 * The trainer's data path. A worker thread reads records from every named
 * dataset (each through an emo_dataset reader, which decompresses ahead on
 * its own thread), mixes them, shuffles them through a bounded buffer,
 * augments them and assembles float batches into a small ring, so the
 * network never waits on I/O and memory stays bounded by
 * shuffle_buffer + ring batches, however large the datasets.
 *
 * Training order (shuffle = 1), for epoch e of a run with seed s:
 *   - each dataset's shards are visited in an order seeded by (s, e, dataset);
 *   - datasets are interleaved record by record, picking the next source at
 *     random in proportion to the records it has left (an original set and
 *     its augmented copy are mixed evenly, not one after the other);
 *   - records pass through a shuffle buffer (reservoir-style: once full,
 *     each incoming record evicts a random resident);
 *   - augmentation draws from the same epoch RNG.
 * The order is thus a pure function of (seed, epoch), and starting an epoch
 * with skip_batches = k yields exactly the batches k, k+1, ... of the
 * uninterrupted epoch: that is how --resume continues mid-epoch.
 *
 * Evaluation order (shuffle = 0): datasets in the order given, shards and
 * records in manifest order, no augmentation.
 *
 * Unlabeled records are skipped (and counted). Records must be
 * width x height x 1 as configured; anything else is an error naming the
 * dataset. Corrupt blocks are an error naming the shard and block, or with
 * skip_corrupt are skipped and counted. */
#ifndef TRAIN_LOADER_H
#define TRAIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"
#include "train_augment.h"

typedef struct {
    const char *const *dirs;   /* dataset directories */
    int num_dirs;
    int batch_size;            /* > 0 */
    int width, height;         /* record size the network takes (0 = 48) */
    int shuffle;               /* 1 = training order, 0 = evaluation order */
    size_t shuffle_buffer;     /* records (0 = 8192, about 18 MB) */
    uint64_t seed;
    TrainAugment augment;      /* applied only when shuffle = 1 */
    int skip_corrupt;
    int ring;                  /* batches assembled ahead (0 = 3) */
} TrainLoaderOptions;

/* One batch; valid until the next train_loader_next / _stop / _close. */
typedef struct {
    const float *x;      /* [count][1][height][width], values in [0, 1] */
    const int *labels;   /* [count], 0..6 */
    int count;           /* <= batch_size; only the last batch of an epoch is short */
    uint64_t index;      /* batch number within the epoch */
} TrainBatch;

typedef struct TrainLoader TrainLoader;

/* Loads every dataset's manifest (no data is read yet). */
EmoStatus train_loader_open(TrainLoader **l, const TrainLoaderOptions *opt, EmoError *err);

/* Sum of the manifests' per-class counts (the labeled records). */
void train_loader_class_counts(const TrainLoader *l, uint64_t counts[EMO_NUM_CLASSES]);

/* Labeled records per epoch by the manifests, and batches that makes. */
uint64_t train_loader_records(const TrainLoader *l);
uint64_t train_loader_batches_per_epoch(const TrainLoader *l);

/* Starts streaming epoch `epoch` (0-based), skipping its first
 * `skip_batches` batches. Stops any epoch still running. */
EmoStatus train_loader_start(TrainLoader *l, uint64_t epoch, uint64_t skip_batches, EmoError *err);

/* The next batch of the running epoch. EMO_ERR_EOF at its end (not an
 * error). Other statuses are the reader's errors, in stream order (the
 * batches before the fault are delivered first). */
EmoStatus train_loader_next(TrainLoader *l, TrainBatch *batch, EmoError *err);

/* Abandons the running epoch (joins the worker). Safe when none runs. */
void train_loader_stop(TrainLoader *l);

/* Corrupt blocks skipped (skip_corrupt) and unlabeled records skipped, over
 * all epochs so far. */
uint64_t train_loader_skipped_blocks(const TrainLoader *l);
uint64_t train_loader_skipped_unlabeled(const TrainLoader *l);

/* Stops and frees; NULL-safe. */
void train_loader_close(TrainLoader *l);

#endif /* TRAIN_LOADER_H */
