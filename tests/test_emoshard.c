/* test_emoshard.c: the emoshard program end to end (import, ls, stats,
 * verify, grid, export), its exit codes, and bad inputs on import. Runs the
 * built binary through EMO_BIN; images are generated here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "test_support.h"

static char *g_bin;

static void make_dir(const char *base, const char *name)
{
    char *p = emo_path_join(base, name);
    ck_assert_int_eq(emo_mkdir_p(p, NULL), EMO_OK);
    free(p);
}

/* Writes a w x h gray face-like image as PNG or JPEG; returns its XXH64 as
 * decoded back (JPEG is lossy, so the id is what a decoder will see). */
static uint64_t put_image(const char *dir, const char *name, int w, int h, uint64_t *st, int jpeg)
{
    EmoImage img;
    ck_assert_int_eq(emo_image_alloc(&img, w, h, 1, NULL), EMO_OK);
    int base = (int)(ts_rand(st) % 200);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) img.pixels[y * w + x] = (uint8_t)(base + x + y + (int)(ts_rand(st) % 20));
    char *p = emo_path_join(dir, name);
    if (jpeg) ck_assert_int_eq(emo_image_save_jpeg(&img, p, 90, NULL), EMO_OK);
    else ck_assert_int_eq(emo_image_save_png(&img, p, NULL), EMO_OK);
    emo_image_free(&img);
    ck_assert_int_eq(emo_image_load(p, NULL, &img, NULL), EMO_OK);
    uint64_t id = XXH64(img.pixels, (size_t)w * h, 0);
    emo_image_free(&img);
    free(p);
    return id;
}

static uint32_t crc32_ref(const uint8_t *d, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* A PNG whose IHDR claims 100000 x 100000 pixels (a decompression bomb). */
static void put_png_bomb(const char *path)
{
    uint8_t f[33] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                     0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 0, 0, 0, 0};
    uint32_t crc = crc32_ref(f + 12, 17);
    f[29] = (uint8_t)(crc >> 24);
    f[30] = (uint8_t)(crc >> 16);
    f[31] = (uint8_t)(crc >> 8);
    f[32] = (uint8_t)crc;
    ts_write(path, f, sizeof f);
}

typedef struct {
    char *tmp, *in, *ds, *out;
    int n_good;
} Fixture;

/* in/: happy/ (3 PNG), Sadness/ (2 JPEG, alias), loose.png (unlabeled),
 * plus bad files: garbage.jpg, bomb.png, empty.png, notaclass/, notes.txt. */
static Fixture make_fixture(void)
{
    Fixture fx;
    fx.tmp = ts_tempdir();
    fx.in = emo_path_join(fx.tmp, "in");
    fx.ds = emo_path_join(fx.tmp, "ds");
    fx.out = emo_path_join(fx.tmp, "out.txt");
    make_dir(fx.in, "happy");
    make_dir(fx.in, "Sadness");
    make_dir(fx.in, "notaclass");
    char *happy = emo_path_join(fx.in, "happy"), *sad = emo_path_join(fx.in, "Sadness");
    char *nac = emo_path_join(fx.in, "notaclass");
    uint64_t st = 3;
    put_image(happy, "a.png", 48, 48, &st, 0);
    put_image(happy, "b.png", 48, 48, &st, 0);
    put_image(happy, "c.PNG", 48, 48, &st, 0);
    put_image(sad, "x.jpg", 48, 48, &st, 1);
    put_image(sad, "y.jpeg", 48, 48, &st, 1);
    put_image(fx.in, "loose.png", 48, 48, &st, 0);
    put_image(nac, "z.png", 48, 48, &st, 0);
    fx.n_good = 6;
    char *p = emo_path_join(happy, "garbage.jpg");
    ts_write(p, "this is not a jpeg, just text", 29);
    free(p);
    p = emo_path_join(sad, "bomb.png");
    put_png_bomb(p);
    free(p);
    p = emo_path_join(happy, "empty.png");
    ts_write(p, "", 0);
    free(p);
    p = emo_path_join(happy, "notes.txt");
    ts_write(p, "ignored", 7);
    free(p);
    free(happy);
    free(sad);
    free(nac);
    return fx;
}

