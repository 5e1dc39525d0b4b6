/* bench_ingest_decode.c: the plain decode rate of an image folder, the
 * yardstick for emoingest's throughput (tests/bench/bench_ingest.sh).
 *
 * Lists the folder with the same sorted walk emoingest uses, then reads and
 * decodes every file to gray exactly as ingest does (ingest_read_file +
 * emo_image_decode), in parallel over files with OpenMP, and nothing else:
 * no detection, cropping, hashing or writing. Prints one line:
 *   decode images=N seconds=S images_per_s=R threads=T
 * usage: bench_ingest_decode [--threads N] DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "emo_image.h"
#include "ingest_process.h"
#include "ingest_walk.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = 1;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else dir = argv[i];
    }
    if (!dir || threads < 1) {
        fprintf(stderr, "usage: bench_ingest_decode [--threads N] DIR\n");
        return 2;
    }
    IngestWalk *w;
    EmoError err;
    if (ingest_walk_open(&w, dir, NULL, &err) != EMO_OK) {
        fprintf(stderr, "bench_ingest_decode: %s\n", err.msg);
        return 1;
    }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    IngestItem it;
    while (ingest_walk_next(w, &it, &err) == EMO_OK) {
        if (it.kind == INGEST_ITEM_FILE) {
            if (n == cap) paths = realloc(paths, (cap = cap ? cap * 2 : 1024) * sizeof *paths);
            paths[n++] = it.source;
            it.source = NULL;
        }
        ingest_item_free(&it);
    }
    ingest_walk_close(w);
    long failed = 0;
    double t0 = now_s();
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) reduction(+ : failed)
    for (size_t i = 0; i < n; i++) {
        uint8_t *data;
        size_t size;
        EmoImage img = {0};
        EmoDecodeOptions o = {.want_channels = 1};
        if (ingest_read_file(paths[i], 0, &data, &size, NULL) != EMO_OK) {
            failed++;
            continue;
        }
        if (emo_image_decode(data, size, paths[i], &o, &img, NULL) != EMO_OK) failed++;
        emo_image_free(&img);
        free(data);
    }
    double t = now_s() - t0;
    printf("decode images=%zu seconds=%.3f images_per_s=%.0f threads=%d failed=%ld\n", n, t, t > 0 ? n / t : 0,
           threads, failed);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return failed ? 1 : 0;
}
