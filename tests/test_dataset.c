/* test_dataset.c: datasets (formats/emo_dataset.h): write, stream back,
 * shuffle, prefetch, atomic replacement, and every way a dataset directory
 * can be wrong. Inputs are generated here; no shared data needed. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <xxhash.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "test_support.h"

/* A generated record set: smooth faces-ish images with noise, varied
 * labels, origins, sources and params. */
typedef struct {
    size_t n;
    EmoRecord *recs;
    uint8_t *pixels;
    char **sources, **params;
} TestSet;

static TestSet make_set(size_t n, int w, int h, int c, uint64_t seed)
{
    TestSet t = {n, calloc(n, sizeof(EmoRecord)), malloc(n * (size_t)w * h * c), calloc(n, sizeof(char *)),
                 calloc(n, sizeof(char *))};
    ck_assert(t.recs && t.pixels && t.sources && t.params);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        uint8_t *px = t.pixels + i * (size_t)w * h * c;
        int gx = (int)(ts_rand(&st) % 7) - 3, gy = (int)(ts_rand(&st) % 7) - 3, base = (int)(ts_rand(&st) % 200);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    px[((size_t)y * w + x) * c + k] = (uint8_t)(base + gx * x + gy * y + (int)(ts_rand(&st) % 9) + k * 5);
        EmoRecord *r = &t.recs[i];
        r->label = (int32_t)(i % 9 == 8 ? EMO_LABEL_NONE : (int)(i % 7));
        r->width = (uint16_t)w;
        r->height = (uint16_t)h;
        r->channels = (uint8_t)c;
        r->origin = i % 5 == 4 ? EMO_ORIGIN_AUGMENTED : EMO_ORIGIN_ORIGINAL;
        r->parent_id = r->origin ? ts_rand(&st) : 0;
        r->source_row = i % 3 ? (int64_t)i * 1000 : -1;
        t.sources[i] = malloc(64);
        t.params[i] = malloc(64);
        snprintf(t.sources[i], 64, i % 11 ? "train/%s/img_%zu.jpg" : "", emo_class_name(r->label), i);
        snprintf(t.params[i], 64, r->origin ? "rot=%zu flip=1" : "", i % 13);
        r->source = t.sources[i];
        r->params = t.params[i];
        r->pixels = px;
        r->id = i % 4 ? emo_record_hash_pixels(px, (uint64_t)w * h * c) : 0; /* 0: writer computes */
    }
    return t;
}

static void free_set(TestSet *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->sources[i]);
        free(t->params[i]);
    }
    free(t->sources);
    free(t->params);
    free(t->recs);
    free(t->pixels);
}

static void write_set(const char *dir, const TestSet *t, uint32_t rpb, uint32_t rps, int threads)
{
    EmoDatasetWriterOptions o = {rpb, rps, 0, threads, "{\"tool\":\"test_dataset\",\"version\":\"0\",\"options\":{\"k\":1},\"inputs\":[\"gen\"]}"};
    EmoDatasetWriter *w;
    EmoError err;
    ck_assert_msg(emo_dataset_writer_open(&w, dir, &o, &err) == EMO_OK, "%s", err.msg);
    for (size_t i = 0; i < t->n; i++) ck_assert_msg(emo_dataset_writer_add(w, &t->recs[i], &err) == EMO_OK, "%s", err.msg);
    ck_assert_msg(emo_dataset_writer_close(w, &err) == EMO_OK, "%s", err.msg);
}

static void assert_same_record(const EmoRecord *got, const EmoRecord *want)
{
    size_t npx = (size_t)want->width * want->height * want->channels;
    uint64_t id = want->id ? want->id : XXH64(want->pixels, npx, 0); /* independent reference */
    ck_assert_uint_eq(got->id, id);
    ck_assert_uint_eq(got->parent_id, want->parent_id);
    ck_assert_int_eq(got->label, want->label);
    ck_assert_uint_eq(got->width, want->width);
    ck_assert_uint_eq(got->height, want->height);
    ck_assert_uint_eq(got->channels, want->channels);
    ck_assert_uint_eq(got->origin, want->origin);
    ck_assert_int_eq(got->source_row, want->source_row);
    ck_assert_str_eq(got->source, want->source);
    ck_assert_str_eq(got->params, want->params);
    ck_assert(memcmp(got->pixels, want->pixels, npx) == 0);
}

