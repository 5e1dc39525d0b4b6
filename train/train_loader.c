/* train_loader.c: the batch worker thread (see train_loader.h).
 *
 * Hand-off: a ring of `ring` batch slots. The worker fills slot head % ring
 * while head - tail < ring; the consumer owns slot tail % ring from one
 * train_loader_next to the next (tail advances when it asks again). One
 * mutex, two condition variables (space, data). */
#include "train_loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "emo_dataset.h"
#include "train_rng.h"

struct TrainLoader {
    TrainLoaderOptions opt;
    char **dirs;
    uint64_t *dataset_records;      /* manifest num_records per dataset (incl. unlabeled) */
    uint64_t class_counts[EMO_NUM_CLASSES];
    uint64_t records;               /* labeled, all datasets */
    size_t img;                     /* pixels per record */

    /* Shuffle buffer (worker-owned). */
    uint8_t *buf_px;
    int *buf_label;

    /* Ring (guarded by mu). */
    float *ring_x;
    int *ring_labels;
    int *ring_count;
    uint64_t *ring_index;
    uint64_t head, tail;
    int holding;                    /* consumer holds slot tail */
    int done;                       /* worker finished (status says how) */
    EmoStatus status;
    EmoError error;
    pthread_mutex_t mu;
    pthread_cond_t cv_space, cv_data;
    atomic_int stop;

    pthread_t thread;
    int running;
    uint64_t epoch, skip;
    uint64_t skipped_blocks, skipped_unlabeled;   /* guarded by mu */
};

/*-*** Open / close ***/

EmoStatus train_loader_open(TrainLoader **out, const TrainLoaderOptions *opt, EmoError *err)
{
    *out = NULL;
    if (!opt || opt->num_dirs <= 0 || !opt->dirs)
        return emo_error_set(err, EMO_ERR_ARG, "loader: no dataset given");
    if (opt->batch_size <= 0) return emo_error_set(err, EMO_ERR_ARG, "loader: batch size must be > 0");
    TrainLoader *l = calloc(1, sizeof *l);
    if (!l) return emo_error_set(err, EMO_ERR_NOMEM, "loader: out of memory");
    l->opt = *opt;
    if (!l->opt.width) l->opt.width = 48;
    if (!l->opt.height) l->opt.height = 48;
    if (!l->opt.shuffle_buffer) l->opt.shuffle_buffer = 8192;
    if (!l->opt.shuffle) l->opt.shuffle_buffer = 0;
    if (l->opt.ring <= 0) l->opt.ring = 3;
    l->img = (size_t)l->opt.width * (size_t)l->opt.height;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_space, NULL);
    pthread_cond_init(&l->cv_data, NULL);
    atomic_init(&l->stop, 0);

    EmoStatus st = EMO_OK;
    l->dirs = calloc((size_t)opt->num_dirs, sizeof *l->dirs);
    l->dataset_records = calloc((size_t)opt->num_dirs, sizeof *l->dataset_records);
    if (!l->dirs || !l->dataset_records) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "loader: out of memory");
        goto fail;
    }
    l->opt.dirs = NULL;
    for (int i = 0; i < opt->num_dirs; i++) {
        l->dirs[i] = strdup(opt->dirs[i]);
        if (!l->dirs[i]) {
            st = emo_error_set(err, EMO_ERR_NOMEM, "loader: out of memory");
            goto fail;
        }
        EmoManifest m;
        st = emo_manifest_load(opt->dirs[i], &m, err);
        if (st != EMO_OK) goto fail;
        if ((m.width && m.width != l->opt.width) || (m.height && m.height != l->opt.height) ||
            (m.channels && m.channels != 1)) {
            st = emo_error_set(err, EMO_ERR_UNSUPPORTED,
                               "%s: records are %dx%dx%d; the network takes %dx%d gray faces", opt->dirs[i],
                               m.width, m.height, m.channels, l->opt.width, l->opt.height);
            emo_manifest_free(&m);
            goto fail;
        }
        l->dataset_records[i] = m.num_records;
        for (int c = 0; c < EMO_NUM_CLASSES; c++) {
            l->class_counts[c] += m.class_counts[c];
            l->records += m.class_counts[c];
        }
        emo_manifest_free(&m);
    }
    size_t cap = l->opt.shuffle_buffer, ring = (size_t)l->opt.ring, bs = (size_t)l->opt.batch_size;
    l->buf_px = cap ? malloc(cap * l->img) : NULL;
    l->buf_label = cap ? malloc(cap * sizeof *l->buf_label) : NULL;
    l->ring_x = malloc(ring * bs * l->img * sizeof *l->ring_x);
    l->ring_labels = malloc(ring * bs * sizeof *l->ring_labels);
    l->ring_count = calloc(ring, sizeof *l->ring_count);
    l->ring_index = calloc(ring, sizeof *l->ring_index);
    if ((cap && (!l->buf_px || !l->buf_label)) || !l->ring_x || !l->ring_labels || !l->ring_count ||
        !l->ring_index) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "loader: out of memory for %zu buffered records", cap);
        goto fail;
    }
    *out = l;
    return EMO_OK;
