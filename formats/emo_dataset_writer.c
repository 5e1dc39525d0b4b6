/* emo_dataset_writer.c: writes a dataset directory (the writer half of
 * emo_dataset.h).
 *
 * Records are copied into up to `threads` block builders; when they are all
 * full (or a shard or the dataset ends) the blocks are encoded and
 * compressed, one thread per block, and appended to the current shard in
 * order. Each block is compressed on its own with the same parameters, so
 * the output is byte-identical whatever the thread count, and memory stays
 * bounded by `threads` blocks.
 *
 * Everything goes into "<dir>.partial-<pid>" first; close writes the
 * manifest last and then swaps the staging directory into place. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emo_block.h"
#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_predict.h"
#include "emo_shard.h"

/* MED compresses FER2013 best of the predictors measured, and groups of 32
 * same-size gray records decode it with SIMD; per-record choice among the
 * others gained under 0.1% (SHARDS.md), so the writer uses MED alone. */
#define EMO_WRITER_PREDICTORS (1u << EMO_PRED_MED)

typedef struct {
    EmoBlockBuilder builder;
    EmoShardCompressor *comp;
    uint8_t *payload, *frame;
    size_t payload_cap, frame_cap, payload_size, frame_size;
    EmoStatus status;
    EmoError err;
} EmoWriterSlot;

struct EmoDatasetWriter {
    char *dir;              /* final name */
    char *stage;            /* "<dir>.partial-<pid>" */
    EmoDatasetWriterOptions opt;
    EmoWriterSlot *slots;
    int nslots, cur;        /* slots[0..cur] hold records */
    EmoShardWriter *shard;  /* open shard, or NULL between shards */
    uint64_t shard_records; /* records in the open shard, incl. staged */
    EmoManifest m;          /* filled as we go */
    int shards_cap;
    int sized;              /* first record seen: m.width.. hold its size */
};

static void emo_writer_free(EmoDatasetWriter *w)
{
    for (int i = 0; i < w->nslots; i++) {
        emo_block_builder_free(&w->slots[i].builder);
        emo_shard_compressor_free(w->slots[i].comp);
        free(w->slots[i].payload);
        free(w->slots[i].frame);
    }
    free(w->slots);
    emo_shard_writer_abort(w->shard);
    emo_manifest_free(&w->m);
    free(w->dir);
    free(w->stage);
    free(w);
}

/* Staging directories of writers that died (their pid is gone) are junk the
 * next run removes, so re-running a producer cleans up after a crash. */
static void emo_remove_stale_stages(const char *dir)
{
    char *parent = strdup(dir);
    if (!parent) return;
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : parent;
    const char *pdir = ".";
    if (slash) {
        *slash = '\0';
        pdir = slash == parent ? "/" : parent;
    }
    size_t blen = strlen(base);
    DIR *d = opendir(pdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, base, blen) != 0 || strncmp(e->d_name + blen, ".partial-", 9) != 0) continue;
            char *endp;
            long pid = strtol(e->d_name + blen + 9, &endp, 10);
            if (*endp || pid <= 0) continue;
            if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
            char *p = emo_path_join(pdir, e->d_name);
            if (p) emo_remove_tree(p, NULL);
            free(p);
        }
        closedir(d);
    }
    free(parent);
}

EmoStatus emo_dataset_writer_open(EmoDatasetWriter **out, const char *dir, const EmoDatasetWriterOptions *opt,
                                  EmoError *err)
{
    *out = NULL;
    EmoDatasetWriter *w = calloc(1, sizeof *w);
    if (!w) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
    if (opt) w->opt = *opt;
    if (!w->opt.records_per_block) w->opt.records_per_block = 256;
    if (!w->opt.records_per_shard) w->opt.records_per_shard = 8192;
    if (w->opt.threads <= 0) w->opt.threads = 1;
    if (w->opt.threads > 64) w->opt.threads = 64;
    w->opt.produced_by = NULL; /* copied into the manifest below; the caller's string may go away */
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    w->dir = strndup(dir, dl);
    w->stage = malloc(dl + 32);
    w->nslots = w->opt.threads;
    w->slots = calloc((size_t)w->nslots, sizeof *w->slots);
    if (!w->dir || !w->stage || !w->slots) {
        emo_writer_free(w);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
    }
    snprintf(w->stage, dl + 32, "%s.partial-%ld", w->dir, (long)getpid());
    if (opt && opt->produced_by && !(w->m.produced_by = strdup(opt->produced_by))) {
        emo_writer_free(w);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
    }
    for (int i = 0; i < w->nslots; i++) {
        EmoStatus s = emo_shard_compressor_create(&w->slots[i].comp, w->opt.zstd_level, err);
        if (s != EMO_OK) {
            emo_writer_free(w);
            return s;
        }
    }
    w->m.format_version = EMO_DATASET_FORMAT_VERSION;
    for (int i = 0; i < EMO_NUM_CLASSES; i++) {
        if (!(w->m.class_names[i] = strdup(emo_class_name(i)))) {
            emo_writer_free(w);
            return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
        }
    }
    emo_remove_stale_stages(w->dir);
    EmoStatus s = emo_remove_tree(w->stage, err);
    if (s == EMO_OK) s = emo_mkdir_p(w->stage, err);
    if (s != EMO_OK) {
        emo_writer_free(w);
        return s;
    }
    *out = w;
    return EMO_OK;
}