static void free_fixture(Fixture *fx)
{
    ts_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx->in);
    free(fx->ds);
    free(fx->out);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

START_TEST(usage_help_version)
{
    char *tmp = ts_tempdir();
    char *out = emo_path_join(tmp, "o");
    ck_assert_int_eq(ts_run(out, "%s --help", g_bin), 0);
    char *s = ts_slurp(out, NULL);
    const char *words[] = {"ls DIR", "stats DIR", "verify DIR", "grid DIR", "export DIR", "import FOLDER", "--quiet",
                           "Exit status"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) ck_assert_msg(strstr(s, words[i]), "%s", words[i]);
    free(s);
    ck_assert_int_eq(ts_run(out, "%s --version", g_bin), 0);
    s = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(s, EMO_VERSION));
    free(s);
    ck_assert_int_eq(ts_run(out, "%s", g_bin), 2);
    ck_assert_int_eq(ts_run(out, "%s frobnicate x", g_bin), 2);
    ck_assert_int_eq(ts_run(out, "%s ls", g_bin), 2);
    ck_assert_int_eq(ts_run(out, "%s ls a b", g_bin), 2);
    ck_assert_int_eq(ts_run(out, "%s grid %s", g_bin, tmp), 2);            /* no -o */
    ck_assert_int_eq(ts_run(out, "%s grid %s -o x.png --n 0", g_bin, tmp), 2);
    ck_assert_int_eq(ts_run(out, "%s ls %s/nothing", g_bin, tmp), 1);
    s = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "nothing"));
    free(s);
    free(out);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(import_reports_bad_files_and_continues)
{
    Fixture fx = make_fixture();
    ck_assert_int_eq(ts_run(fx.out, "%s import %s -o %s --block-records 4", g_bin, fx.in, fx.ds), 0);
    char *s = ts_slurp(fx.out, NULL);
    const char *named[] = {"garbage.jpg", "bomb.png", "empty.png", "notaclass"};
    for (size_t i = 0; i < 4; i++) ck_assert_msg(strstr(s, named[i]), "no line for %s in:\n%s", named[i], s);
    ck_assert_ptr_null(strstr(s, "notes.txt"));
    ck_assert_ptr_nonnull(strstr(s, "6 images"));
    ck_assert_ptr_nonnull(strstr(s, "3 skipped"));
    free(s);

    EmoManifest m;
    EmoError err;
    ck_assert_int_eq(emo_manifest_load(fx.ds, &m, &err), EMO_OK);
    ck_assert_uint_eq(m.num_records, 6);
    ck_assert_uint_eq(m.class_counts[3], 3); /* happy */
    ck_assert_uint_eq(m.class_counts[5], 2); /* sadness -> sad */
    ck_assert_uint_eq(m.unlabeled, 1);
    ck_assert_ptr_nonnull(strstr(m.produced_by, "emoshard import"));
    emo_manifest_free(&m);

    /* --strict turns skipped files into exit 1, and --quiet silences the summary. */
    ck_assert_int_eq(ts_run(fx.out, "%s import %s -o %s --strict --quiet", g_bin, fx.in, fx.ds), 1);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_null(strstr(s, "6 images"));
    ck_assert_ptr_nonnull(strstr(s, "garbage.jpg")); /* problems are still reported */
    free(s);

    /* Nothing readable: exit 1 and no dataset written. */
    char *bad = emo_path_join(fx.tmp, "bad"), *bad_ds = emo_path_join(fx.tmp, "bad_ds");
    make_dir(bad, "angry");
    char *g = emo_path_join(bad, "angry/g.png");
    static const char fake_png[] = "\x89PNG\r\n\x1a\n garbage after a PNG signature";
    ts_write(g, fake_png, sizeof fake_png - 1);
    ck_assert_int_eq(ts_run(fx.out, "%s import %s -o %s", g_bin, bad, bad_ds), 1);
    struct stat st;
    ck_assert_int_ne(stat(bad_ds, &st), 0);
    ck_assert_int_eq(ts_run(fx.out, "%s import %s/missing -o %s", g_bin, bad, bad_ds), 1);
    ck_assert_int_eq(ts_run(fx.out, "%s import %s", g_bin, bad), 2);
    free(g);
    free(bad);
    free(bad_ds);
    free_fixture(&fx);
}
END_TEST

