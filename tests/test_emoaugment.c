/* test_emoaugment.c: the emoaugment program end to end, on small datasets
 * generated here: output records and their metadata, replay of each variant
 * from its params text, thread-count independence, --balance counts, the
 * preview sheet against the written copies, usage errors (exit 2) and a
 * corrupted input shard (exit 1, named, nothing written). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aug_apply.h"
#include "aug_params.h"
#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "test_support.h"

#define W 24
#define H 20

/* A dataset of counts[c] records of class c (in class order, as an import
 * of class folders writes them), small blocks and shards so that several of
 * each exist. Pixels: a smooth gradient plus noise, distinct per record. */
static void make_dataset(const char *dir, const int counts[EMO_NUM_CLASSES], uint64_t seed)
{
    EmoDatasetWriter *w;
    EmoDatasetWriterOptions opt = {0};
    opt.records_per_block = 16;
    opt.records_per_shard = 48;
    EmoError err;
    ck_assert_msg(emo_dataset_writer_open(&w, dir, &opt, &err) == EMO_OK, "%s", err.msg);
    uint8_t px[W * H];
    uint64_t s = seed;
    int row = 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++)
        for (int i = 0; i < counts[c]; i++, row++) {
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    px[y * W + x] = (uint8_t)(x * 4 + y * 3 + c * 20 + (ts_rand(&s) >> 59));
            char src[64];
            snprintf(src, sizeof src, "gen/%s/%04d.png", emo_class_name(c), i);
            EmoRecord r = {0};
            r.label = c, r.width = W, r.height = H, r.channels = 1;
            r.origin = EMO_ORIGIN_ORIGINAL, r.source_row = row, r.source = src, r.params = "";
            r.pixels = px;
            ck_assert_msg(emo_dataset_writer_add(w, &r, &err) == EMO_OK, "%s", err.msg);
        }
    ck_assert_msg(emo_dataset_writer_close(w, &err) == EMO_OK, "%s", err.msg);
}

/* Every record of a dataset, copied out. */
typedef struct {
    EmoRecord *r;
    size_t n;
} Records;

static Records read_all(const char *dir)
{
    Records out = {NULL, 0};
    size_t cap = 0;
    EmoDatasetReader *rd;
    EmoError err;
    ck_assert_msg(emo_dataset_reader_open(&rd, dir, NULL, &err) == EMO_OK, "%s", err.msg);
    EmoRecord rec;
    EmoStatus s;
    while ((s = emo_dataset_reader_next(rd, &rec, &err)) == EMO_OK) {
        if (out.n == cap) {
            cap = cap ? 2 * cap : 256;
            out.r = realloc(out.r, cap * sizeof *out.r);
            ck_assert_ptr_nonnull(out.r);
        }
        size_t np = (size_t)rec.width * rec.height * rec.channels;
        uint8_t *px = malloc(np);
        memcpy(px, rec.pixels, np);
        rec.pixels = px;
        rec.source = strdup(rec.source);
        rec.params = strdup(rec.params);
        out.r[out.n++] = rec;
    }
    ck_assert_msg(s == EMO_ERR_EOF, "%s", err.msg);
    emo_dataset_reader_close(rd);
    return out;
}

static void free_records(Records *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free((void *)rs->r[i].pixels);
        free((void *)rs->r[i].source);
        free((void *)rs->r[i].params);
    }
    free(rs->r);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Runs emoaugment with `args`; output to `log`. */
static int augment(const char *log, const char *args)
{
    char *bin = ts_bin("emoaugment");
    int rc = ts_run(log, "'%s' %s", bin, args);
    free(bin);
    return rc;
}

static char *path2(const char *a, const char *b)
{
    return emo_path_join(a, b);
}

