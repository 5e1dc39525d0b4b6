/* aug_run.c: the dataset-level loop (see aug_run.h). */
#include "aug_run.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aug_apply.h"
#include "emo_dataset.h"

/* Variants made per parallel round: enough to keep two threads busy for a
 * few hundred microseconds, small enough that the round's output stays
 * cache-resident (4096 x 2304 bytes = 9 MB for 48x48). */
#define AUG_CHUNK 4096

/* One output record to make: input record `rec`, copy index `copy`, or the
 * original itself when copy is AUG_JOB_ORIGINAL. */
#define AUG_JOB_ORIGINAL UINT32_MAX
typedef struct {
    uint32_t rec;
    uint32_t copy;
    size_t offset;              /* into the round's pixel buffer */
} AugJob;

/* The buffers of one round, allocated once (AUG_CHUNK jobs) except the
 * pixels, which grow with the record size. */
typedef struct {
    AugJob *jobs;
    char (*params)[AUG_PARAMS_TEXT_MAX];
    uint64_t *ids;
    EmoStatus *status;
    uint8_t *pixels;
    size_t pixels_cap;
    AugWorkspace *ws;           /* one per thread */
    int nthreads;
} AugRound;

static void round_free(AugRound *r)
{
    free(r->jobs);
    free(r->params);
    free(r->ids);
    free(r->status);
    free(r->pixels);
    for (int i = 0; r->ws && i < r->nthreads; i++) aug_workspace_free(&r->ws[i]);
    free(r->ws);
    memset(r, 0, sizeof *r);
}

static int round_init(AugRound *r, int threads)
{
    memset(r, 0, sizeof *r);
    r->nthreads = threads;
    r->jobs = malloc(AUG_CHUNK * sizeof *r->jobs);
    r->params = malloc(AUG_CHUNK * sizeof *r->params);
    r->ids = malloc(AUG_CHUNK * sizeof *r->ids);
    r->status = malloc(AUG_CHUNK * sizeof *r->status);
    r->ws = calloc((size_t)threads, sizeof *r->ws);
    return r->jobs && r->params && r->ids && r->status && r->ws;
}

static int grow_bytes(uint8_t **p, size_t *cap, size_t need)
{
    if (*cap >= need) return 1;
    size_t n = *cap ? *cap : 65536;
    while (n < need) n *= 2;
    uint8_t *q = realloc(*p, n);
    if (!q) return 0;
    *p = q;
    *cap = n;
    return 1;
}

/* The id a record's variants are derived from: its stored id, or for a
 * record without one the hash of its pixels (what the writer would store). */
static uint64_t parent_id(const EmoRecord *rec)
{
    return rec->id ? rec->id
                   : emo_record_hash_pixels(rec->pixels, (uint64_t)rec->width * rec->height * rec->channels);
}

/* Makes jobs[0..n) in parallel, then appends them in order. */
static EmoStatus run_round(const AugRunOptions *o, AugRound *r, const EmoRecord *recs, size_t n,
                           EmoDatasetWriter *w, AugRunStats *st, EmoError *err)
{
    int threads = r->nthreads;
    (void)threads;
    /* Jobs are independent (each has its own RNG and output slot), so any
     * schedule gives the same bytes; dynamic chunks even out the cost of
     * records that get blur or erasing and ones that do not. */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 32)
    for (size_t i = 0; i < n; i++) {
        const AugJob *j = &r->jobs[i];
        const EmoRecord *rec = &recs[j->rec];
        r->status[i] = EMO_OK;
        if (j->copy == AUG_JOB_ORIGINAL) continue;
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        uint8_t *dst = r->pixels + j->offset;
        r->status[i] = aug_make_variant(&o->cfg, o->seed, parent_id(rec), j->copy, rec->pixels, rec->width,
                                        rec->height, rec->channels, dst, r->params[i], &r->ws[t], NULL);
        if (r->status[i] == EMO_OK)
            r->ids[i] = emo_record_hash_pixels(dst, (uint64_t)rec->width * rec->height * rec->channels);
    }
    for (size_t i = 0; i < n; i++) {
        const AugJob *j = &r->jobs[i];
        const EmoRecord *rec = &recs[j->rec];
        if (r->status[i] != EMO_OK) /* only out of memory or a bad record shape */
            return emo_error_set(err, r->status[i], "%s: record %llu: cannot augment (%s)", o->input_dir,
                                 (unsigned long long)(st->records_in + j->rec), emo_status_name(r->status[i]));
        if (j->copy == AUG_JOB_ORIGINAL) {
            EMO_RETURN_IF_ERR(emo_dataset_writer_add(w, rec, err));
            st->originals_out++;
        } else {
            EmoRecord out = *rec;
            out.id = r->ids[i];
            out.parent_id = parent_id(rec);
            out.origin = EMO_ORIGIN_AUGMENTED;
            out.params = r->params[i];
            out.pixels = r->pixels + j->offset;
            EMO_RETURN_IF_ERR(emo_dataset_writer_add(w, &out, err));
        }
        st->records_out++;
    }
    return EMO_OK;
}