START_TEST(roundtrip_in_order_and_manifest)
{
    char *tmp = ts_tempdir();
    char *dir = emo_path_join(tmp, "ds");
    TestSet t = make_set(1000, 48, 48, 1, 7);
    write_set(dir, &t, 64, 300, 1);

    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, 0, 0};
    ck_assert_msg(emo_dataset_reader_open(&r, dir, &ro, &err) == EMO_OK, "%s", err.msg);
    const EmoManifest *m = emo_dataset_reader_manifest(r);
    ck_assert_int_eq(m->num_shards, 4); /* 300+300+300+100 */
    ck_assert_uint_eq(m->num_records, 1000);
    uint64_t counts[EMO_NUM_CLASSES] = {0}, unl = 0, aug = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.recs[i].label < 0) unl++;
        else counts[t.recs[i].label]++;
        aug += t.recs[i].origin == EMO_ORIGIN_AUGMENTED;
    }
    for (int k = 0; k < EMO_NUM_CLASSES; k++) {
        ck_assert_uint_eq(m->class_counts[k], counts[k]);
        ck_assert_str_eq(m->class_names[k], emo_class_name(k));
    }
    ck_assert_uint_eq(m->unlabeled, unl);
    ck_assert_uint_eq(m->augmented, aug);
    ck_assert_int_eq(m->width, 48);
    ck_assert_int_eq(m->height, 48);
    ck_assert_int_eq(m->channels, 1);
    ck_assert_uint_eq(m->raw_pixel_bytes, 1000u * 48 * 48);
    ck_assert_ptr_nonnull(strstr(m->produced_by, "\"tool\":\"test_dataset\""));
    ck_assert_uint_eq(m->shards[3].records, 100);

    EmoRecord rec;
    size_t i = 0;
    EmoStatus s;
    while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
        ck_assert_uint_lt(i, t.n);
        assert_same_record(&rec, &t.recs[i]);
        i++;
    }
    ck_assert_int_eq(s, EMO_ERR_EOF);
    ck_assert_uint_eq(i, t.n);
    ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_ERR_EOF); /* stays at EOF */
    emo_dataset_reader_close(r);

    /* The manifest's shard sizes and hashes match the files. */
    EmoManifest mm;
    ck_assert_int_eq(emo_manifest_load(dir, &mm, &err), EMO_OK);
    for (int k = 0; k < mm.num_shards; k++) {
        char *p = emo_path_join(dir, mm.shards[k].name);
        size_t n;
        char *data = ts_slurp(p, &n);
        ck_assert_uint_eq(n, mm.shards[k].bytes);
        ck_assert_uint_eq(XXH64(data, n, 0), mm.shards[k].xxh64);
        free(data);
        free(p);
    }
    emo_manifest_free(&mm);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads all ids in stream order (by blocks when `blocks`). */
static uint64_t *read_ids(const char *dir, uint64_t seed, int prefetch, int blocks, size_t *n)
{
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {seed, prefetch, 0};
    ck_assert_msg(emo_dataset_reader_open(&r, dir, &ro, &err) == EMO_OK, "%s", err.msg);
    size_t cap = emo_dataset_reader_manifest(r)->num_records, k = 0;
    uint64_t *ids = malloc((cap + 1) * sizeof *ids);
    EmoStatus s;
    if (blocks) {
        EmoRecordBlock b;
        while ((s = emo_dataset_reader_next_block(r, &b, &err)) == EMO_OK)
            for (size_t i = 0; i < b.count; i++) {
                ck_assert_uint_lt(k, cap);
                ids[k++] = b.records[i].id;
            }
    } else {
        EmoRecord rec;
        while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
            ck_assert_uint_lt(k, cap);
            ids[k++] = rec.id;
        }
    }
    ck_assert_msg(s == EMO_ERR_EOF, "%s", err.msg);
    emo_dataset_reader_close(r);
    *n = k;
    return ids;
}