START_TEST(variants_carry_metadata_and_replay_from_params)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *out = path2(dir, "out"), *log = path2(dir, "log");
    const int counts[EMO_NUM_CLASSES] = {10, 3, 0, 12, 0, 5, 0};
    make_dataset(in, counts, 1);
    char args[4096];
    snprintf(args, sizeof args, "-s '%s' -o '%s' --copies 3 --keep-original --seed 9 -j 2 -q "
             "--contrast 0.2 --gamma 0.2@0.5 --blur 1@0.3 --noise 4@0.5 --erase 0.2@0.5", in, out);
    ck_assert_int_eq(augment(log, args), 0);

    Records a = read_all(in), b = read_all(out);
    ck_assert_uint_eq(b.n, a.n * 4);
    EmoManifest m;
    ck_assert_int_eq(emo_manifest_load(out, &m, NULL), EMO_OK);
    ck_assert_uint_eq(m.num_records, a.n * 4);
    ck_assert_uint_eq(m.augmented, a.n * 3);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) ck_assert_uint_eq(m.class_counts[c], (uint64_t)counts[c] * 4);
    ck_assert_ptr_nonnull(m.produced_by);
    ck_assert_ptr_nonnull(strstr(m.produced_by, "\"tool\":\"emoaugment\""));
    emo_manifest_free(&m);

    AugConfig border_only = aug_config_default(); /* border replicate, as the run used */
    AugWorkspace ws = {0};
    uint8_t px[W * H];
    for (size_t i = 0; i < a.n; i++) {
        const EmoRecord *orig = &a.r[i], *kept = &b.r[4 * i];
        ck_assert_uint_eq(kept->id, orig->id);
        ck_assert_int_eq(kept->origin, EMO_ORIGIN_ORIGINAL);
        ck_assert_int_eq(memcmp(kept->pixels, orig->pixels, W * H), 0);
        for (int k = 1; k <= 3; k++) {
            const EmoRecord *v = &b.r[4 * i + k];
            ck_assert_int_eq(v->origin, EMO_ORIGIN_AUGMENTED);
            ck_assert_uint_eq(v->parent_id, orig->id);
            ck_assert_uint_eq(v->id, emo_record_hash_pixels(v->pixels, W * H));
            ck_assert_int_eq(v->label, orig->label);
            ck_assert_str_eq(v->source, orig->source);
            ck_assert_int_eq(v->source_row, orig->source_row);
            ck_assert_int_eq(v->width, W);
            ck_assert_int_eq(v->height, H);
            /* The params text alone reproduces the pixels. */
            AugParams p;
            EmoError err;
            ck_assert_msg(aug_params_parse(v->params, &p, &err) == EMO_OK, "%s", err.msg);
            ck_assert_int_eq(aug_apply(&p, &border_only.border, orig->pixels, W, H, 1, px, &ws, NULL), EMO_OK);
            ck_assert_msg(memcmp(px, v->pixels, W * H) == 0, "record %zu copy %d (%s) does not replay", i, k,
                          v->params);
        }
        /* Copies of one record differ from each other. */
        ck_assert_str_ne(b.r[4 * i + 1].params, b.r[4 * i + 2].params);
    }
    aug_workspace_free(&ws);
    free_records(&a), free_records(&b);
    ts_rmtree(dir);
    free(dir), free(in), free(out), free(log);
}
END_TEST

/* Concatenation of every file of a dataset directory, in name order. */
static char *dataset_bytes(const char *dir, size_t *n)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && ls", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *all = NULL;
    size_t len = 0;
    char name[256];
    while (fgets(name, sizeof name, p)) {
        name[strcspn(name, "\n")] = '\0';
        char *f = path2(dir, name);
        size_t m;
        char *d = ts_slurp(f, &m);
        ck_assert_ptr_nonnull(d);
        all = realloc(all, len + m + strlen(name));
        memcpy(all + len, name, strlen(name));
        memcpy(all + len + strlen(name), d, m);
        len += m + strlen(name);
        free(d), free(f);
    }
    pclose(p);
    *n = len;
    return all;
}

