/* ingest_lines.c: bounded line reading (see ingest_lines.h). */
#include "ingest_lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ingest_lines_init(IngestLines *r, FILE *fp, size_t max)
{
    memset(r, 0, sizeof *r);
    r->fp = fp;
    r->max = max ? max : 1;
}

/* Room for `need` bytes plus the terminator. */
static int reserve(IngestLines *r, size_t need)
{
    if (need + 1 <= r->cap) return 0;
    size_t nc = r->cap ? r->cap : 4096;
    while (nc < need + 1) nc *= 2;
    if (nc > r->max + 1) nc = r->max + 1;
    char *nb = realloc(r->buf, nc);
    if (!nb) {
        errno = ENOMEM;
        return -1;
    }
    r->buf = nb;
    r->cap = nc;
    return 0;
}

int ingest_lines_next(IngestLines *r, size_t *len_out, int *flags_out)
{
    size_t len = 0;
    int flags = 0, ch = EOF, any = 0;
    if (reserve(r, 0) != 0) return -1;
    while ((ch = getc_unlocked(r->fp)) != EOF) {
        any = 1;
        r->bytes_read++;
        if (ch == '\n') break;
        if (ch == 0) flags |= INGEST_LINE_HAS_NUL;
        if (len == r->max) { /* consume the rest of an overlong line */
            flags |= INGEST_LINE_TOO_LONG;
            continue;
        }
        if (len + 1 >= r->cap && reserve(r, len + 1) != 0) return -1;
        r->buf[len++] = (char)ch;
    }
    if (ch == EOF && ferror(r->fp)) return -1;
    if (!any) return 0;
    if (len > 0 && r->buf[len - 1] == '\r' && !(flags & INGEST_LINE_TOO_LONG)) len--;
    r->buf[len] = 0;
    r->lineno++;
    *len_out = len;
    *flags_out = flags;
    return 1;
}

void ingest_lines_free(IngestLines *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}