static void *emo_writer_encode_slot(void *arg)
{
    EmoWriterSlot *sl = arg;
    sl->status = emo_block_encode(&sl->builder, EMO_WRITER_PREDICTORS, &sl->payload, &sl->payload_cap,
                                  &sl->payload_size, &sl->err);
    if (sl->status == EMO_OK)
        sl->status = emo_shard_compress(sl->comp, sl->payload, sl->payload_size, &sl->frame, &sl->frame_cap,
                                        &sl->frame_size, &sl->err);
    return NULL;
}

static EmoStatus emo_writer_open_shard(EmoDatasetWriter *w, EmoError *err)
{
    if (w->m.num_shards == w->shards_cap) {
        int n = w->shards_cap ? w->shards_cap * 2 : 16;
        EmoShardInfo *si = realloc(w->m.shards, (size_t)n * sizeof *si);
        if (!si) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", w->dir);
        w->m.shards = si;
        w->shards_cap = n;
    }
    char name[32];
    snprintf(name, sizeof name, "shard-%05d.emo", w->m.num_shards);
    EmoShardInfo *si = &w->m.shards[w->m.num_shards];
    memset(si, 0, sizeof *si);
    if (!(si->name = strdup(name))) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", w->dir);
    w->m.num_shards++;
    char *path = emo_path_join(w->stage, name);
    if (!path) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", w->dir);
    EmoStatus s = emo_shard_writer_open(&w->shard, path, err);
    free(path);
    return s;
}

static EmoStatus emo_writer_close_shard(EmoDatasetWriter *w, EmoError *err)
{
    EmoShardInfo *si = &w->m.shards[w->m.num_shards - 1];
    EmoShardWriter *sw = w->shard;
    w->shard = NULL;
    w->shard_records = 0;
    return emo_shard_writer_close(sw, &si->bytes, &si->xxh64, err);
}

/* Encodes and compresses the filled slots (in parallel), appends them to the
 * open shard in slot order, and closes the shard if it is full. */
static EmoStatus emo_writer_flush(EmoDatasetWriter *w, EmoError *err)
{
    int n = w->cur + (w->slots[w->cur].builder.count > 0);
    if (n == 0) return EMO_OK;
    pthread_t tids[64];
    int started[64] = {0};
    for (int i = 1; i < n; i++) started[i] = pthread_create(&tids[i], NULL, emo_writer_encode_slot, &w->slots[i]) == 0;
    emo_writer_encode_slot(&w->slots[0]);
    for (int i = 1; i < n; i++) {
        if (started[i]) pthread_join(tids[i], NULL);
        else emo_writer_encode_slot(&w->slots[i]); /* no thread to be had: do it here */
    }
    if (!w->shard) EMO_RETURN_IF_ERR(emo_writer_open_shard(w, err));
    for (int i = 0; i < n; i++) {
        EmoWriterSlot *sl = &w->slots[i];
        if (sl->status != EMO_OK) {
            if (err) *err = sl->err;
            return sl->status;
        }
        EMO_RETURN_IF_ERR(emo_shard_writer_add(w->shard, sl->frame, sl->frame_size, sl->payload_size,
                                               (uint32_t)sl->builder.count, err));
        w->m.shards[w->m.num_shards - 1].records += sl->builder.count;
        emo_block_builder_reset(&sl->builder);
    }
    w->cur = 0;
    if (w->shard_records >= w->opt.records_per_shard) EMO_RETURN_IF_ERR(emo_writer_close_shard(w, err));
    return EMO_OK;
}

