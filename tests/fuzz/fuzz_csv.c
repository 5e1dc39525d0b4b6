/* fuzz_csv.c: the streaming FER2013 CSV reader (ingest/ingest_csv.h), fed
 * from memory through fmemopen, read to the end.
 *
 * Besides memory safety the target checks the reader's promise that no row
 * is lost silently: every non-blank line after the header (or every line of
 * a headerless file) comes out as exactly one item, a record or a named
 * bad-row reject, and its source_row is its 1-based line number. A record
 * holds side*side pixels. (This promise caught lines glued together after
 * a NUL byte: regressions/fuzz_csv/nul-byte-merges-next-row.csv.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_csv.h"
#include "ingest_types.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

/* Line numbers (1-based) of the lines the reader should turn into items:
 * lines split at '\n', a trailing '\r' dropped, blank = only spaces/tabs. */
static int64_t *fuzz_expected_rows(const uint8_t *data, size_t size, size_t *n)
{
    int64_t *rows = malloc((size + 1) * sizeof *rows);
    fuzz_check(rows != NULL);
    *n = 0;
    int64_t line = 0;
    size_t start = 0;
    while (start < size) {
        size_t end = start;
        while (end < size && data[end] != '\n') end++;
        line++;
        size_t len = end - start;
        if (len && data[start + len - 1] == '\r') len--;
        int blank = 1;
        for (size_t i = 0; i < len; i++)
            if (data[start + i] != ' ' && data[start + i] != '\t') blank = 0;
        if (!blank) rows[(*n)++] = line;
        start = end + 1;
    }
    return rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0; /* fmemopen of 0 bytes is not portable */
    FILE *fp = fmemopen((void *)data, size, "rb");
    fuzz_check(fp != NULL);
    IngestCsv *c;
    EmoError err;
    EmoStatus s = ingest_csv_open_stream(&c, fp, "fuzz.csv", NULL, &err);
    if (s != EMO_OK) {
        fuzz_check(c == NULL && strstr(err.msg, "fuzz.csv") != NULL);
        fclose(fp);
        return 0;
    }
    size_t nexp;
    int64_t *rows = fuzz_expected_rows(data, size, &nexp);
    /* A header line is not a row; a headerless file's first line is. */
    size_t k = 0;
    int headerless = -1;
    IngestItem it;
    while ((s = ingest_csv_next(c, &it, &err)) == EMO_OK) {
        fuzz_check(it.source != NULL && strcmp(it.source, "fuzz.csv") == 0);
        if (headerless < 0) headerless = it.source_row == 1;
        if (it.kind == INGEST_ITEM_PIXELS) {
            fuzz_check(it.width > 0 && it.width == it.height);
            fuzz_check(it.nbytes == (size_t)it.width * (size_t)it.height && it.bytes != NULL);
            fuzz_check(it.label >= -1 && it.label < 7);
        } else {
            fuzz_check(it.kind == INGEST_ITEM_REJECT && it.reason == INGEST_REJ_BAD_CSV_ROW);
            fuzz_check(it.detail != NULL && strstr(it.detail, "fuzz.csv") != NULL);
        }
        fuzz_check(it.split >= INGEST_SPLIT_NONE && it.split <= INGEST_SPLIT_TEST);
        /* Item k is expected line k (+1 past the header). */
        size_t want = headerless ? k : k + 1;
        fuzz_check(want < nexp && it.source_row == rows[want]);
        k++;
        ingest_item_free(&it);
    }
    fuzz_check(s == EMO_ERR_EOF);
    if (headerless < 0) headerless = 0;
    fuzz_check(k + (headerless ? 0 : 1) == nexp || (nexp == 0 && k == 0));
    free(rows);
    ingest_csv_close(c);
    fclose(fp);
    return 0;
}