START_TEST(same_seed_same_bytes_at_1_and_2_threads)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *log = path2(dir, "log");
    const int counts[EMO_NUM_CLASSES] = {30, 7, 11, 40, 0, 9, 13};
    make_dataset(in, counts, 2);
    char *outs[3];
    const char *flags[3] = {"-j 1 --seed 5", "-j 2 --seed 5", "-j 2 --seed 6"};
    for (int i = 0; i < 3; i++) {
        char name[16], args[4096];
        snprintf(name, sizeof name, "out%d", i);
        outs[i] = path2(dir, name);
        snprintf(args, sizeof args, "-s '%s' -o '%s' --copies 4 --balance --noise 5@0.5 --erase 0.3@0.5 -q %s",
                 in, outs[i], flags[i]);
        ck_assert_int_eq(augment(log, args), 0);
    }
    size_t n0, n1, n2;
    char *b0 = dataset_bytes(outs[0], &n0), *b1 = dataset_bytes(outs[1], &n1), *b2 = dataset_bytes(outs[2], &n2);
    ck_assert_uint_eq(n0, n1);
    ck_assert_msg(memcmp(b0, b1, n0) == 0, "1 and 2 threads wrote different bytes");
    ck_assert(n0 != n2 || memcmp(b0, b2, n0) != 0); /* another seed, other variants */
    free(b0), free(b1), free(b2);
    for (int i = 0; i < 3; i++) free(outs[i]);
    ts_rmtree(dir);
    free(dir), free(in), free(log);
}
END_TEST

/* Output records per class, counted by reading them. */
static void count_classes(const Records *rs, uint64_t out[EMO_NUM_CLASSES])
{
    memset(out, 0, EMO_NUM_CLASSES * sizeof *out);
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].label >= 0 && rs->r[i].label < EMO_NUM_CLASSES) out[rs->r[i].label]++;
}

START_TEST(balance_reaches_the_target_counts)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *out = path2(dir, "out"), *log = path2(dir, "log");
    const int counts[EMO_NUM_CLASSES] = {40, 5, 17, 60, 0, 33, 1};
    make_dataset(in, counts, 3);
    char args[4096];
    uint64_t got[EMO_NUM_CLASSES];

    /* Default target: the largest class's output count (60 x (1 + 1)). */
    snprintf(args, sizeof args, "-s '%s' -o '%s' --keep-original --balance -q", in, out);
    ck_assert_int_eq(augment(log, args), 0);
    Records b = read_all(out);
    count_classes(&b, got);
    EmoManifest m;
    ck_assert_int_eq(emo_manifest_load(out, &m, NULL), EMO_OK);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        uint64_t want = counts[c] ? 120 : 0;
        ck_assert_msg(got[c] == want, "class %d: %llu records, want %llu", c, (unsigned long long)got[c],
                      (unsigned long long)want);
        ck_assert_uint_eq(m.class_counts[c], want);
    }
    emo_manifest_free(&m);
    /* Extras are spread evenly: variants per parent differ by at most one
     * within a class (5 disgust records share 110 variants: 22 each). */
    Records a = read_all(in);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < a.n; i++) {
            if (a.r[i].label != c) continue;
            uint64_t k = 0;
            for (size_t j = 0; j < b.n; j++) k += b.r[j].parent_id == a.r[i].id && b.r[j].origin == EMO_ORIGIN_AUGMENTED;
            if (k < lo) lo = k;
            if (k > hi) hi = k;
        }
        if (counts[c]) ck_assert_msg(hi - lo <= 1, "class %d: %llu..%llu variants per record", c,
                                     (unsigned long long)lo, (unsigned long long)hi);
    }
    free_records(&b);

    /* An explicit target, originals only otherwise: classes above it keep
     * every record (balancing only adds). */
    snprintf(args, sizeof args, "-s '%s' -o '%s' --keep-original --copies 0 --balance 35 -q", in, out);
    ck_assert_int_eq(augment(log, args), 0);
    b = read_all(out);
    count_classes(&b, got);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        uint64_t want = counts[c] == 0 ? 0 : counts[c] < 35 ? 35 : (uint64_t)counts[c];
        ck_assert_msg(got[c] == want, "class %d: %llu records, want %llu", c, (unsigned long long)got[c],
                      (unsigned long long)want);
    }
    free_records(&a), free_records(&b);
    ts_rmtree(dir);
    free(dir), free(in), free(out), free(log);
}
END_TEST