fail:
    train_loader_close(l);
    return st;
}

void train_loader_class_counts(const TrainLoader *l, uint64_t counts[EMO_NUM_CLASSES])
{
    memcpy(counts, l->class_counts, sizeof l->class_counts);
}

uint64_t train_loader_records(const TrainLoader *l)
{
    return l->records;
}

uint64_t train_loader_batches_per_epoch(const TrainLoader *l)
{
    uint64_t bs = (uint64_t)l->opt.batch_size;
    uint64_t n = l->records / bs, rest = l->records % bs;
    /* A final batch of one record is dropped in training order (see produce). */
    if (rest > 1 || (rest == 1 && !l->opt.shuffle)) n++;
    return n;
}

uint64_t train_loader_skipped_blocks(const TrainLoader *l)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&l->mu;
    pthread_mutex_lock(mu);
    uint64_t n = l->skipped_blocks;
    pthread_mutex_unlock(mu);
    return n;
}

uint64_t train_loader_skipped_unlabeled(const TrainLoader *l)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&l->mu;
    pthread_mutex_lock(mu);
    uint64_t n = l->skipped_unlabeled;
    pthread_mutex_unlock(mu);
    return n;
}

void train_loader_close(TrainLoader *l)
{
    if (!l) return;
    train_loader_stop(l);
    if (l->dirs)
        for (int i = 0; i < l->opt.num_dirs; i++) free(l->dirs[i]);
    free(l->dirs);
    free(l->dataset_records);
    free(l->buf_px);
    free(l->buf_label);
    free(l->ring_x);
    free(l->ring_labels);
    free(l->ring_count);
    free(l->ring_index);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_space);
    pthread_cond_destroy(&l->cv_data);
    free(l);
}

/*-*** Worker ***/

/* The batch being assembled by the worker. */
typedef struct {
    int slot;          /* ring slot, -1 = none acquired yet */
    int fill;          /* records in it */
    uint64_t index;    /* batch number within the epoch */
} Assembly;

/* Waits for a free ring slot. Returns 0 if asked to stop. */
static int acquire_slot(TrainLoader *l, Assembly *a)
{
    pthread_mutex_lock(&l->mu);
    while (l->head - l->tail >= (uint64_t)l->opt.ring && !atomic_load(&l->stop))
        pthread_cond_wait(&l->cv_space, &l->mu);
    int ok = !atomic_load(&l->stop);
    a->slot = (int)(l->head % (uint64_t)l->opt.ring);
    pthread_mutex_unlock(&l->mu);
    a->fill = 0;
    return ok;
}

/* Hands the assembled batch to the consumer, unless it is one of the
 * batches a resumed epoch skips. */
static void publish(TrainLoader *l, Assembly *a)
{
    if (a->index >= l->skip) {
        pthread_mutex_lock(&l->mu);
        l->ring_count[a->slot] = a->fill;
        l->ring_index[a->slot] = a->index;
        l->head++;
        pthread_cond_signal(&l->cv_data);
        pthread_mutex_unlock(&l->mu);
        a->slot = -1;
    }
    a->fill = 0;
    a->index++;
}

