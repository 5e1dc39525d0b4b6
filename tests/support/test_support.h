/* test_support.h: helpers shared by the Check suites.
 *
 * Suites create their scratch files under a fresh temp directory, run the
 * built programs through EMO_BIN (set by scripts/run_tests.sh), and find the
 * project's shared data (../shared/data) when it is there; tests that need it
 * skip themselves (with a message) when it is not, so the suite runs anywhere. */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. Aborts the test on failure. */
char *ts_tempdir(void);

/* rm -r (for cleanup). */
void ts_rmtree(const char *path);

/* Path of a built program, e.g. ts_bin("emoshard"); malloc'd. */
char *ts_bin(const char *prog);

/* Runs a shell command line; returns its exit status (0..255), or -1 if it
 * did not exit normally. stdout+stderr go to `out_path` when non-NULL. */
int ts_run(const char *out_path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file into a malloc'd NUL-terminated string (NULL if missing). */
char *ts_slurp(const char *path, size_t *size);

/* Writes bytes to a file; aborts the test on failure. */
void ts_write(const char *path, const void *data, size_t size);

/* The shared data folder (../shared/data relative to the repo root, or
 * $EMO_SHARED_DATA) if it exists, else NULL. Static string. */
const char *ts_shared_data(void);

/* Deterministic pseudo-random bytes/images for tests (xorshift64*). */
uint64_t ts_rand(uint64_t *state);

#endif
