/* replay_main.c: runs a libFuzzer target over its committed corpus without
 * libFuzzer, so every `make test` (gcc, ASan or valgrind builds alike)
 * re-checks each seed input and each crash that fuzzing once found.
 *
 * A target binary replays tests/fuzz/corpus/<target>/ (and regressions/) by
 * default, or the files/directories given on the command line. It prints a
 * one-line summary in the plain "N passed, N failed" form; a crash is a
 * failure of the whole process, as it should be. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, unsigned *count)
{
    uint8_t *data;
    size_t size;
    EmoError err;
    if (emo_read_file(path, 0, &data, &size, &err) != EMO_OK) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return 1;
    }
    /* Copy into an exact-size buffer so ASan sees reads past the end. */
    uint8_t *exact = malloc(size ? size : 1);
    if (size) memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    (*count)++;
    return 0;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0; /* a target may have no regressions yet */
    if (!S_ISDIR(st.st_mode)) return replay_file(path, count);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) return 1;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char *child = emo_path_join(path, names[i]->d_name);
            bad |= replay_path(child, count);
            free(child);
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int bad = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) bad |= replay_path(argv[i], &count);
    } else {
        /* argv[0] ends in the target name, e.g. build/replay/fuzz_png */
        const char *name = strrchr(argv[0], '/');
        name = name ? name + 1 : argv[0];
        char dir[4096];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
        bad |= replay_path(dir, &count);
        snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", name);
        bad |= replay_path(dir, &count);
    }
    printf("replay: %u passed, %d failed\n", count, bad);
    return bad;
}