START_TEST(bad_options_exit_2_and_write_nothing)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *out = path2(dir, "out"), *log = path2(dir, "log");
    const int counts[EMO_NUM_CLASSES] = {3, 3, 0, 0, 0, 0, 0};
    make_dataset(in, counts, 4);
    const char *bad[] = {
        "--rotate 200", "--rotate 10@1.5", "--rotate ten", "--flip 1.5", "--flip -0.1", "--copies -1",
        "--copies 1001", "--copies 2x", "--zoom 0.95", "--shift 1.5", "--shift 0.1,", "--brightness 2",
        "--brightness-mode div", "--contrast -0.1", "--gamma 1", "--blur 11", "--noise 300", "--erase 0.01",
        "--erase-value 256", "--border wrap", "--border constant:300", "--threads 0", "--threads 1000",
        "--seed -3", "--seed abc", "--balance 0", "--balance 2000000000", "--level 0", "--level 20",
        "--preview-rows 0", "--preview-scale 17", "--frobnicate", "--copies", "extra-argument",
        "--copies 0", "--copies 0 --balance",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[4096];
        snprintf(args, sizeof args, "-s '%s' -o '%s' %s", in, out, bad[i]);
        int rc = augment(log, args);
        char *text = ts_slurp(log, NULL);
        ck_assert_msg(rc == 2, "'%s': exit %d, want 2 (%s)", bad[i], rc, text ? text : "");
        ck_assert_msg(text && strstr(text, "emoaugment:"), "'%s': no message", bad[i]);
        free(text);
        ck_assert_msg(!exists(out), "'%s' wrote output", bad[i]);
    }
    /* Missing required parts, and the output being the input. */
    char args[4096];
    ck_assert_int_eq(augment(log, "-o somewhere"), 2);
    snprintf(args, sizeof args, "-s '%s'", in);
    ck_assert_int_eq(augment(log, args), 2);
    snprintf(args, sizeof args, "-s '%s' -o '%s'", in, in);
    ck_assert_int_eq(augment(log, args), 2);
    /* --help and --version succeed. */
    ck_assert_int_eq(augment(log, "--help"), 0);
    char *help = ts_slurp(log, NULL);
    const char *must[] = {"--shards", "--copies", "--keep-original", "--balance", "--seed", "--threads",
                          "--flip", "--rotate", "--shift", "--zoom", "--brightness", "--brightness-mode",
                          "--contrast", "--gamma", "--blur", "--noise", "--erase", "--border", "--preview",
                          "--quiet", "--version", "Exit status"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(strstr(help, must[i]) != NULL, "--help does not mention %s", must[i]);
    free(help);
    ck_assert_int_eq(augment(log, "--version"), 0);
    char *ver = ts_slurp(log, NULL);
    ck_assert_ptr_nonnull(strstr(ver, EMO_VERSION));
    free(ver);
    ts_rmtree(dir);
    free(dir), free(in), free(out), free(log);
}
END_TEST

START_TEST(corrupted_shard_exits_1_naming_it_and_keeps_old_output)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *out = path2(dir, "out"), *log = path2(dir, "log");
    const int counts[EMO_NUM_CLASSES] = {40, 40, 40, 0, 0, 0, 0}; /* 120 records: 3 shards of 48 */
    make_dataset(in, counts, 5);
    char args[4096];
    snprintf(args, sizeof args, "-s '%s' -o '%s' -q", in, out);
    ck_assert_int_eq(augment(log, args), 0); /* a previous good output */
    size_t old_n;
    char *old = dataset_bytes(out, &old_n);

    /* Damage the middle of the second shard (its size stays the same). */
    char *shard = path2(in, "shard-00001.emo");
    size_t n;
    char *data = ts_slurp(shard, &n);
    ck_assert_ptr_nonnull(data);
    for (size_t i = n / 2; i < n / 2 + 64 && i < n; i++) data[i] ^= 0x5A;
    ts_write(shard, data, n);
    free(data);

    snprintf(args, sizeof args, "-s '%s' -o '%s' --copies 2", in, out);
    int rc = augment(log, args);
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, text);
    ck_assert_msg(strstr(text, "shard-00001.emo") != NULL, "message does not name the shard: %s", text);
    free(text);
    size_t now_n;
    char *now = dataset_bytes(out, &now_n);
    ck_assert_msg(now_n == old_n && memcmp(now, old, old_n) == 0, "previous output was changed");
    free(now), free(old);
    /* And no staging directory or partial dataset is left beside it. */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 3", dir); /* in, out, log */
    ck_assert_int_eq(ts_run(NULL, "%s", cmd), 0);

    /* A fresh output path: nothing at all appears. */
    char *out2 = path2(dir, "out2");
    snprintf(args, sizeof args, "-s '%s' -o '%s'", in, out2);
    ck_assert_int_eq(augment(log, args), 1);
    ck_assert(!exists(out2));
    free(out2);
    free(shard);
    ts_rmtree(dir);
    free(dir), free(in), free(out), free(log);
}
END_TEST

