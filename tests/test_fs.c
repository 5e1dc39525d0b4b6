/* test_fs.c: atomic files and file helpers (formats/emo_fs.h). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A file of `n` bytes at `name` under the directory `fd`. */
static void put_file_at(int fd, const char *name, size_t n)
{
    int f = openat(fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(f, 0);
    char buf[64] = {0};
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        ck_assert_int_eq(write(f, buf, k), (ssize_t)k);
        n -= k;
    }
    close(f);
}

/* A tree 1500 levels deep (paths ~6 KB, past PATH_MAX), with files, side
 * directories and a symlink to a directory outside it at many levels, and
 * an open-file limit far below its depth: all of it goes, and nothing the
 * symlinks point at. (Bug 8 in tests/RELIABILITY.md: nftw stopped at
 * PATH_MAX.) */
START_TEST(remove_tree_any_depth_no_symlink_following)
{
    char *top = ts_tempdir();
    char *tree = emo_path_join(top, "tree"), *outside = emo_path_join(top, "outside");
    ck_assert_int_eq(emo_mkdir_p(tree, NULL), EMO_OK);
    ck_assert_int_eq(emo_mkdir_p(outside, NULL), EMO_OK);
    char *keep = emo_path_join(outside, "keep.txt");
    int ofd = open(outside, O_RDONLY | O_DIRECTORY);
    put_file_at(ofd, "keep.txt", 10);
    close(ofd);
    int fd = open(tree, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 1500; i++) {
        if (i % 100 == 0) {
            put_file_at(fd, "f.bin", 100);
            ck_assert_int_eq(mkdirat(fd, "side", 0755), 0);
            ck_assert_int_eq(symlinkat(outside, fd, "link"), 0);
        }
        ck_assert_int_eq(mkdirat(fd, "dir", 0755), 0);
        int nfd = openat(fd, "dir", O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(nfd, 0);
        close(fd);
        fd = nfd;
    }
    put_file_at(fd, "bottom.bin", 1);
    close(fd);

    struct rlimit old, low = {.rlim_cur = 64, .rlim_max = 0};
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low.rlim_max = old.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    EmoError err;
    EmoStatus s = emo_remove_tree(tree, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_msg(s == EMO_OK, "%s", err.msg);
    struct stat st;
    ck_assert_int_ne(lstat(tree, &st), 0);
    ck_assert_int_eq(stat(keep, &st), 0); /* the symlinks' target survived */
    ck_assert_int_eq(emo_remove_tree(tree, NULL), EMO_OK); /* missing is fine */

    /* a plain file is unlinked */
    ck_assert_int_eq(emo_remove_tree(keep, NULL), EMO_OK);
    ck_assert_int_ne(stat(keep, &st), 0);
    emo_remove_tree(top, NULL);
    free(keep);
    free(tree);
    free(outside);
    free(top);
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
    tcase_add_test(tc, remove_tree_any_depth_no_symlink_following);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