/* Adds one record to the batch (augmenting it); publishes a full batch. */
static int emit(TrainLoader *l, Assembly *a, TrainRng *rng, const uint8_t *px, int label)
{
    if (a->slot < 0 && !acquire_slot(l, a)) return 0;
    size_t k = (size_t)a->slot * (size_t)l->opt.batch_size + (size_t)a->fill;
    float *dst = l->ring_x + k * l->img;
    if (l->opt.shuffle)
        train_augment_apply(&l->opt.augment, rng, px, l->opt.width, l->opt.height, dst);
    else
        train_pixels_to_float(px, l->img, dst);
    l->ring_labels[k] = label;
    if (++a->fill == l->opt.batch_size) publish(l, a);
    return 1;
}

static EmoStatus produce(TrainLoader *l, EmoError *err)
{
    const int nd = l->opt.num_dirs;
    const uint64_t seed = l->opt.seed;
    EmoDatasetReader **rd = calloc((size_t)nd, sizeof *rd);
    uint64_t *left = calloc((size_t)nd, sizeof *left);
    int *eof = calloc((size_t)nd, sizeof *eof);
    EmoStatus st = EMO_OK;
    if (!rd || !left || !eof) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "loader: out of memory");
        goto done;
    }
    TrainRng rng;
    train_rng_seed(&rng, train_rng_derive(seed, l->epoch, 1));
    for (int i = 0; i < nd; i++) {
        EmoReaderOptions ro = {0};
        /* shuffle_seed 0 means manifest order, so a derived seed of 0 is bumped. */
        ro.shuffle_seed = l->opt.shuffle ? (train_rng_derive(seed, l->epoch, 100 + (uint64_t)i) | 1) : 0;
        ro.prefetch = 1;
        ro.skip_corrupt = l->opt.skip_corrupt;
        st = emo_dataset_reader_open(&rd[i], l->dirs[i], &ro, err);
        if (st != EMO_OK) goto done;
        left[i] = l->dataset_records[i];
    }

    Assembly a = {.slot = -1, .fill = 0, .index = 0};
    size_t cap = l->opt.shuffle_buffer, fill = 0;
    for (;;) {
        if (atomic_load(&l->stop)) goto done;
        /* Pick the source of the next record. */
        int src = -1;
        if (l->opt.shuffle) {
            uint64_t total = 0;
            for (int i = 0; i < nd; i++)
                if (!eof[i]) total += left[i] ? left[i] : 1;
            if (total) {
                uint64_t r = train_rng_below(&rng, total);
                for (int i = 0; i < nd && src < 0; i++) {
                    if (eof[i]) continue;
                    uint64_t w = left[i] ? left[i] : 1;
                    if (r < w) src = i;
                    else r -= w;
                }
            }
        } else {
            for (int i = 0; i < nd && src < 0; i++)
                if (!eof[i]) src = i;
        }
        if (src < 0) break;
        EmoRecord rec;
        st = emo_dataset_reader_next(rd[src], &rec, err);
        if (st == EMO_ERR_EOF) {
            st = EMO_OK;
            eof[src] = 1;
            continue;
        }
        if (st != EMO_OK) goto done;
        if (left[src]) left[src]--;
        if (rec.label == EMO_LABEL_NONE) {
            pthread_mutex_lock(&l->mu);
            l->skipped_unlabeled++;
            pthread_mutex_unlock(&l->mu);
            continue;
        }
        if (rec.label < 0 || rec.label >= EMO_NUM_CLASSES) {
            st = emo_error_set(err, EMO_ERR_CORRUPT, "%s: record %016llx has label %d (expected 0..6)",
                               l->dirs[src], (unsigned long long)rec.id, (int)rec.label);
            goto done;
        }
        if (rec.width != l->opt.width || rec.height != l->opt.height || rec.channels != 1) {
            st = emo_error_set(err, EMO_ERR_UNSUPPORTED,
                               "%s: record %016llx is %dx%dx%d; the network takes %dx%d gray faces",
                               l->dirs[src], (unsigned long long)rec.id, rec.width, rec.height, rec.channels,
                               l->opt.width, l->opt.height);
            goto done;
        }
        if (cap > 1) {
            /* Reservoir-style shuffle buffer: fill, then evict at random. */
            size_t j = fill;
            if (fill == cap) {
                j = (size_t)train_rng_below(&rng, cap);
                if (!emit(l, &a, &rng, l->buf_px + j * l->img, l->buf_label[j])) goto done;
            } else {
                fill++;
            }
            memcpy(l->buf_px + j * l->img, rec.pixels, l->img);
            l->buf_label[j] = rec.label;
        } else if (!emit(l, &a, &rng, rec.pixels, rec.label)) {
            goto done;
        }
    }
    /* Drain the buffer in random order. */
    while (fill > 0) {
        size_t j = (size_t)train_rng_below(&rng, fill);
        if (!emit(l, &a, &rng, l->buf_px + j * l->img, l->buf_label[j])) goto done;
        fill--;
        if (j != fill) {
            memcpy(l->buf_px + j * l->img, l->buf_px + fill * l->img, l->img);
            l->buf_label[j] = l->buf_label[fill];
        }
    }
    /* The short last batch; in training order a single record is dropped
     * because batch norm cannot take statistics over one example. */
    if (a.fill > 1 || (a.fill == 1 && !l->opt.shuffle)) publish(l, &a);
