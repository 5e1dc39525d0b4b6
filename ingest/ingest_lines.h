/* ingest_lines.h: the bounded line reader of the text inputs (the FER2013
 * CSV and URL lists).
 *
 * Byte by byte rather than fgets: fgets cannot say how much it read when a
 * line holds a NUL byte, and strlen() then glued that line to the next or
 * cut it in two (fuzz_csv and fuzz_urls found both; tests/RELIABILITY.md
 * bugs 2, 5 and 10). Here a line is whatever lies between newlines, its
 * length is counted, and a NUL inside it is reported as a flag, so each
 * reader can reject that line by its number instead of losing it. Memory is
 * bounded: a line longer than the limit is read to its end but kept
 * truncated, and flagged. */
#ifndef INGEST_LINES_H
#define INGEST_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    INGEST_LINE_TOO_LONG = 1,   /* longer than the limit: kept truncated */
    INGEST_LINE_HAS_NUL = 2     /* holds a NUL byte */
};

typedef struct {
    FILE *fp;
    size_t max;          /* longest line kept, in bytes */
    char *buf;           /* the current line, NUL-terminated after its length */
    size_t cap;
    int64_t lineno;      /* 1-based number of the current line */
    uint64_t bytes_read; /* bytes consumed from fp, newlines included */
} IngestLines;

/* Reads from fp (not owned), keeping lines of up to `max` bytes. */
void ingest_lines_init(IngestLines *r, FILE *fp, size_t max);

/* The next line in r->buf, without its '\n' and a trailing '\r'; *len is
 * its length (bytes kept), *flags a mix of INGEST_LINE_*. Returns 1 on a
 * line, 0 at the end of the input (text after the last newline is a line;
 * nothing after it is not), -1 on a read error or when out of memory
 * (errno says which). */
int ingest_lines_next(IngestLines *r, size_t *len, int *flags);

void ingest_lines_free(IngestLines *r);

#endif /* INGEST_LINES_H */