START_TEST(shuffle_and_prefetch_visit_everything)
{
    char *tmp = ts_tempdir();
    char *dir = emo_path_join(tmp, "ds");
    TestSet t = make_set(700, 16, 16, 1, 11);
    write_set(dir, &t, 32, 128, 2);
    size_t n0, n1, n2, n3, n4;
    uint64_t *plain = read_ids(dir, 0, 0, 0, &n0);
    uint64_t *pre = read_ids(dir, 0, 1, 0, &n1);
    uint64_t *s1 = read_ids(dir, 42, 1, 0, &n2);
    uint64_t *s1b = read_ids(dir, 42, 0, 1, &n3);
    uint64_t *s2 = read_ids(dir, 43, 1, 1, &n4);
    ck_assert_uint_eq(n0, 700);
    ck_assert_uint_eq(n1, 700);
    ck_assert_uint_eq(n2, 700);
    ck_assert_uint_eq(n3, 700);
    ck_assert_uint_eq(n4, 700);
    for (size_t i = 0; i < 700; i++) {
        uint64_t want = XXH64(t.recs[i].pixels, 256, 0);
        ck_assert_uint_eq(plain[i], want);
        ck_assert_uint_eq(pre[i], want);   /* prefetch keeps the order */
    }
    ck_assert(memcmp(s1, s1b, 700 * sizeof *s1) == 0);   /* same seed, same order */
    ck_assert(memcmp(s1, plain, 700 * sizeof *s1) != 0); /* shuffled */
    ck_assert(memcmp(s1, s2, 700 * sizeof *s1) != 0);    /* seed matters */
    qsort(s1, 700, sizeof *s1, cmp_u64);
    qsort(s2, 700, sizeof *s2, cmp_u64);
    qsort(plain, 700, sizeof *plain, cmp_u64);
    ck_assert(memcmp(s1, plain, 700 * sizeof *s1) == 0); /* a permutation */
    ck_assert(memcmp(s2, plain, 700 * sizeof *s1) == 0);
    free(plain); free(pre); free(s1); free(s1b); free(s2);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(early_close_with_prefetch)
{
    char *tmp = ts_tempdir();
    char *dir = emo_path_join(tmp, "ds");
    TestSet t = make_set(300, 24, 24, 3, 5); /* RGB goes through the generic predictor path */
    write_set(dir, &t, 16, 64, 1);
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {9, 1, 0};
    ck_assert_int_eq(emo_dataset_reader_open(&r, dir, &ro, &err), EMO_OK);
    EmoRecord rec;
    for (int i = 0; i < 20; i++) ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_OK);
    emo_dataset_reader_close(r); /* worker still running: must stop cleanly */
    ro.prefetch = 0;
    ro.shuffle_seed = 0;
    ck_assert_int_eq(emo_dataset_reader_open(&r, dir, &ro, &err), EMO_OK);
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_OK);
        assert_same_record(&rec, &t.recs[i]);
    }
    emo_dataset_reader_close(r);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(threads_give_identical_bytes)
{
    char *tmp = ts_tempdir();
    char *d1 = emo_path_join(tmp, "one"), *d3 = emo_path_join(tmp, "three");
    TestSet t = make_set(900, 48, 48, 1, 3);
    write_set(d1, &t, 50, 400, 1);
    write_set(d3, &t, 50, 400, 3);
    const char *names[] = {"manifest.json", "shard-00000.emo", "shard-00001.emo", "shard-00002.emo"};
    for (int i = 0; i < 4; i++) {
        char *a = emo_path_join(d1, names[i]), *b = emo_path_join(d3, names[i]);
        size_t na, nb;
        char *x = ts_slurp(a, &na), *y = ts_slurp(b, &nb);
        ck_assert_ptr_nonnull(x);
        ck_assert_ptr_nonnull(y);
        ck_assert_uint_eq(na, nb);
        ck_assert_msg(memcmp(x, y, na) == 0, "%s differs", names[i]);
        free(x); free(y); free(a); free(b);
    }
    free_set(&t);
    free(d1);
    free(d3);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

START_TEST(replace_is_atomic_and_abort_keeps_old)
{
    char *tmp = ts_tempdir();
    char *dir = emo_path_join(tmp, "ds");
    TestSet a = make_set(100, 8, 8, 1, 1), b = make_set(50, 8, 8, 1, 2);
    write_set(dir, &a, 0, 0, 1);
    write_set(dir, &b, 0, 0, 1); /* replaces */
    EmoManifest m;
    EmoError err;
    ck_assert_int_eq(emo_manifest_load(dir, &m, &err), EMO_OK);
    ck_assert_uint_eq(m.num_records, 50);
    emo_manifest_free(&m);
    ck_assert_int_eq(count_entries(tmp), 1); /* no staging or old directory left */

    EmoDatasetWriter *w;
    ck_assert_int_eq(emo_dataset_writer_open(&w, dir, NULL, &err), EMO_OK);
    for (size_t i = 0; i < a.n; i++) ck_assert_int_eq(emo_dataset_writer_add(w, &a.recs[i], &err), EMO_OK);
    ck_assert_int_eq(count_entries(tmp), 2); /* the staging directory */
    emo_dataset_writer_abort(w);
    ck_assert_int_eq(emo_manifest_load(dir, &m, &err), EMO_OK);
    ck_assert_uint_eq(m.num_records, 50);
    emo_manifest_free(&m);
    ck_assert_int_eq(count_entries(tmp), 1);

    /* A bad record is refused and the writer stays usable. */
    ck_assert_int_eq(emo_dataset_writer_open(&w, dir, NULL, &err), EMO_OK);
    EmoRecord bad = a.recs[0];
    bad.label = 9;
    ck_assert_int_eq(emo_dataset_writer_add(w, &bad, &err), EMO_ERR_ARG);
    bad = a.recs[0];
    bad.width = 0;
    ck_assert_int_eq(emo_dataset_writer_add(w, &bad, &err), EMO_ERR_ARG);
    ck_assert_int_eq(emo_dataset_writer_add(w, &a.recs[1], &err), EMO_OK);
    ck_assert_int_eq(emo_dataset_writer_close(w, &err), EMO_OK);
    ck_assert_int_eq(emo_manifest_load(dir, &m, &err), EMO_OK);
    ck_assert_uint_eq(m.num_records, 1);
    emo_manifest_free(&m);

    /* An empty dataset is valid. */
    ck_assert_int_eq(emo_dataset_writer_open(&w, dir, NULL, &err), EMO_OK);
    ck_assert_int_eq(emo_dataset_writer_close(w, &err), EMO_OK);
    EmoDatasetReader *r;
    ck_assert_int_eq(emo_dataset_reader_open(&r, dir, NULL, &err), EMO_OK);
    EmoRecord rec;
    ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_ERR_EOF);
    emo_dataset_reader_close(r);
    free_set(&a);
    free_set(&b);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(mixed_sizes_manifest_says_zero)
{
    char *tmp = ts_tempdir();
    char *dir = emo_path_join(tmp, "ds");
    TestSet a = make_set(10, 8, 8, 1, 1), b = make_set(10, 12, 9, 1, 2);
    EmoDatasetWriter *w;
    EmoError err;
    ck_assert_int_eq(emo_dataset_writer_open(&w, dir, NULL, &err), EMO_OK);
    for (size_t i = 0; i < 10; i++) {
        ck_assert_int_eq(emo_dataset_writer_add(w, &a.recs[i], &err), EMO_OK);
        ck_assert_int_eq(emo_dataset_writer_add(w, &b.recs[i], &err), EMO_OK);
    }
    ck_assert_int_eq(emo_dataset_writer_close(w, &err), EMO_OK);
    EmoDatasetReader *r;
    ck_assert_int_eq(emo_dataset_reader_open(&r, dir, NULL, &err), EMO_OK);
    ck_assert_int_eq(emo_dataset_reader_manifest(r)->width, 0);
    EmoRecord rec;
    for (size_t i = 0; i < 10; i++) {
        ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_OK);
        assert_same_record(&rec, &a.recs[i]);
        ck_assert_int_eq(emo_dataset_reader_next(r, &rec, &err), EMO_OK);
        assert_same_record(&rec, &b.recs[i]);
    }
    emo_dataset_reader_close(r);
    free_set(&a);
    free_set(&b);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

/*-*** Bad datasets ***/

/* Writes a small 3-shard dataset and returns its directory. */
static char *bad_fixture(char **tmp, TestSet *t)
{
    *tmp = ts_tempdir();
    char *dir = emo_path_join(*tmp, "ds");
    *t = make_set(200, 16, 16, 1, 99);
    write_set(dir, t, 20, 80, 1);
    return dir;
}

static EmoStatus open_status(const char *dir, EmoError *err)
{
    EmoDatasetReader *r;
    EmoStatus s = emo_dataset_reader_open(&r, dir, NULL, err);
    if (s == EMO_OK) emo_dataset_reader_close(r);
    return s;
}

/* Streams everything; returns the first non-OK status. */
static EmoStatus stream_status(const char *dir, int skip, int prefetch, uint64_t *skipped, size_t *nrec,
                               EmoError *err)
{
    EmoDatasetReader *r;
    EmoReaderOptions ro = {0, prefetch, skip};
    EmoStatus s = emo_dataset_reader_open(&r, dir, &ro, err);
    if (s != EMO_OK) return s;
    EmoRecord rec;
    size_t n = 0;
    while ((s = emo_dataset_reader_next(r, &rec, err)) == EMO_OK) n++;
    if (skipped) *skipped = emo_dataset_reader_skipped_blocks(r);
    if (nrec) *nrec = n;
    emo_dataset_reader_close(r);
    return s;
}

START_TEST(missing_manifest)
{
    char *tmp;
    TestSet t;
    char *dir = bad_fixture(&tmp, &t);
    char *mp = emo_path_join(dir, "manifest.json");
    ck_assert_int_eq(remove(mp), 0);
    EmoError err;
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest.json"));
    ts_write(mp, "{\"format_version\": 1, ", 22); /* truncated JSON */
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest.json"));
    ts_write(mp, "", 0);
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_FORMAT);
    free(mp);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Rewrites manifest.json through jansson with one change. */
static void edit_manifest(const char *dir, const char *key_path, json_t *value)
{
    char *mp = emo_path_join(dir, "manifest.json");
    json_error_t je;
    json_t *root = json_load_file(mp, 0, &je);
    ck_assert_ptr_nonnull(root);
    if (strncmp(key_path, "shards.1.", 9) == 0)
        json_object_set_new(json_array_get(json_object_get(root, "shards"), 1), key_path + 9, value);
    else
        json_object_set_new(root, key_path, value);
    ck_assert_int_eq(json_dump_file(root, mp, 0), 0);
    json_decref(root);
    free(mp);
}

START_TEST(manifest_disagrees_with_shards)
{
    char *tmp;
    TestSet t;
    char *dir = bad_fixture(&tmp, &t);
    EmoError err;
    /* Record count of one shard (and the totals, so the manifest is self-consistent:
     * 22 of the 200 generated records are unlabeled, now 23 of 201). */
    edit_manifest(dir, "shards.1.records", json_integer(81));
    edit_manifest(dir, "num_records", json_integer(201));
    edit_manifest(dir, "unlabeled", json_integer(23));
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_CORRUPT);
    ck_assert_msg(strstr(err.msg, "shard-00001.emo") && strstr(err.msg, "81"), "%s", err.msg);

    /* Inconsistent totals inside the manifest itself. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    edit_manifest(dir, "num_records", json_integer(5));
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest.json"));

    /* Wrong size. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    edit_manifest(dir, "shards.1.bytes", json_integer(12345));
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00001.emo"));
    ck_assert_ptr_nonnull(strstr(err.msg, "12345"));

    /* Missing shard. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    char *sp = emo_path_join(dir, "shard-00002.emo");
    ck_assert_int_eq(remove(sp), 0);
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00002.emo"));
    ck_assert_ptr_nonnull(strstr(err.msg, "missing"));

    /* A shard name escaping the directory is refused. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    edit_manifest(dir, "shards.1.name", json_string("../x.emo"));
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_FORMAT);

    /* Newer dataset format. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    edit_manifest(dir, "format_version", json_integer(EMO_DATASET_FORMAT_VERSION + 1));
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest.json"));

    /* Records of another size than the manifest says. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    json_t *img = json_pack("{s:i, s:i, s:i}", "width", 17, "height", 16, "channels", 1);
    edit_manifest(dir, "image", img);
    ck_assert_int_eq(stream_status(dir, 0, 0, NULL, NULL, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00000.emo: block 0"));
    free(sp);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

static void patch_byte(const char *path, long off, int xor_mask)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    ck_assert_int_ne(c, EOF);
    ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ xor_mask, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(flipped_byte_in_block)
{
    char *tmp;
    TestSet t;
    char *dir = bad_fixture(&tmp, &t);
    char *sp = emo_path_join(dir, "shard-00001.emo");
    /* Block 1 of shard 1 starts after the header and block 0; flip a byte
     * in its middle. Block offsets come from the shard's index trailer. */
    size_t n;
    uint8_t *data = (uint8_t *)ts_slurp(sp, &n);
    uint64_t ioff = 0;
    for (int i = 7; i >= 0; i--) ioff = (ioff << 8) | data[n - 24 + i];
    uint64_t b1 = 0;
    uint32_t c1 = 0;
    for (int i = 7; i >= 0; i--) b1 = (b1 << 8) | data[ioff + 24 + i];
    for (int i = 3; i >= 0; i--) c1 = (c1 << 8) | data[ioff + 24 + 8 + i];
    free(data);
    patch_byte(sp, (long)(b1 + c1 / 2), 0x10);
    EmoError err;
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        ck_assert_int_eq(stream_status(dir, 0, prefetch, NULL, NULL, &err), EMO_ERR_CORRUPT);
        ck_assert_msg(strstr(err.msg, "shard-00001.emo: block 1"), "%s", err.msg);
        uint64_t skipped = 0;
        size_t nrec = 0;
        ck_assert_int_eq(stream_status(dir, 1, prefetch, &skipped, &nrec, &err), EMO_ERR_EOF);
        ck_assert_uint_eq(skipped, 1);
        ck_assert_uint_eq(nrec, 180);
    }
    free(sp);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(truncated_zero_and_newer_shards)
{
    char *tmp;
    TestSet t;
    char *dir = bad_fixture(&tmp, &t);
    char *sp = emo_path_join(dir, "shard-00000.emo");
    size_t n;
    char *data = ts_slurp(sp, &n);
    EmoError err;

    /* Truncated (manifest updated to the new size, so the shard itself must tell). */
    ts_write(sp, data, n - 100);
    char *mp = emo_path_join(dir, "manifest.json");
    json_error_t je;
    json_t *root = json_load_file(mp, 0, &je);
    json_object_set_new(json_array_get(json_object_get(root, "shards"), 0), "bytes", json_integer((json_int_t)n - 100));
    json_dump_file(root, mp, 0);
    json_decref(root);
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00000.emo"));
    ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));

    /* Zero-length. */
    ts_write(sp, "", 0);
    root = json_load_file(mp, 0, &je);
    json_object_set_new(json_array_get(json_object_get(root, "shards"), 0), "bytes", json_integer(0));
    json_dump_file(root, mp, 0);
    json_decref(root);
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00000.emo"));

    /* A newer shard version. */
    ts_rmtree(dir);
    write_set(dir, &t, 20, 80, 1);
    patch_byte(sp, 8, 0x02); /* version 1 -> 3 */
    ck_assert_int_eq(open_status(dir, &err), EMO_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(err.msg, "shard-00000.emo"));
    free(mp);
    free(data);
    free(sp);
    free_set(&t);
    free(dir);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_in_order_and_manifest);
    tcase_add_test(tc, shuffle_and_prefetch_visit_everything);
    tcase_add_test(tc, early_close_with_prefetch);
    tcase_add_test(tc, threads_give_identical_bytes);
    tcase_add_test(tc, replace_is_atomic_and_abort_keeps_old);
    tcase_add_test(tc, mixed_sizes_manifest_says_zero);
    tcase_add_test(tc, missing_manifest);
    tcase_add_test(tc, manifest_disagrees_with_shards);
    tcase_add_test(tc, flipped_byte_in_block);
    tcase_add_test(tc, truncated_zero_and_newer_shards);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
