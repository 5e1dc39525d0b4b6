/* test_model_file.c: the .emomodel format (formats/emo_model.h) and net_save/net_load.
 *
 * Round trip (same logits after load, config and extra blob kept), and bad
 * files: truncated at several points, a flipped byte anywhere, a newer
 * format version, a bad magic, arrays that do not fit the config, a missing
 * file. Each error must be the right status and name the file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "emo_fs.h"
#include "emo_model.h"
#include "net_model.h"
#include "test_support.h"

/* A small network (fast to build) with non-default config values. */
static NetModel *small_model(void)
{
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.input_h = cfg.input_w = 20;
    cfg.input_mean = 0.5f;
    cfg.input_std = 0.25f;
    cfg.stem_width[0] = 4;
    cfg.stem_width[1] = 6;
    cfg.module_width[0] = 8;
    cfg.module_width[1] = 12;
    NetModel *m;
    ck_assert_int_eq(net_create(&m, &cfg, 3, NULL), EMO_OK);
    net_init_params(m, 11);
    return m;
}

static void random_input(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) x[i] = (float)((ts_rand(&s) >> 40) / 16777216.0);
}

START_TEST(round_trip_same_logits)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "m.emomodel");
    NetModel *m = small_model();
    float x[3 * 20 * 20];
    random_input(x, sizeof x / sizeof x[0], 1);
    int labels[3] = {1, 4, 6};
    /* a train step changes the running statistics from their 0/1 init */
    net_forward(m, x, 3, 1);
    ck_assert_int_eq(net_backward(m, labels, NULL, NULL, NULL), EMO_OK);
    net_forward(m, x, 3, 0);
    float before[3 * 7];
    memcpy(before, net_logits(m), sizeof before);
    const char extra[] = "optimizer state goes here";
    EmoError err;
    ck_assert_int_eq(net_save(m, path, extra, sizeof extra, &err), EMO_OK);

    NetModel *m2;
    uint8_t *ex;
    size_t nex;
    ck_assert_int_eq(net_load(&m2, path, 3, &ex, &nex, &err), EMO_OK);
    ck_assert_uint_eq(nex, sizeof extra);
    ck_assert_mem_eq(ex, extra, sizeof extra);
    free(ex);
    const NetConfig *c = net_config(m2);
    ck_assert_uint_eq(c->input_h, 20);
    ck_assert_float_eq(c->input_mean, 0.5f);
    ck_assert_uint_eq(c->module_width[1], 12);
    ck_assert_str_eq(c->class_names[3], "happy");
    ck_assert_int_eq(net_max_batch(m2), 3);
    /* the same batch gives bit-identical logits */
    net_forward(m2, x, 3, 0);
    ck_assert_mem_eq(net_logits(m2), before, sizeof before);
    /* a smaller batch: the same up to GEMM blocking (last bits may differ) */
    net_forward(m2, x + 20 * 20, 2, 0);
    for (int i = 0; i < 2 * 7; i++) ck_assert_float_eq_tol(net_logits(m2)[i], before[7 + i], 1e-5);
    /* without an extra blob */
    ck_assert_int_eq(net_save(m2, path, NULL, 0, &err), EMO_OK);
    NetModel *m3;
    ck_assert_int_eq(net_load(&m3, path, 1, &ex, &nex, &err), EMO_OK);
    ck_assert_ptr_null(ex);
    ck_assert_uint_eq(nex, 0);
    net_free(m3);
    net_free(m2);
    net_free(m);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* Writes a valid file and returns its bytes. */
static uint8_t *valid_file(const char *path, size_t *size)
{
    NetModel *m = small_model();
    ck_assert_int_eq(net_save(m, path, "xy", 2, NULL), EMO_OK);
    net_free(m);
    uint8_t *d;
    ck_assert_int_eq(emo_read_file(path, 0, &d, size, NULL), EMO_OK);
    return d;
}

/* Loading path must fail with status want and a message naming the file
 * and containing `word`. */
static void expect_load_error(const char *path, EmoStatus want, const char *word)
{
    NetModel *m = (NetModel *)1;
    EmoError err;
    EmoStatus s = net_load(&m, path, 1, NULL, NULL, &err);
    ck_assert_msg(s == want, "%s: status %s, want %s (%s)", word, emo_status_name(s), emo_status_name(want), err.msg);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, word) != NULL, "message lacks '%s': %s", word, err.msg);
}

START_TEST(truncated_files_are_refused)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "t.emomodel");
    size_t size;
    uint8_t *good = valid_file(path, &size);
    const size_t cuts[] = {0, 5, 15, 100, 1000, size / 2, size - 9, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ts_write(path, good, cuts[i]);
        /* too short for a magic: "not an emo model"; else "truncated" */
        if (cuts[i] < 16)
            expect_load_error(path, EMO_ERR_FORMAT, "magic");
        else
            expect_load_error(path, EMO_ERR_CORRUPT, "truncated");
    }
    /* one byte too many */
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, good, size);
    longer[size] = 0;
    ts_write(path, longer, size + 1);
    expect_load_error(path, EMO_ERR_CORRUPT, "trailing");
    free(longer);
    free(good);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(flipped_bytes_are_detected)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "f.emomodel");
    size_t size;
    uint8_t *good = valid_file(path, &size);
    /* header config, class names, parameters, buffers, extra, checksum */
    const size_t at[] = {20, 200, 1200, size / 2, size - 12, size - 10, size - 3};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        good[at[i]] ^= 0x10;
        ts_write(path, good, size);
        expect_load_error(path, EMO_ERR_CORRUPT, "checksum");
        good[at[i]] ^= 0x10;
    }
    ts_write(path, good, size);
    NetModel *m;
    ck_assert_int_eq(net_load(&m, path, 1, NULL, NULL, NULL), EMO_OK);
    net_free(m);
    free(good);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(newer_version_and_bad_magic)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "v.emomodel");
    size_t size;
    uint8_t *good = valid_file(path, &size);
    good[8] = (uint8_t)(EMO_MODEL_VERSION + 1); /* u32 version at offset 8 */
    ts_write(path, good, size);
    expect_load_error(path, EMO_ERR_VERSION, "newer");
    good[8] = (uint8_t)EMO_MODEL_VERSION;
    good[0] = 'X';
    ts_write(path, good, size);
    expect_load_error(path, EMO_ERR_FORMAT, "magic");
    char *missing = emo_path_join(dir, "absent.emomodel");
    expect_load_error(missing, EMO_ERR_NOT_FOUND, "absent");
    free(missing);
    free(good);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(arrays_must_fit_the_config)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "c.emomodel");
    EmoModel f = {0};
    net_config_default(&f.cfg);
    float p[10] = {0}, b[4] = {0};
    f.params = p;
    f.n_params = 10; /* the default net has 225159 */
    f.buffers = b;
    f.n_buffers = 4;
    ck_assert_int_eq(emo_model_write(path, &f, NULL), EMO_OK);
    expect_load_error(path, EMO_ERR_FORMAT, "do not fit");
    /* the writer refuses an insane config */
    f.cfg.n_classes = 0;
    EmoError err;
    ck_assert_int_eq(emo_model_write(path, &f, &err), EMO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "classes"));
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("model_file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_same_logits);
    tcase_add_test(tc, truncated_files_are_refused);
    tcase_add_test(tc, flipped_bytes_are_detected);
    tcase_add_test(tc, newer_version_and_bad_magic);
    tcase_add_test(tc, arrays_must_fit_the_config);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
