/* emo_fs.h: atomic output files and small file helpers.
 *
 * Every emo writer follows one rule: a file appears under its final name only
 * when complete. EmoAtomicFile writes "<path>.tmp-<pid>", fsyncs, and renames
 * over <path> on commit; abort (or a crash) leaves the old <path> untouched
 * and at most a stray temp file, which the next run ignores and overwrites. */
#ifndef EMO_FS_H
#define EMO_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "emo_error.h"

typedef struct {
    FILE *fp;          /* write through this (fwrite/fprintf) */
    char *path;        /* final name */
    char *tmp_path;    /* temp name in the same directory */
} EmoAtomicFile;

/* Opens a temp file beside `path` for writing. */
EmoStatus emo_atomic_open(EmoAtomicFile *f, const char *path, EmoError *err);

/* Flushes, fsyncs and renames the temp file to its final name. Any write
 * error seen on the stream (disk full) fails here and removes the temp file;
 * the previous file under `path`, if any, stays as it was. Frees f. */
EmoStatus emo_atomic_commit(EmoAtomicFile *f, EmoError *err);

/* Closes and removes the temp file; the final name is untouched. Frees f.
 * Safe on a zeroed or already-finished EmoAtomicFile. */
void emo_atomic_abort(EmoAtomicFile *f);

/* Writes `size` bytes to `path` atomically (open + fwrite + commit). */
EmoStatus emo_write_file_atomic(const char *path, const void *data, size_t size, EmoError *err);

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience,
 * the terminator is not counted in *size). Fails with EMO_ERR_TOO_LARGE if
 * the file exceeds max_bytes (0 = no limit). */
EmoStatus emo_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, EmoError *err);

/* mkdir -p. Existing directories are fine. */
EmoStatus emo_mkdir_p(const char *path, EmoError *err);

/* rm -r of a directory tree (no symlink following, any depth: no PATH_MAX
 * or open-file limit). Missing path is fine; a path that is not a directory
 * is unlinked. */
EmoStatus emo_remove_tree(const char *path, EmoError *err);

/* Joins a directory and a name with one '/' into a malloc'd string. */
char *emo_path_join(const char *dir, const char *name);

#endif /* EMO_FS_H */