/* Turns one input block into rounds of jobs. */
static EmoStatus run_block(const AugRunOptions *o, AugRound *r, const EmoRecordBlock *blk,
                           uint64_t ordinals[EMO_NUM_CLASSES], EmoDatasetWriter *w, AugRunStats *st,
                           EmoError *err)
{
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < blk->count; i++) {
        const EmoRecord *rec = &blk->records[i];
        int label = rec->label;
        int labeled = label >= 0 && label < EMO_NUM_CLASSES;
        uint64_t nvar = aug_plan_variants(&st->plan, label, labeled ? ordinals[label] : 0);
        if (labeled) ordinals[label]++;
        size_t size = (size_t)rec->width * rec->height * rec->channels;
        for (uint64_t k = 0; k < nvar + (uint64_t)o->keep_original; k++) {
            if (n == AUG_CHUNK) { /* flush a full round */
                EMO_RETURN_IF_ERR(run_round(o, r, blk->records, n, w, st, err));
                n = 0, bytes = 0;
            }
            if (!grow_bytes(&r->pixels, &r->pixels_cap, bytes + size))
                return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", o->output_dir);
            AugJob *j = &r->jobs[n++];
            j->rec = (uint32_t)i;
            j->copy = o->keep_original && k == 0 ? AUG_JOB_ORIGINAL : (uint32_t)(k - (uint64_t)o->keep_original);
            j->offset = bytes;
            if (j->copy != AUG_JOB_ORIGINAL) bytes += size;
        }
    }
    if (n) EMO_RETURN_IF_ERR(run_round(o, r, blk->records, n, w, st, err));
    return EMO_OK;
}

EmoStatus aug_run(const AugRunOptions *o, AugRunStats *st, EmoError *err)
{
    memset(st, 0, sizeof *st);
    EMO_RETURN_IF_ERR(aug_config_validate(&o->cfg, err));
    int threads = o->threads > 0 ? o->threads : 1;

    EmoDatasetReader *rd = NULL;
    EmoReaderOptions ropt = {0, 1, 0}; /* manifest order, prefetch, corrupt blocks fail */
    EMO_RETURN_IF_ERR(emo_dataset_reader_open(&rd, o->input_dir, &ropt, err));
    const EmoManifest *m = emo_dataset_reader_manifest(rd);
    EmoStatus s = aug_plan_init(&st->plan, m->class_counts, o->copies, o->keep_original, o->balance,
                                o->balance_target, err);
    if (s != EMO_OK) {
        emo_dataset_reader_close(rd);
        return s;
    }
    uint64_t total_in = m->num_records;

    EmoDatasetWriter *w = NULL;
    EmoDatasetWriterOptions wopt = {0};
    wopt.threads = threads;
    wopt.zstd_level = o->zstd_level;
    wopt.produced_by = o->produced_by;
    s = emo_dataset_writer_open(&w, o->output_dir, &wopt, err);
    if (s != EMO_OK) {
        emo_dataset_reader_close(rd);
        return s;
    }

    AugRound r;
    if (!round_init(&r, threads)) s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", o->output_dir);
    uint64_t ordinals[EMO_NUM_CLASSES] = {0};
    while (s == EMO_OK) {
        EmoRecordBlock blk;
        s = emo_dataset_reader_next_block(rd, &blk, err);
        if (s == EMO_ERR_EOF) {
            s = EMO_OK;
            break;
        }
        if (s != EMO_OK) break;
        s = run_block(o, &r, &blk, ordinals, w, st, err);
        st->records_in += blk.count;
        if (s == EMO_OK && o->progress) o->progress(o->progress_user, st->records_in, total_in, st->records_out);
    }
    round_free(&r);
    emo_dataset_reader_close(rd);
    if (s != EMO_OK) {
        emo_dataset_writer_abort(w);
        return s;
    }
    return emo_dataset_writer_close(w, err);
}