START_TEST(ls_stats_verify_export_grid)
{
    Fixture fx = make_fixture();
    ck_assert_int_eq(ts_run(fx.out, "%s import %s -o %s --block-records 4 --shard-records 5 -q", g_bin, fx.in, fx.ds), 0);

    ck_assert_int_eq(ts_run(fx.out, "%s ls %s", g_bin, fx.ds), 0);
    char *s = ts_slurp(fx.out, NULL);
    ck_assert_uint_eq(count_lines(s), 6);
    ck_assert_ptr_nonnull(strstr(s, "shard-00000.emo\t0\t0\t"));
    ck_assert_ptr_nonnull(strstr(s, "shard-00001.emo\t0\t0\t")); /* 5 per shard */
    ck_assert_ptr_nonnull(strstr(s, "\tunlabeled\t48x48x1\tloose.png\n"));
    ck_assert_ptr_nonnull(strstr(s, "\thappy\t48x48x1\thappy/a.png\n"));
    ck_assert_ptr_nonnull(strstr(s, "\tsad\t48x48x1\tSadness/x.jpg\n"));
    free(s);

    ck_assert_int_eq(ts_run(fx.out, "%s stats %s", g_bin, fx.ds), 0);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "records"));
    ck_assert_ptr_nonnull(strstr(s, "happy              3"));
    ck_assert_ptr_nonnull(strstr(s, "ratio"));
    free(s);

    ck_assert_int_eq(ts_run(fx.out, "%s verify %s", g_bin, fx.ds), 0);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "ok: 6 records in 2 shards"));
    free(s);

    /* Export, re-import: same pixels (ids) and labels. */
    char *exp = emo_path_join(fx.tmp, "exp"), *ds2 = emo_path_join(fx.tmp, "ds2");
    char *l1 = emo_path_join(fx.tmp, "l1"), *l2 = emo_path_join(fx.tmp, "l2");
    ck_assert_int_eq(ts_run(fx.out, "%s export %s -o %s", g_bin, fx.ds, exp), 0);
    ck_assert_int_eq(ts_run(fx.out, "%s import %s -o %s -q", g_bin, exp, ds2), 0);
    ck_assert_int_eq(ts_run(NULL, "%s ls %s | cut -f4,5 | sort > %s", g_bin, fx.ds, l1), 0);
    ck_assert_int_eq(ts_run(NULL, "%s ls %s | cut -f4,5 | sort > %s", g_bin, ds2, l2), 0);
    char *a = ts_slurp(l1, NULL), *b = ts_slurp(l2, NULL);
    ck_assert_uint_eq(count_lines(a), 6);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);

    /* Grid: a PNG of 2 columns x 3 rows of cells. */
    char *grid = emo_path_join(fx.tmp, "grid.png");
    ck_assert_int_eq(ts_run(fx.out, "%s grid %s -o %s --n 5 --cols 2 --seed 7", g_bin, fx.ds, grid), 0);
    EmoImage img;
    ck_assert_int_eq(emo_image_load(grid, NULL, &img, NULL), EMO_OK);
    ck_assert_int_ge(img.width, 2 * 48);
    ck_assert_int_lt(img.width, 3 * 60);
    ck_assert_int_ge(img.height, 3 * (48 + 7));
    emo_image_free(&img);
    free(grid);
    free(exp); free(ds2); free(l1); free(l2);
    free_fixture(&fx);
}
END_TEST