EmoStatus emo_dataset_writer_add(EmoDatasetWriter *w, const EmoRecord *rec, EmoError *err)
{
    EMO_RETURN_IF_ERR(emo_block_builder_add(&w->slots[w->cur].builder, rec, err));
    EmoManifest *m = &w->m;
    if (!w->sized) {
        m->width = rec->width;
        m->height = rec->height;
        m->channels = rec->channels;
        w->sized = 1;
    } else if (m->width != rec->width || m->height != rec->height || m->channels != rec->channels) {
        m->width = m->height = m->channels = 0; /* mixed sizes */
    }
    m->num_records++;
    if (rec->label == EMO_LABEL_NONE) m->unlabeled++;
    else m->class_counts[rec->label]++;
    if (rec->origin == EMO_ORIGIN_AUGMENTED) m->augmented++;
    m->raw_pixel_bytes += (uint64_t)rec->width * rec->height * rec->channels;
    w->shard_records++;
    int shard_full = w->shard_records >= w->opt.records_per_shard;
    if (w->slots[w->cur].builder.count >= w->opt.records_per_block || shard_full) {
        if (w->cur + 1 == w->nslots || shard_full) return emo_writer_flush(w, err);
        w->cur++;
    }
    return EMO_OK;
}

static EmoStatus emo_fsync_dir(const char *path, EmoError *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return emo_error_set(err, EMO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0 && e != EINVAL) return emo_error_set(err, EMO_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    return EMO_OK;
}

/* Puts the staged directory at w->dir. An existing dataset is exchanged
 * atomically (readers see old or new, never a mix) and then removed. */
static EmoStatus emo_writer_swap_in(EmoDatasetWriter *w, EmoError *err)
{
    struct stat st;
    if (lstat(w->dir, &st) != 0) {
        if (rename(w->stage, w->dir) != 0)
            return emo_error_set(err, EMO_ERR_IO, "%s: rename from %s failed: %s", w->dir, w->stage, strerror(errno));
        return EMO_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return emo_error_set(err, EMO_ERR_IO, "%s: exists and is not a directory", w->dir);
    if (renameat2(AT_FDCWD, w->stage, AT_FDCWD, w->dir, RENAME_EXCHANGE) == 0)
        return emo_remove_tree(w->stage, err); /* the stage name now holds the old dataset */
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return emo_error_set(err, EMO_ERR_IO, "%s: exchange with %s failed: %s", w->dir, w->stage, strerror(errno));
    /* No RENAME_EXCHANGE on this filesystem: two renames, with a short
     * window in which w->dir does not exist. */
    size_t n = strlen(w->dir) + 32;
    char *old = malloc(n);
    if (!old) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", w->dir);
    snprintf(old, n, "%s.old-%ld", w->dir, (long)getpid());
    EmoStatus s = EMO_OK;
    if (rename(w->dir, old) != 0) {
        s = emo_error_set(err, EMO_ERR_IO, "%s: rename failed: %s", w->dir, strerror(errno));
    } else if (rename(w->stage, w->dir) != 0) {
        s = emo_error_set(err, EMO_ERR_IO, "%s: rename failed: %s", w->dir, strerror(errno));
        rename(old, w->dir);
    } else {
        s = emo_remove_tree(old, err);
    }
    free(old);
    return s;
}

EmoStatus emo_dataset_writer_close(EmoDatasetWriter *w, EmoError *err)
{
    EmoStatus s = emo_writer_flush(w, err);
    if (s == EMO_OK && w->shard) s = emo_writer_close_shard(w, err);
    if (s == EMO_OK) s = emo_manifest_save(w->stage, &w->m, err);
    if (s == EMO_OK) s = emo_fsync_dir(w->stage, err);
    if (s == EMO_OK) s = emo_writer_swap_in(w, err);
    if (s != EMO_OK) {
        emo_dataset_writer_abort(w);
        return s;
    }
    /* Make the rename itself durable. */
    char *parent = strdup(w->dir);
    if (parent) {
        char *slash = strrchr(parent, '/');
        const char *pd = slash ? (slash == parent ? "/" : (*slash = '\0', parent)) : ".";
        emo_fsync_dir(pd, NULL);
    }
    free(parent);
    emo_writer_free(w);
    return EMO_OK;
}

void emo_dataset_writer_abort(EmoDatasetWriter *w)
{
    if (!w) return;
    emo_shard_writer_abort(w->shard);
    w->shard = NULL;
    emo_remove_tree(w->stage, NULL);
    emo_writer_free(w);
}
