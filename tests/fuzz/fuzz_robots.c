/* fuzz_robots.c: robots.txt parsing and matching (ingest/ingest_robots.h),
 * text any crawled host serves.
 *
 * The input is the robots.txt; the target then asks about a few fixed paths
 * and about paths made from the input itself (each line, so patterns meet
 * paths built to match them: the matcher's '*' and '$' backtracking must
 * stay fast on hostile patterns). "/robots.txt" is always allowed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_robots.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    IngestRobots *r;
    EmoError err;
    EmoStatus s = ingest_robots_parse((const char *)data, size, "emoingest", &r, &err);
    if (s != EMO_OK) {
        fuzz_check(s == EMO_ERR_NOMEM);
        return 0;
    }
    static const char *const paths[] = {"/", "/a", "/img/face.jpg", "/a/b?c=d", "/%41", "/x$", ""};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        int a = ingest_robots_allowed(r, paths[i]);
        fuzz_check(a == 0 || a == 1);
    }
    fuzz_check(ingest_robots_allowed(r, "/robots.txt") == 1);
    double d = ingest_robots_crawl_delay(r);
    fuzz_check(d >= 0 && d < 3600);
    /* Each line of the input, as a path (at most 64 lines). */
    char *buf = malloc(size + 2);
    fuzz_check(buf != NULL);
    size_t start = 0;
    for (int lines = 0; start <= size && lines < 64; lines++) {
        size_t end = start;
        while (end < size && data[end] != '\n') end++;
        buf[0] = '/';
        memcpy(buf + 1, data + start, end - start);
        buf[1 + end - start] = 0;
        int a = ingest_robots_allowed(r, buf);
        fuzz_check(a == 0 || a == 1);
        start = end + 1;
    }
    free(buf);
    ingest_robots_free(r);
    return 0;
}
