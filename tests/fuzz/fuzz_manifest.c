/* fuzz_manifest.c: a dataset's manifest.json (formats/emo_dataset.h,
 * emo_manifest_load) and, when it loads, the dataset reader that trusts it.
 *
 * At start the target writes a small real dataset (5 records in two shards,
 * three blocks) into a per-process scratch directory (in /dev/shm when there
 * is one); each input replaces its manifest.json. A manifest that loads is
 *  - saved and loaded again: the round trip must give the same manifest;
 *  - opened as a dataset and streamed to the end, without and with
 *    skip_corrupt: a manifest that disagrees with the shards must fail
 *    cleanly (named error), never crash or read out of bounds.
 * The seed corpus holds the manifest this fixture's writer produces, so the
 * fuzzer starts from one that matches the shards (FUZZ_MANIFEST_DUMP=FILE
 * writes it out). The scratch directory is removed at exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emo_dataset.h"
#include "emo_fs.h"

static char *fuzz_root;   /* scratch directory */
static char *fuzz_ds;     /* root/ds: the dataset, its manifest replaced per input */
static char *fuzz_copy;   /* root/copy: where the round trip saves */

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

static void fuzz_cleanup(void)
{
    if (fuzz_root) emo_remove_tree(fuzz_root, NULL);
    free(fuzz_root);
    free(fuzz_ds);
    free(fuzz_copy);
}

static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    fuzz_check(f != NULL);
    fuzz_check(size == 0 || fwrite(data, 1, size, f) == size);
    fuzz_check(fclose(f) == 0);
}

static void fuzz_init(void)
{
    if (fuzz_root) return;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base) base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/emo-fuzz-manifest-XXXXXX", base);
    fuzz_check(mkdtemp(buf) != NULL);
    fuzz_root = strdup(buf);
    fuzz_ds = emo_path_join(fuzz_root, "ds");
    fuzz_copy = emo_path_join(fuzz_root, "copy");
    atexit(fuzz_cleanup);
    fuzz_check(mkdir(fuzz_copy, 0755) == 0);

    /* 5 records of 4x3 gray: 3 + 2 per shard, 2 per block. */
    EmoDatasetWriterOptions opt = {2, 3, 1, 1, "{\"tool\":\"fuzz_manifest\"}"};
    EmoDatasetWriter *w;
    EmoError err;
    fuzz_check(emo_dataset_writer_open(&w, fuzz_ds, &opt, &err) == EMO_OK);
    for (int i = 0; i < 5; i++) {
        uint8_t px[12];
        for (int k = 0; k < 12; k++) px[k] = (uint8_t)(i * 40 + k * 7);
        char src[32];
        snprintf(src, sizeof src, "img/%d.png", i);
        EmoRecord rec = {0, 0, i == 4 ? EMO_LABEL_NONE : i, 4, 3, 1, EMO_ORIGIN_ORIGINAL, i, src, "", px};
        fuzz_check(emo_dataset_writer_add(w, &rec, &err) == EMO_OK);
    }
    fuzz_check(emo_dataset_writer_close(w, &err) == EMO_OK);
    const char *dump = getenv("FUZZ_MANIFEST_DUMP");
    if (dump && *dump) {
        char *src = emo_path_join(fuzz_ds, EMO_MANIFEST_NAME);
        uint8_t *data;
        size_t size;
        fuzz_check(emo_read_file(src, 0, &data, &size, &err) == EMO_OK);
        fuzz_write(dump, data, size);
        free(data);
        free(src);
    }
}

static void fuzz_same_manifest(const EmoManifest *a, const EmoManifest *b)
{
    fuzz_check(a->format_version == b->format_version && a->num_shards == b->num_shards);
    for (int i = 0; i < a->num_shards; i++) {
        fuzz_check(strcmp(a->shards[i].name, b->shards[i].name) == 0);
        fuzz_check(a->shards[i].records == b->shards[i].records && a->shards[i].bytes == b->shards[i].bytes);
        fuzz_check(a->shards[i].xxh64 == b->shards[i].xxh64);
    }
    fuzz_check(a->num_records == b->num_records && a->unlabeled == b->unlabeled && a->augmented == b->augmented);
    fuzz_check(a->raw_pixel_bytes == b->raw_pixel_bytes);
    fuzz_check(a->width == b->width && a->height == b->height && a->channels == b->channels);
    for (int i = 0; i < EMO_NUM_CLASSES; i++) {
        fuzz_check(strcmp(a->class_names[i], b->class_names[i]) == 0);
        fuzz_check(a->class_counts[i] == b->class_counts[i]);
    }
    fuzz_check((a->produced_by == NULL) == (b->produced_by == NULL));
    if (a->produced_by) fuzz_check(strcmp(a->produced_by, b->produced_by) == 0);
}

static void fuzz_stream(int skip_corrupt)
{
    EmoReaderOptions ro = {0, 0, skip_corrupt};
    EmoDatasetReader *r;
    EmoError err;
    if (emo_dataset_reader_open(&r, fuzz_ds, &ro, &err) != EMO_OK) {
        fuzz_check(strstr(err.msg, fuzz_ds) != NULL);
        return;
    }
    const EmoManifest *m = emo_dataset_reader_manifest(r);
    EmoRecord rec;
    uint64_t n = 0;
    EmoStatus s;
    while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
        fuzz_check(rec.width > 0 && rec.height > 0 && rec.pixels != NULL);
        if (m->width) fuzz_check(rec.width == m->width && rec.height == m->height && rec.channels == m->channels);
        n++;
    }
    if (s == EMO_ERR_EOF && !skip_corrupt) fuzz_check(n == m->num_records);
    if (s != EMO_ERR_EOF) fuzz_check(strstr(err.msg, fuzz_ds) != NULL); /* errors name the file */
    /* Sticky: the stream does not resume after the end or an error. */
    fuzz_check(emo_dataset_reader_next(r, &rec, &err) == s);
    emo_dataset_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *path = emo_path_join(fuzz_ds, EMO_MANIFEST_NAME);
    fuzz_write(path, data, size);
    free(path);
    EmoManifest m;
    EmoError err;
    EmoStatus s = emo_manifest_load(fuzz_ds, &m, &err);
    if (s != EMO_OK) {
        fuzz_check(s == EMO_ERR_FORMAT || s == EMO_ERR_VERSION || s == EMO_ERR_NOMEM);
        fuzz_check(strstr(err.msg, "manifest.json") != NULL);
        return 0;
    }
    EmoManifest back;
    if (emo_manifest_save(fuzz_copy, &m, &err) == EMO_OK) {
        fuzz_check(emo_manifest_load(fuzz_copy, &back, &err) == EMO_OK);
        fuzz_same_manifest(&m, &back);
        emo_manifest_free(&back);
    }
    emo_manifest_free(&m);
    fuzz_stream(0);
    fuzz_stream(1);
    return 0;
}
