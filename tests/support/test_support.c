/* test_support.c: helpers shared by the Check suites (see test_support.h). */
#include "test_support.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emo_fs.h"

char *ts_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/emo-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(buf);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

void ts_rmtree(const char *path)
{
    emo_remove_tree(path, NULL);
}

char *ts_bin(const char *prog)
{
    const char *bin = getenv("EMO_BIN");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", bin && *bin ? bin : "build/bin", prog);
    return strdup(buf);
}

int ts_run(const char *out_path, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(n > 0 && (size_t)n < sizeof cmd, "command too long");
    char full[17000];
    if (out_path)
        snprintf(full, sizeof full, "( %s ) >'%s' 2>&1", cmd, out_path);
    else
        snprintf(full, sizeof full, "%s", cmd);
    int st = system(full);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

char *ts_slurp(const char *path, size_t *size)
{
    uint8_t *data;
    size_t n;
    if (emo_read_file(path, 0, &data, &n, NULL) != EMO_OK) return NULL;
    if (size) *size = n;
    return (char *)data;
}

void ts_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(fwrite(data, 1, size, f) == size);
    ck_assert(fclose(f) == 0);
}

const char *ts_shared_data(void)
{
    static char buf[4096];
    const char *env = getenv("EMO_SHARED_DATA");
    struct stat st;
    if (env && *env && stat(env, &st) == 0) return env;
    if (stat("../shared/data", &st) == 0 && S_ISDIR(st.st_mode)) {
        if (realpath("../shared/data", buf)) return buf;
    }
    return NULL;
}

uint64_t ts_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}
