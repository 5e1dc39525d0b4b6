/* test_fs.c: atomic files and file helpers (formats/emo_fs.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_fs.h"
#include "test_support.h"

START_TEST(atomic_commit_replaces_and_abort_keeps_old)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "out.txt");
    EmoError err;
    ck_assert_int_eq(emo_write_file_atomic(path, "old", 3, &err), EMO_OK);

    EmoAtomicFile f;
    ck_assert_int_eq(emo_atomic_open(&f, path, &err), EMO_OK);
    fputs("new but abandoned", f.fp);
    emo_atomic_abort(&f);
    size_t n;
    char *s = ts_slurp(path, &n);
    ck_assert_str_eq(s, "old");
    free(s);

    ck_assert_int_eq(emo_atomic_open(&f, path, &err), EMO_OK);
    fputs("new", f.fp);
    ck_assert_int_eq(emo_atomic_commit(&f, &err), EMO_OK);
    s = ts_slurp(path, &n);
    ck_assert_str_eq(s, "new");
    free(s);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(write_error_is_reported_and_old_file_survives)
{
    /* /dev/full fails every write with ENOSPC: the commit must fail. */
    struct stat st;
    if (stat("/dev/full", &st) != 0) return;
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "out.bin");
    EmoError err;
    ck_assert_int_eq(emo_write_file_atomic(path, "good", 4, &err), EMO_OK);
    EmoAtomicFile f;
    ck_assert_int_eq(emo_atomic_open(&f, path, &err), EMO_OK);
    FILE *full = fopen("/dev/full", "wb");
    ck_assert_ptr_nonnull(full);
    fclose(f.fp);
    f.fp = full; /* every write now fails like a full disk */
    fputs("data that will not fit", f.fp);
    ck_assert_int_eq(emo_atomic_commit(&f, &err), EMO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "out.bin"));
    char *s = ts_slurp(path, NULL);
    ck_assert_str_eq(s, "good");
    free(s);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(read_file_limits_and_missing)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "f");
    ts_write(path, "0123456789", 10);
    uint8_t *d;
    size_t n;
    EmoError err;
    ck_assert_int_eq(emo_read_file(path, 5, &d, &n, &err), EMO_ERR_TOO_LARGE);
    ck_assert_int_eq(emo_read_file(path, 0, &d, &n, &err), EMO_OK);
    ck_assert_uint_eq(n, 10);
    free(d);
    char *missing = emo_path_join(dir, "nope");
    ck_assert_int_eq(emo_read_file(missing, 0, &d, &n, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
    free(missing);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(mkdir_p_and_remove_tree)
{
    char *dir = ts_tempdir();
    char *deep = emo_path_join(dir, "a/b/c");
    ck_assert_int_eq(emo_mkdir_p(deep, NULL), EMO_OK);
    ck_assert_int_eq(emo_mkdir_p(deep, NULL), EMO_OK);
    struct stat st;
    ck_assert_int_eq(stat(deep, &st), 0);
    ck_assert_int_eq(emo_remove_tree(dir, NULL), EMO_OK);
    ck_assert_int_ne(stat(dir, &st), 0);
    free(deep);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fs");
    TCase *tc = tcase_create("fs");
    tcase_add_test(tc, atomic_commit_replaces_and_abort_keeps_old);
    tcase_add_test(tc, write_error_is_reported_and_old_file_survives);
    tcase_add_test(tc, read_file_limits_and_missing);
    tcase_add_test(tc, mkdir_p_and_remove_tree);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