done:
    if (rd) {
        uint64_t skipped = 0;
        for (int i = 0; i < nd; i++)
            if (rd[i]) {
                skipped += emo_dataset_reader_skipped_blocks(rd[i]);
                emo_dataset_reader_close(rd[i]);
            }
        pthread_mutex_lock(&l->mu);
        l->skipped_blocks += skipped;
        pthread_mutex_unlock(&l->mu);
    }
    free(rd);
    free(left);
    free(eof);
    return st;
}

static void *worker_main(void *arg)
{
    TrainLoader *l = arg;
    EmoError e;
    emo_error_clear(&e);
    EmoStatus st = produce(l, &e);
    pthread_mutex_lock(&l->mu);
    l->status = st;
    l->error = e;
    l->done = 1;
    pthread_cond_broadcast(&l->cv_data);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/*-*** Consumer ***/

EmoStatus train_loader_start(TrainLoader *l, uint64_t epoch, uint64_t skip_batches, EmoError *err)
{
    train_loader_stop(l);
    l->epoch = epoch;
    l->skip = skip_batches;
    l->head = l->tail = 0;
    l->holding = 0;
    l->done = 0;
    l->status = EMO_OK;
    emo_error_clear(&l->error);
    atomic_store(&l->stop, 0);
    int rc = pthread_create(&l->thread, NULL, worker_main, l);
    if (rc != 0) return emo_error_set(err, EMO_ERR_NOMEM, "loader: cannot start its thread (error %d)", rc);
    l->running = 1;
    return EMO_OK;
}

EmoStatus train_loader_next(TrainLoader *l, TrainBatch *b, EmoError *err)
{
    memset(b, 0, sizeof *b);
    if (!l->running) return emo_error_set(err, EMO_ERR_ARG, "loader: no epoch started");
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        l->tail++;
        l->holding = 0;
        pthread_cond_signal(&l->cv_space);
    }
    while (l->head == l->tail && !l->done) pthread_cond_wait(&l->cv_data, &l->mu);
    EmoStatus st = EMO_OK;
    if (l->head > l->tail) {
        int slot = (int)(l->tail % (uint64_t)l->opt.ring);
        size_t base = (size_t)slot * (size_t)l->opt.batch_size;
        b->x = l->ring_x + base * l->img;
        b->labels = l->ring_labels + base;
        b->count = l->ring_count[slot];
        b->index = l->ring_index[slot];
        l->holding = 1;
    } else if (l->status != EMO_OK) {
        st = l->status;
        if (err) *err = l->error;
    } else {
        st = EMO_ERR_EOF;
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}

void train_loader_stop(TrainLoader *l)
{
    if (!l || !l->running) return;
    pthread_mutex_lock(&l->mu);
    atomic_store(&l->stop, 1);
    pthread_cond_broadcast(&l->cv_space);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->running = 0;
    l->holding = 0;
}