START_TEST(verify_names_damage_and_splits)
{
    Fixture fx = make_fixture();
    char *train = emo_path_join(fx.ds, "train"), *val = emo_path_join(fx.ds, "val");
    ck_assert_int_eq(ts_run(NULL, "%s import %s -o %s --block-records 2 -q 2>/dev/null", g_bin, fx.in, train), 0);
    ck_assert_int_eq(ts_run(NULL, "%s import %s -o %s -q 2>/dev/null", g_bin, fx.in, val), 0);
    ck_assert_int_eq(ts_run(fx.out, "%s stats %s", g_bin, fx.ds), 0);
    char *s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "train"));
    ck_assert_ptr_nonnull(strstr(s, "val"));
    ck_assert_ptr_nonnull(strstr(s, "total"));
    free(s);
    ck_assert_int_eq(ts_run(fx.out, "%s verify %s", g_bin, fx.ds), 0);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "ok: 12 records"));
    free(s);

    /* A flipped byte in train's block 1. */
    char *shard = emo_path_join(train, "shard-00000.emo");
    size_t n;
    uint8_t *d = (uint8_t *)ts_slurp(shard, &n);
    uint64_t ioff = 0, b1 = 0;
    for (int i = 7; i >= 0; i--) ioff = (ioff << 8) | d[n - 24 + i];
    for (int i = 7; i >= 0; i--) b1 = (b1 << 8) | d[ioff + 24 + i];
    d[b1 + 20] ^= 0x08;
    ts_write(shard, d, n);
    ck_assert_int_eq(ts_run(fx.out, "%s verify %s", g_bin, fx.ds), 1);
    s = ts_slurp(fx.out, NULL);
    ck_assert_msg(strstr(s, "shard-00000.emo: block 1"), "%s", s);
    ck_assert_ptr_nonnull(strstr(s, "XXH64")); /* the whole-file hash disagrees too */
    free(s);
    /* Truncated. */
    ts_write(shard, d, n / 2);
    ck_assert_int_eq(ts_run(fx.out, "%s verify %s", g_bin, train), 1);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "shard-00000.emo"));
    ck_assert_ptr_nonnull(strstr(s, "truncated"));
    free(s);
    /* Missing manifest. */
    char *mp = emo_path_join(val, "manifest.json");
    remove(mp);
    ck_assert_int_eq(ts_run(fx.out, "%s verify %s", g_bin, val), 1);
    s = ts_slurp(fx.out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "manifest.json"));
    free(s);
    free(mp);
    free(d);
    free(shard);
    free(train);
    free(val);
    free_fixture(&fx);
}
END_TEST

START_TEST(real_sample_imports_losslessly)
{
    /* The FER2013 sample shipped in the repo (pipelines/sample). */
    const char *sample = "pipelines/sample/fer2013-mini/train";
    struct stat st;
    if (stat(sample, &st) != 0) {
        printf("test_emoshard: %s missing; skipping real-data import\n", sample);
        return;
    }
    char *tmp = ts_tempdir();
    char *ds = emo_path_join(tmp, "ds"), *out = emo_path_join(tmp, "o");
    ck_assert_int_eq(ts_run(out, "%s import %s -o %s -q", g_bin, sample, ds), 0);
    ck_assert_int_eq(ts_run(out, "%s verify %s", g_bin, ds), 0);
    /* Every record equals its JPEG decoded independently here. */
    EmoDatasetReader *r;
    EmoError err;
    ck_assert_int_eq(emo_dataset_reader_open(&r, ds, NULL, &err), EMO_OK);
    EmoRecord rec;
    size_t n = 0;
    while (emo_dataset_reader_next(r, &rec, &err) == EMO_OK) {
        char *p = emo_path_join(sample, rec.source);
        EmoImage img;
        ck_assert_int_eq(emo_image_load(p, NULL, &img, NULL), EMO_OK);
        ck_assert_int_eq(img.width, rec.width);
        ck_assert(memcmp(img.pixels, rec.pixels, (size_t)img.width * img.height) == 0);
        emo_image_free(&img);
        free(p);
        n++;
    }
    emo_dataset_reader_close(r);
    ck_assert_int_eq(ts_run(out, "test $(find %s -name '*.jpg' | wc -l) -eq %zu", sample, n), 0);
    free(ds);
    free(out);
    ts_rmtree(tmp);
    free(tmp);
}
END_TEST

int main(void)
{
    g_bin = ts_bin("emoshard");
    Suite *s = suite_create("emoshard");
    TCase *tc = tcase_create("emoshard");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, usage_help_version);
    tcase_add_test(tc, import_reports_bad_files_and_continues);
    tcase_add_test(tc, ls_stats_verify_export_grid);
    tcase_add_test(tc, verify_names_damage_and_splits);
    tcase_add_test(tc, real_sample_imports_losslessly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(g_bin);
    return failed ? 1 : 0;
}
