/* test_emoingest.c: the emoingest program end to end: usage, a hostile
 * input tree, the FER2013 CSV sample and image release, JAFFE detection,
 * thread-count independence, split stability, near duplicates, label maps,
 * and HTTP sources against a local server (tests/http/server.py) that the
 * test starts on 127.0.0.1 and stops. Expected counts come from the data's
 * documentation or from hashing the inputs here, never from emoingest. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "emo_record.h"
#include "test_support.h"

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* Runs emoingest with `args` (a shell fragment); output to dir/log. */
static int ingest(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ingest(const char *log, const char *fmt, ...)
{
    char args[12000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *bin = ts_bin("emoingest");
    int rc = ts_run(log, "timeout 300 '%s' %s", bin, args);
    free(bin);
    return rc;
}

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", path, je.text);
    return j;
}

static json_int_t jget(json_t *root, const char *a, const char *b, const char *c)
{
    json_t *x = json_object_get(root, a);
    if (b) x = json_object_get(x, b);
    if (c) x = json_object_get(x, c);
    ck_assert_msg(json_is_integer(x), "no integer at %s.%s.%s", a, b ? b : "", c ? c : "");
    return json_integer_value(x);
}

/* The reason the report gives for a rejected source ending in `suffix`. */
static const char *reason_of(json_t *rep, const char *suffix)
{
    json_t *arr = json_object_get(rep, "rejected");
    size_t i;
    json_t *e;
    size_t sl = strlen(suffix);
    json_array_foreach(arr, i, e) {
        const char *src = json_string_value(json_object_get(e, "source"));
        size_t n = src ? strlen(src) : 0;
        if (n >= sl && strcmp(src + n - sl, suffix) == 0) return json_string_value(json_object_get(e, "reason"));
    }
    return NULL;
}

static int count_reason(json_t *rep, const char *reason)
{
    json_t *arr = json_object_get(rep, "rejected");
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(arr, i, e) n += strcmp(json_string_value(json_object_get(e, "reason")), reason) == 0;
    return n;
}

static uint64_t manifest_records(const char *dir, uint64_t *classes)
{
    EmoManifest m;
    EmoError err;
    if (emo_manifest_load(dir, &m, &err) != EMO_OK) return 0;
    uint64_t n = m.num_records;
    if (classes) memcpy(classes, m.class_counts, sizeof m.class_counts);
    emo_manifest_free(&m);
    return n;
}

static void write_png(const char *path, int w, int h, uint64_t seed, int smooth)
{
    EmoImage img;
    ck_assert_int_eq(emo_image_alloc(&img, w, h, 1, NULL), EMO_OK);
    uint64_t st = seed;
    int a = (int)(ts_rand(&st) % 7) + 2, b = (int)(ts_rand(&st) % 5) + 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img.pixels[y * w + x] = smooth ? (uint8_t)((x * a + y * b + (int)(ts_rand(&st) % 3)) & 255)
                                           : (uint8_t)ts_rand(&st);
    ck_assert_int_eq(emo_image_save_png(&img, path, NULL), EMO_OK);
    emo_image_free(&img);
}

static void mkdirs(const char *p)
{
    ck_assert_int_eq(emo_mkdir_p(p, NULL), EMO_OK);
}

/*-*** Usage ***/

START_TEST(usage_help_version_and_exit_codes)
{
    char *dir = ts_tempdir();
    char *log = pathf("%s/log", dir);
    ck_assert_int_eq(ingest(log, "--help"), 0);
    char *text = ts_slurp(log, NULL);
    const char *must[] = {"--urls", "--crawl", "--depth", "--label", "--labels", "--cache", "--max-bytes", "--timeout",
                          "--retries", "--rate", "--detect", "--cascade", "--eye-cascade", "--scale-factor",
                          "--min-neighbors", "--min-size", "--max-size", "--largest", "--all-faces", "--margin",
                          "--size", "--dedup", "--near-threshold", "--split", "--seed", "--boxes", "--threads",
                          "--quiet", "--version", "Exit status"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(strstr(text, must[i]), "--help does not mention %s", must[i]);
    free(text);
    ck_assert_int_eq(ingest(log, "--version"), 0);
    text = ts_slurp(log, NULL);
    ck_assert_ptr_nonnull(strstr(text, EMO_VERSION));
    free(text);
    ck_assert_int_eq(ingest(log, " "), 2);                                   /* nothing */
    ck_assert_int_eq(ingest(log, "'%s'", dir), 2);                           /* no -o */
    ck_assert_int_eq(ingest(log, "--bogus '%s' -o '%s/o'", dir, dir), 2);
    ck_assert_int_eq(ingest(log, "--detect maybe '%s' -o '%s/o'", dir, dir), 2);
    ck_assert_int_eq(ingest(log, "--split 0.5,0.5 '%s' -o '%s/o'", dir, dir), 2);
    ck_assert_int_eq(ingest(log, "'%s/missing' -o '%s/o'", dir, dir), 1);    /* fatal: missing input */
    text = ts_slurp(log, NULL);
    ck_assert_ptr_nonnull(strstr(text, "missing"));
    free(text);
    /* only a text file: the run completes but nothing is usable */
    char *junk = pathf("%s/in/readme.jpg", dir);
    char *indir = pathf("%s/in", dir);
    mkdirs(indir);
    free(indir);
    ts_write(junk, "not an image", 12);
    ck_assert_int_eq(ingest(log, "--quiet '%s/in' -o '%s/o'", dir, dir), 1);
    char *rep = pathf("%s/o/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_str_eq(reason_of(r, "readme.jpg"), "not an image");
    json_decref(r);
    free(rep);
    free(junk);
    free(log);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** Bad input ***/

START_TEST(bad_input_tree_rejected_with_reasons)
{
    char *dir = ts_tempdir();
    char *in = pathf("%s/in", dir);
    char *p = pathf("%s/happy", in);
    mkdirs(p);
    free(p);
    for (int i = 0; i < 5; i++) {
        p = pathf("%s/happy/good%d.png", in, i);
        write_png(p, 48, 48, 100 + (uint64_t)i, 0);
        free(p);
    }
    /* truncated JPEG: a real JPEG cut in half */
    EmoImage img;
    emo_image_alloc(&img, 64, 64, 1, NULL);
    for (int i = 0; i < 64 * 64; i++) img.pixels[i] = (uint8_t)(i * 7);
    uint8_t *jpg;
    size_t nj;
    ck_assert_int_eq(emo_image_encode_jpeg(&img, 90, &jpg, &nj, NULL), EMO_OK);
    p = pathf("%s/happy/truncated.jpg", in);
    ts_write(p, jpg, nj / 2);
    free(p);
    free(jpg);
    emo_image_free(&img);
    p = pathf("%s/happy/zero.png", in);
    ts_write(p, "", 0);
    free(p);
    p = pathf("%s/happy/text.jpg", in);
    ts_write(p, "this is not a JPEG\n", 19);
    free(p);
    p = pathf("%s/happy/loop", in);
    ck_assert_int_eq(symlink("..", p), 0);
    free(p);
    p = pathf("%s/happy/dangling.png", in);
    ck_assert_int_eq(symlink("gone.png", p), 0);
    free(p);
    p = pathf("%s/happy/fifo.png", in);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    free(p);
    /* too small, and a photo-sized image with no face in it */
    p = pathf("%s/happy/tiny.png", in);
    write_png(p, 10, 10, 7, 0);
    free(p);
    p = pathf("%s/happy/noface.png", in);
    write_png(p, 200, 160, 8, 1);
    free(p);
    struct stat cst;
    int have_cascade = stat("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", &cst) == 0;
    int root = geteuid() == 0;
    p = pathf("%s/happy/secret.png", in);
    write_png(p, 48, 48, 999, 0);
    if (!root) chmod(p, 0); /* as root chmod 000 stays readable: sub-check skipped */
    free(p);
    /* CSV: 2 good rows, a short row, non-numeric pixels */
    char *csv = pathf("%s/rows.csv", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "emotion,pixels,Usage\n");
    uint64_t st = 5;
    for (int r = 0; r < 2; r++) {
        fprintf(f, "%d,", r);
        for (int i = 0; i < 2304; i++) fprintf(f, i ? " %d" : "%d", (int)(ts_rand(&st) % 256));
        fprintf(f, ",Training\n");
    }
    fprintf(f, "3,1 2 3\n");
    fprintf(f, "3,1 2 three 4,Training\n");
    fclose(f);

    char *log = pathf("%s/log", dir);
    int rc = ingest(log, "'%s' '%s' -o '%s/out' --split train", in, csv, dir);
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "emoingest failed: %s", text);
    free(text);
    p = pathf("%s/out/train", dir);
    uint64_t classes[EMO_NUM_CLASSES];
    ck_assert_uint_eq(manifest_records(p, classes), 5 + 2 + (root ? 1 : 0));
    ck_assert_uint_eq(classes[3], 5 + (root ? 1 : 0));
    free(p);
    char *rep = pathf("%s/out/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_str_eq(reason_of(r, "happy/truncated.jpg"), "corrupt image");
    ck_assert_str_eq(reason_of(r, "happy/zero.png"), "empty file");
    ck_assert_str_eq(reason_of(r, "happy/text.jpg"), "not an image");
    ck_assert_str_eq(reason_of(r, "happy/loop"), "symlink loop");
    ck_assert_str_eq(reason_of(r, "happy/dangling.png"), "unreadable");
    ck_assert_str_eq(reason_of(r, "happy/fifo.png"), "not a regular file");
    if (!root) ck_assert_str_eq(reason_of(r, "happy/secret.png"), "unreadable");
    ck_assert_str_eq(reason_of(r, "happy/tiny.png"), "too small");
    ck_assert_str_eq(reason_of(r, "happy/noface.png"), have_cascade ? "no face" : "error");
    ck_assert_int_eq(count_reason(r, "bad CSV row"), 2);
    ck_assert_int_eq(jget(r, "totals", "records", NULL), 5 + 2 + (root ? 1 : 0));
    /* the rows are named by line number */
    json_t *arr = json_object_get(r, "rejected");
    size_t i;
    json_t *e;
    int rows = 0;
    json_array_foreach(arr, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "reason")), "bad CSV row") != 0) continue;
        json_int_t row = json_integer_value(json_object_get(e, "row"));
        ck_assert(row == 4 || row == 5);
        rows += (int)row;
    }
    ck_assert_int_eq(rows, 9);
    json_decref(r);
    free(rep);
    free(log);
    free(csv);
    free(in);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** FER2013 CSV sample ***/

START_TEST(fer2013_csv_sample_counts)
{
    const char *sd = ts_shared_data();
    if (!sd) {
        fprintf(stderr, "test_emoingest: NOTE: no shared data, CSV sample test skipped\n");
        return;
    }
    char *csv = pathf("%s/fer2013-sample.csv", sd);
    /* Independent duplicate count: identical pixel strings among the rows. */
    FILE *f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    char *line = NULL;
    size_t cap = 0;
    uint64_t hs[1000];
    int n = 0, dups = 0;
    ck_assert(getline(&line, &cap, f) > 0); /* header */
    while (getline(&line, &cap, f) > 0 && n < 1000) {
        char *a = strchr(line, ','), *b = a ? strchr(a + 1, ',') : NULL;
        ck_assert(a && b);
        uint64_t h = XXH64(a + 1, (size_t)(b - a - 1), 0);
        int seen = 0;
        for (int k = 0; k < n; k++) seen |= hs[k] == h;
        dups += seen;
        hs[n++] = h;
    }
    free(line);
    fclose(f);
    ck_assert_int_eq(n, 420);

    char *dir = ts_tempdir();
    char *log = pathf("%s/log", dir);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/off' --dedup off", csv, dir), 0);
    uint64_t tr[EMO_NUM_CLASSES], va[EMO_NUM_CLASSES];
    char *p = pathf("%s/off/train", dir), *q = pathf("%s/off/val", dir);
    ck_assert_uint_eq(manifest_records(p, tr), 350);
    ck_assert_uint_eq(manifest_records(q, va), 70);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) ck_assert_uint_eq(tr[c] + va[c], 60);
    free(p);
    free(q);
    p = pathf("%s/off/test", dir);
    struct stat st;
    ck_assert_int_ne(stat(p, &st), 0); /* empty splits are not written */
    free(p);

    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/on'", csv, dir), 0);
    p = pathf("%s/on/train", dir);
    q = pathf("%s/on/val", dir);
    ck_assert_uint_eq(manifest_records(p, NULL) + manifest_records(q, NULL), (uint64_t)(420 - dups));
    free(p);
    free(q);
    char *rep = pathf("%s/on/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_int_eq(jget(r, "duplicates", "exact", NULL), dups);
    ck_assert_int_eq(count_reason(r, "duplicate"), dups);
    json_decref(r);
    free(rep);
    free(log);
    free(csv);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** FER2013 image release ***/

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* XXH64 of every file under dir (a find | while read), sorted. */
static uint64_t *hash_files(const char *dir, size_t *n)
{
    char *list = pathf("%s.list", dir);
    ck_assert_int_eq(ts_run(NULL, "find '%s' -type f > '%s'", dir, list), 0);
    FILE *f = fopen(list, "r");
    size_t cap = 1024, k = 0;
    uint64_t *h = malloc(cap * sizeof *h);
    char path[4096];
    while (fgets(path, sizeof path, f)) {
        path[strcspn(path, "\n")] = 0;
        size_t len;
        char *data = ts_slurp(path, &len);
        if (k == cap) h = realloc(h, (cap *= 2) * sizeof *h);
        h[k++] = XXH64(data, len, 0);
        free(data);
    }
    fclose(f);
    unlink(list);
    free(list);
    qsort(h, k, sizeof *h, cmp_u64);
    *n = k;
    return h;
}

static int contains(const uint64_t *v, size_t n, uint64_t x)
{
    return bsearch(&x, v, n, sizeof x, cmp_u64) != NULL;
}

START_TEST(fer2013_release_counts)
{
    const char *sd = ts_shared_data();
    char *tarball = sd ? pathf("%s/fer2013-trainval.tar.zst", sd) : NULL;
    struct stat st;
    if (!tarball || stat(tarball, &st) != 0) {
        fprintf(stderr, "test_emoingest: NOTE: no FER2013 release in shared data, test skipped\n");
        free(tarball);
        return;
    }
    char *dir = ts_tempdir();
    /* An unpacked copy from make bench ($EMO_BENCH_DATA/fer2013) saves the
     * unpacking; otherwise unpack into the temp directory. */
    const char *bench = getenv("EMO_BENCH_DATA");
    char *fer = bench && *bench ? pathf("%s/fer2013", bench) : NULL;
    char *probe = fer ? pathf("%s/val/happy", fer) : NULL;
    if (!probe || stat(probe, &st) != 0) {
        free(fer);
        fer = pathf("%s/fer2013", dir);
        mkdirs(fer);
        ck_assert_int_eq(ts_run(NULL, "tar --zstd -xf '%s' -C '%s'", tarball, fer), 0);
    }
    free(probe);
    char *log = pathf("%s/log", dir);

    /* --dedup off: the official counts (shared/data/README.md), and the
     * duplicates still reported. */
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/off' --dedup off --threads 2", fer, dir), 0);
    static const uint64_t official[EMO_NUM_CLASSES] = {3995, 436, 4097, 7215, 4965, 4830, 3171};
    uint64_t tr[EMO_NUM_CLASSES];
    char *p = pathf("%s/off/train", dir);
    ck_assert_uint_eq(manifest_records(p, tr), 28709);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) ck_assert_uint_eq(tr[c], official[c]);
    free(p);
    p = pathf("%s/off/val", dir);
    ck_assert_uint_eq(manifest_records(p, NULL), 3589);
    free(p);

    /* The duplicates, from the files' own hashes (for these JPEGs equal
     * bytes <=> equal pixels): train is walked before val, so every val file
     * whose bytes occur in train is a cross-split duplicate. */
    char *tdir = pathf("%s/train", fer), *vdir = pathf("%s/val", fer);
    size_t nt, nv;
    uint64_t *ht = hash_files(tdir, &nt), *hv = hash_files(vdir, &nv);
    ck_assert_uint_eq(nt + nv, 28709 + 3589);
    size_t uniq = 0, cross = 0;
    for (size_t i = 0; i < nt; i++) uniq += i == 0 || ht[i] != ht[i - 1];
    for (size_t i = 0; i < nv; i++) {
        if (contains(ht, nt, hv[i])) cross++;
        else uniq += i == 0 || hv[i] != hv[i - 1];
    }
    char *rep = pathf("%s/off/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_int_eq(jget(r, "duplicates", "exact", NULL), (json_int_t)(nt + nv - uniq));
    ck_assert_int_eq(jget(r, "duplicates", "cross_split", NULL), (json_int_t)cross);
    ck_assert_int_eq(jget(r, "duplicates", "dropped", NULL), 0);
    ck_assert_int_gt((json_int_t)cross, 0); /* FER2013's known train/val leakage */
    json_decref(r);
    free(rep);
    free(ht);
    free(hv);
    free(tdir);
    free(vdir);
    free(log);
    free(fer);
    free(tarball);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** JAFFE: detection and alignment ***/

START_TEST(jaffe_faces_detected_and_aligned)
{
    const char *sd = ts_shared_data();
    char *jaffe = sd ? pathf("%s/jaffe-dev", sd) : NULL;
    struct stat st;
    if (!jaffe || stat(jaffe, &st) != 0 ||
        stat("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", &st) != 0) {
        fprintf(stderr, "test_emoingest: NOTE: no jaffe-dev or cascades, detection test skipped\n");
        free(jaffe);
        return;
    }
    /* Two classes (43 photos) keep the suite fast; every JAFFE photo holds one
     * frontal face (shared/notes/opencv-cascades.md). */
    char *dir = ts_tempdir();
    char *in = pathf("%s/in", dir);
    mkdirs(in);
    ck_assert_int_eq(ts_run(NULL, "cp -r '%s/happy' '%s/sad' '%s/'", jaffe, jaffe, in), 0);
    size_t nfiles = 0;
    {
        char *cnt = pathf("%s/count", dir);
        ts_run(NULL, "ls '%s/happy' '%s/sad' | grep -c png > '%s'", in, in, cnt);
        char *t = ts_slurp(cnt, NULL);
        nfiles = (size_t)atoi(t);
        free(t);
        free(cnt);
    }
    ck_assert_uint_gt(nfiles, 30);
    char *log = pathf("%s/log", dir);
    int rc = ingest(log, "--quiet '%s' -o '%s/out' --boxes '%s/boxes.tsv' --split train", in, dir, dir);
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "%s", text);
    free(text);
    char *p = pathf("%s/out/train", dir);
    uint64_t cls[EMO_NUM_CLASSES];
    ck_assert_uint_eq(manifest_records(p, cls), nfiles);
    ck_assert_uint_eq(cls[3] + cls[5], nfiles);
    free(p);
    char *rep = pathf("%s/out/ingest-report.json", dir);
    json_t *r = load_json(rep);
    json_int_t aligned = jget(r, "face_paths", "aligned_on_eyes", NULL);
    ck_assert_int_ge(aligned * 100, (json_int_t)nfiles * 90); /* eyes found in >= 90% (137/149 measured) */
    ck_assert_int_eq(jget(r, "face_paths", "pass_through", NULL), 0);
    json_decref(r);
    free(rep);
    /* one TSV line per face, boxes inside the 256x256 photos */
    p = pathf("%s/boxes.tsv", dir);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char src[4096];
        int x, y, w, h;
        ck_assert_int_eq(sscanf(line, "%4095[^\t]\t%d\t%d\t%d\t%d", src, &x, &y, &w, &h), 5);
        ck_assert(x >= 0 && y >= 0 && w >= 30 && x + w <= 256 && y + h <= 256);
        n++;
    }
    fclose(f);
    ck_assert_uint_eq(n, nfiles);
    free(p);
    free(log);
    free(in);
    free(jaffe);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** Determinism, stability, near duplicates, label maps ***/

static void make_mixed_tree(const char *in, int n, int first)
{
    for (int i = first; i < first + n; i++) {
        const char *cls[] = {"angry", "happy", "Sadness", "neutral"};
        char *d = pathf("%s/%s", in, cls[i % 4]);
        mkdirs(d);
        char *p = pathf("%s/img%04d.png", d, i);
        /* mostly 48x48, some 64x60 and 90x90: pass-through with resizing */
        int w = i % 5 == 0 ? 64 : i % 7 == 0 ? 90 : 48, h = i % 5 == 0 ? 60 : w;
        write_png(p, w, h, 1000 + (uint64_t)i, i % 2);
        free(p);
        free(d);
    }
}

static int same_files(const char *a, const char *b)
{
    return ts_run(NULL, "diff -r '%s' '%s' >/dev/null", a, b) == 0;
}

START_TEST(output_identical_for_any_thread_count)
{
    char *dir = ts_tempdir();
    char *in = pathf("%s/in", dir);
    make_mixed_tree(in, 300, 0);
    char *log = pathf("%s/log", dir);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/t1' --threads 1 --dedup near --shard-records 64", in, dir), 0);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/t2' --threads 2 --dedup near --shard-records 64", in, dir), 0);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/t3' --threads 3 --dedup near --shard-records 64", in, dir), 0);
    char *a = pathf("%s/t1", dir), *b = pathf("%s/t2", dir), *c = pathf("%s/t3", dir);
    ck_assert_msg(same_files(a, b), "threads 1 vs 2 differ");
    ck_assert_msg(same_files(a, c), "threads 1 vs 3 differ");
    free(a), free(b), free(c);
    free(log);
    free(in);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* id -> split of every record under out/{train,val,test}. */
typedef struct {
    uint64_t id;
    int split;
} IdSplit;

static IdSplit *read_splits(const char *out, size_t *n)
{
    static const char *const names[] = {"train", "val", "test"};
    IdSplit *v = NULL;
    size_t k = 0;
    for (int s = 0; s < 3; s++) {
        char *d = pathf("%s/%s", out, names[s]);
        EmoDatasetReader *r;
        if (emo_dataset_reader_open(&r, d, NULL, NULL) == EMO_OK) {
            EmoRecord rec;
            while (emo_dataset_reader_next(r, &rec, NULL) == EMO_OK) {
                v = realloc(v, (k + 1) * sizeof *v);
                v[k].id = rec.id;
                v[k].split = s;
                k++;
            }
            emo_dataset_reader_close(r);
        }
        free(d);
    }
    *n = k;
    return v;
}

START_TEST(hash_split_stable_when_images_are_added)
{
    char *dir = ts_tempdir();
    char *in = pathf("%s/in", dir);
    char *flat = pathf("%s/flat", in);
    mkdirs(flat);
    for (int i = 0; i < 150; i++) {
        char *p = pathf("%s/a%03d.png", flat, i);
        write_png(p, 48, 48, 77 + (uint64_t)i, 0);
        free(p);
    }
    char *log = pathf("%s/log", dir);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/o1' --seed 9", flat, dir), 0);
    for (int i = 150; i < 220; i++) {
        char *p = pathf("%s/a%03d.png", flat, i);
        write_png(p, 48, 48, 77 + (uint64_t)i, 0);
        free(p);
    }
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/o2' --seed 9", flat, dir), 0);
    char *o1 = pathf("%s/o1", dir), *o2 = pathf("%s/o2", dir);
    size_t n1, n2;
    IdSplit *a = read_splits(o1, &n1), *b = read_splits(o2, &n2);
    ck_assert_uint_eq(n1, 150);
    ck_assert_uint_eq(n2, 220);
    int per[3] = {0};
    for (size_t i = 0; i < n1; i++) {
        int found = 0;
        for (size_t j = 0; j < n2; j++)
            if (b[j].id == a[i].id) {
                ck_assert_int_eq(b[j].split, a[i].split);
                found = 1;
            }
        ck_assert(found);
        per[a[i].split]++;
    }
    ck_assert(per[0] > per[1] && per[0] > per[2] && per[1] > 0 && per[2] > 0); /* 0.8/0.1/0.1 */
    /* a fixed split overrides everything; a later run without that split
     * removes the stale directory */
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/o1' --split test", flat, dir), 0);
    char *tr = pathf("%s/train", o1), *te = pathf("%s/test", o1);
    struct stat st;
    ck_assert_int_ne(stat(tr, &st), 0);
    ck_assert_uint_eq(manifest_records(te, NULL), 220);
    free(tr), free(te);
    free(a), free(b), free(o1), free(o2);
    free(log);
    free(flat);
    free(in);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(near_duplicates_and_label_map)
{
    char *dir = ts_tempdir();
    char *in = pathf("%s/in", dir);
    char *glad = pathf("%s/Glad", in), *con = pathf("%s/contempt", in);
    mkdirs(glad);
    mkdirs(con);
    /* A smooth face-like image, and the same image re-encoded as JPEG (q 92):
     * different pixels, same picture. */
    char *a = pathf("%s/a.png", glad), *b = pathf("%s/b.jpg", glad), *c = pathf("%s/c.png", glad);
    EmoImage img;
    emo_image_alloc(&img, 48, 48, 1, NULL);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            img.pixels[y * 48 + x] = (uint8_t)(120 + 60 * ((x - 24) * (x - 24) + (y - 20) * (y - 20) < 200) - y);
    emo_image_save_png(&img, a, NULL);
    emo_image_save_jpeg(&img, b, 92, NULL);
    emo_image_free(&img);
    write_png(c, 48, 48, 4242, 0);
    char *d = pathf("%s/d.png", con);
    write_png(d, 48, 48, 4343, 0);
    char *map = pathf("%s/labels.txt", dir);
    ts_write(map, "glad happy\ncontempt skip\n", 25);
    char *log = pathf("%s/log", dir);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/ex' --labels '%s' --split train", in, dir, map), 0);
    char *p = pathf("%s/ex/train", dir);
    uint64_t cls[EMO_NUM_CLASSES];
    ck_assert_uint_eq(manifest_records(p, cls), 3); /* a, b, c: the re-encode is not an exact copy */
    ck_assert_uint_eq(cls[3], 3);
    free(p);
    char *rep = pathf("%s/ex/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_str_eq(reason_of(r, "/contempt"), "excluded label");
    json_decref(r);
    free(rep);
    ck_assert_int_eq(ingest(log, "--quiet '%s' -o '%s/near' --labels '%s' --split train --dedup near", in, dir, map), 0);
    p = pathf("%s/near/train", dir);
    ck_assert_uint_eq(manifest_records(p, NULL), 2);
    free(p);
    rep = pathf("%s/near/ingest-report.json", dir);
    r = load_json(rep);
    ck_assert_str_eq(reason_of(r, "Glad/b.jpg"), "near duplicate");
    ck_assert_int_eq(jget(r, "duplicates", "near", NULL), 1);
    json_decref(r);
    free(rep);
    free(a), free(b), free(c), free(d), free(map), free(log), free(glad), free(con), free(in);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** HTTP ***/

static const char *server_script(void)
{
    struct stat st;
    return stat("tests/http/server.py", &st) == 0 ? "tests/http/server.py" : NULL;
}

/* Starts tests/http/server.py serving root; returns its pid, sets *port. */
static pid_t start_server(const char *root, const char *dir, int *port)
{
    char *pf = pathf("%s/port", dir);
    char *logp = pathf("%s/server.log", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *lf = freopen(logp, "w", stdout);
        (void)lf;
        dup2(1, 2);
        execlp("python3", "python3", server_script(), "--root", root, "--port-file", pf, "--lifetime", "120",
               (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 100 && !*port; i++) {
        usleep(100000);
        char *t = ts_slurp(pf, NULL);
        if (t) *port = atoi(t);
        free(t);
    }
    free(pf);
    free(logp);
    if (!*port) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("tests/http/server.py did not start");
    }
    return pid;
}

static void stop_server(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Requests the server saw for `path` (from its /stats). */
static int server_count(int port, const char *dir, const char *path)
{
    char *out = pathf("%s/stats.json", dir);
    ck_assert_int_eq(ts_run(NULL, "curl -s -m 5 -o '%s' http://127.0.0.1:%d/stats", out, port), 0);
    json_t *j = load_json(out);
    json_t *v = json_object_get(j, path);
    int n = v ? (int)json_integer_value(v) : 0;
    json_decref(j);
    free(out);
    return n;
}

START_TEST(http_url_list_and_crawl)
{
    if (!server_script() || ts_run(NULL, "python3 -c pass && curl --version >/dev/null") != 0) {
        fprintf(stderr, "test_emoingest: NOTE: python3 or curl missing, HTTP test skipped\n");
        return;
    }
    char *dir = ts_tempdir();
    char *site = pathf("%s/site", dir);
    char *p = pathf("%s/img", site);
    mkdirs(p);
    free(p);
    p = pathf("%s/private", site);
    mkdirs(p);
    free(p);
    const char *imgs[] = {"img/a.png", "img/b.png", "img/c.png", "private/s.png"};
    for (int i = 0; i < 4; i++) {
        p = pathf("%s/%s", site, imgs[i]);
        write_png(p, 48, 48, 500 + (uint64_t)i, 0);
        free(p);
    }
    p = pathf("%s/img/c.png", site);
    char *q = pathf("%s/img/broken.png", site);
    size_t n;
    char *data = ts_slurp(p, &n);
    ts_write(q, data, n / 2);
    free(data);
    free(p);
    free(q);
    int port;
    pid_t srv = start_server(site, dir, &port);
    p = pathf("%s/index.html", site);
    char html[2048];
    int len = snprintf(html, sizeof html,
                       "<html><body><img src='img/a.png'><img src='/private/s.png'><img src='img/broken.png'>"
                       "<img src='/html-image.jpg'><img src='http://localhost:%d/img/b.png'>"
                       "<a href='page2.html'>next</a><a href='/nothing.html'>gone</a><p><b>unclosed</body>", port);
    ts_write(p, html, (size_t)len);
    free(p);
    p = pathf("%s/page2.html", site);
    len = snprintf(html, sizeof html, "<html><body><img srcset='img/b.png 1x'><a href='page3.html'>deeper</a>");
    ts_write(p, html, (size_t)len);
    free(p);
    p = pathf("%s/page3.html", site);
    ts_write(p, "<img src='img/c.png'>", 21); /* depth 2: must not be reached */
    free(p);
    char *urls = pathf("%s/urls.txt", dir);
    FILE *f = fopen(urls, "w");
    fprintf(f, "# a comment\nhttp://127.0.0.1:%d/img/c.png\tsurprised\n", port);
    fprintf(f, "http://127.0.0.1:%d/missing.png\tsad\n", port);
    fprintf(f, "http://127.0.0.1:%d/html-image.jpg\n", port);
    fprintf(f, "http://127.0.0.1:%d/huge\n", port);
    fprintf(f, "http://127.0.0.1:%d/huge-chunked\n", port);
    fprintf(f, "http://127.0.0.1:%d/slow\n", port);
    fprintf(f, "gopher://nowhere/x\n");
    fprintf(f, "http://127.0.0.1:%d/img/a.png\tgrumpy\n", port);
    fprintf(f, "http://127.0.0.1:%d/flaky.png\tsad\n", port);
    fprintf(f, "http://127.0.0.1:%d/redirect-loop\n", port);
    fclose(f);
    char *log = pathf("%s/log", dir);
    const char *common = "--max-bytes 1M --timeout 1 --retries 1 --backoff 0.05 --rate 0 --split train --quiet";
    int rc = ingest(log, "--urls '%s' --crawl http://127.0.0.1:%d/index.html --depth 1 --label happy "
                         "-o '%s/out' --cache '%s/cache' %s", urls, port, dir, dir, common);
    char *text = ts_slurp(log, NULL);
    if (rc != 0) stop_server(srv);
    ck_assert_msg(rc == 0, "%s", text);
    free(text);
    char *rep = pathf("%s/out/ingest-report.json", dir);
    json_t *r = load_json(rep);
    ck_assert_str_eq(reason_of(r, "/missing.png"), "HTTP error");
    ck_assert_str_eq(reason_of(r, "/html-image.jpg"), "not an image");
    ck_assert_str_eq(reason_of(r, "/huge"), "too large");
    ck_assert_str_eq(reason_of(r, "/huge-chunked"), "too large");
    ck_assert_str_eq(reason_of(r, "/slow"), "timeout");
    ck_assert_str_eq(reason_of(r, "/redirect-loop"), "HTTP error");
    ck_assert_str_eq(reason_of(r, "/private/s.png"), "robots.txt");
    ck_assert_str_eq(reason_of(r, "/img/broken.png"), "corrupt image");
    ck_assert_str_eq(reason_of(r, "/img/b.png"), "other host"); /* the localhost link; 127.0.0.1's b.png is kept */
    ck_assert_str_eq(reason_of(r, "/nothing.html"), "HTTP error");
    ck_assert_int_eq(count_reason(r, "bad URL line"), 1);
    ck_assert_int_eq(count_reason(r, "unknown label"), 1);
    /* flaky.png serves a.png's bytes once retried, so the crawl's a.png is
     * a duplicate of it */
    ck_assert_str_eq(reason_of(r, "/img/a.png"), "duplicate");
    /* kept: c.png (surprise), flaky.png (sad), the crawl's b.png via srcset
     * on page2 (happy); page3's c.png is beyond depth 1 */
    p = pathf("%s/out/train", dir);
    uint64_t cls[EMO_NUM_CLASSES];
    ck_assert_uint_eq(manifest_records(p, cls), 3);
    ck_assert_uint_eq(cls[6], 1);
    ck_assert_uint_eq(cls[5], 1);
    ck_assert_uint_eq(cls[3], 1);
    free(p);
    json_decref(r);
    ck_assert_int_eq(server_count(port, dir, "/page3.html"), 0);
    ck_assert_int_eq(server_count(port, dir, "/private/s.png"), 0);
    int a_before = server_count(port, dir, "/img/a.png");
    int idx_before = server_count(port, dir, "/index.html");
    ck_assert_int_eq(a_before, 1);
    /* Re-run with the same cache: nothing that succeeded is fetched again. */
    rc = ingest(log, "--urls '%s' --crawl http://127.0.0.1:%d/index.html --depth 1 --label happy "
                     "-o '%s/out2' --cache '%s/cache' %s", urls, port, dir, dir, common);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(server_count(port, dir, "/img/a.png"), a_before);
    ck_assert_int_eq(server_count(port, dir, "/index.html"), idx_before);
    p = pathf("%s/out2/train", dir);
    ck_assert_uint_eq(manifest_records(p, NULL), 3);
    free(p);
    stop_server(srv);

    /* A crawl of a host where nothing answers: robots.txt unreachable means
     * nothing may be fetched; the run ends, with nothing usable. */
    rc = ingest(log, "--crawl http://127.0.0.1:%d/ -o '%s/none' --timeout 1 --retries 0 --quiet", port, dir);
    ck_assert_int_eq(rc, 1);
    char *rep3 = pathf("%s/none/ingest-report.json", dir);
    r = load_json(rep3);
    ck_assert_int_eq(count_reason(r, "robots.txt"), 1);
    json_decref(r);
    free(rep3);
    free(rep);
    free(log);
    free(urls);
    free(site);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emoingest");
    TCase *tc = tcase_create("emoingest");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, usage_help_version_and_exit_codes);
    tcase_add_test(tc, bad_input_tree_rejected_with_reasons);
    tcase_add_test(tc, fer2013_csv_sample_counts);
    tcase_add_test(tc, fer2013_release_counts);
    tcase_add_test(tc, jaffe_faces_detected_and_aligned);
    tcase_add_test(tc, output_identical_for_any_thread_count);
    tcase_add_test(tc, hash_split_stable_when_images_are_added);
    tcase_add_test(tc, near_duplicates_and_label_map);
    tcase_add_test(tc, http_url_list_and_crawl);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