START_TEST(missing_input_exits_1)
{
    char *dir = ts_tempdir(), *log = path2(dir, "log");
    char args[4096];
    snprintf(args, sizeof args, "-s '%s/nope' -o '%s/out'", dir, dir);
    ck_assert_int_eq(augment(log, args), 1);
    char *text = ts_slurp(log, NULL);
    ck_assert_ptr_nonnull(strstr(text, "nope"));
    free(text);
    ts_rmtree(dir);
    free(dir), free(log);
}
END_TEST

START_TEST(preview_shows_the_copies_that_are_written)
{
    char *dir = ts_tempdir(), *in = path2(dir, "in"), *out = path2(dir, "out"), *log = path2(dir, "log");
    char *png = path2(dir, "sheet.png");
    const int counts[EMO_NUM_CLASSES] = {1, 0, 0, 0, 0, 0, 0};
    make_dataset(in, counts, 6);
    char args[4096];
    /* Preview alone (no -o), scale 1, one row of 3 variants. */
    snprintf(args, sizeof args, "-s '%s' --preview '%s' --preview-rows 1 --preview-variants 3 --preview-scale 1 "
             "--seed 4 --rotate 20 -q", in, png);
    ck_assert_int_eq(augment(log, args), 0);
    ck_assert(!exists(out));
    snprintf(args, sizeof args, "-s '%s' -o '%s' --copies 3 --seed 4 --rotate 20 -q", in, out);
    ck_assert_int_eq(augment(log, args), 0);

    EmoImage sheet = {0};
    EmoError err;
    ck_assert_msg(emo_image_load(png, NULL, &sheet, &err) == EMO_OK, "%s", err.msg);
    Records a = read_all(in), b = read_all(out);
    ck_assert_uint_eq(b.n, 3);
    /* Find each record's pixels somewhere in the sheet: the original and
     * the three copies, each exactly once, left to right. */
    int last_x = -1;
    for (int k = -1; k < 3; k++) {
        const uint8_t *want = k < 0 ? a.r[0].pixels : b.r[k].pixels;
        int found = -1;
        for (int y0 = 0; y0 + H <= sheet.height && found < 0; y0++)
            for (int x0 = 0; x0 + W <= sheet.width && found < 0; x0++) {
                int same = 1;
                for (int y = 0; y < H && same; y++)
                    same = memcmp(sheet.pixels + (size_t)(y0 + y) * sheet.width + x0, want + y * W, W) == 0;
                if (same) found = x0;
            }
        ck_assert_msg(found > last_x, "cell %d not found in order in the sheet", k);
        last_x = found;
    }
    emo_image_free(&sheet);
    free_records(&a), free_records(&b);
    ts_rmtree(dir);
    free(dir), free(in), free(out), free(log), free(png);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emoaugment");
    TCase *tc = tcase_create("program");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, variants_carry_metadata_and_replay_from_params);
    tcase_add_test(tc, same_seed_same_bytes_at_1_and_2_threads);
    tcase_add_test(tc, balance_reaches_the_target_counts);
    tcase_add_test(tc, bad_options_exit_2_and_write_nothing);
    tcase_add_test(tc, corrupted_shard_exits_1_naming_it_and_keeps_old_output);
    tcase_add_test(tc, missing_input_exits_1);
    tcase_add_test(tc, preview_shows_the_copies_that_are_written);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
