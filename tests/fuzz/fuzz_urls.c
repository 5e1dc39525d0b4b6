/* fuzz_urls.c: the line-oriented text inputs of emoingest: a URL list
 * (--urls FILE, ingest/ingest_urls.h) and a label map (--labels FILE,
 * ingest/ingest_labels.h). The same bytes are parsed as a label map and
 * then read as a URL list through that map (when it parsed).
 *
 * A URL line must come out as an http(s) URL with a class or no label, or
 * as a reject naming the file and line; line numbers must increase and
 * never exceed the number of lines in the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest_labels.h"
#include "ingest_urls.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    /* Label map: parse from a NUL-terminated copy. */
    char *text = malloc(size + 1);
    fuzz_check(text != NULL);
    memcpy(text, data, size);
    text[size] = 0;
    IngestLabelMap *map = NULL;
    EmoError err;
    if (ingest_labels_parse(text, "fuzz.labels", &map, &err) == EMO_OK) {
        fuzz_check(ingest_labels_count(map) >= 0);
        int l = ingest_labels_resolve(map, "happy");
        fuzz_check(l >= INGEST_LABEL_UNKNOWN && l < 7);
        /* Every line's first word, as a name to resolve. */
        for (char *p = text; *p;) {
            char *e = p;
            while (*e && *e != '\n' && *e != '\t' && *e != ' ') e++;
            char save = *e;
            *e = 0;
            l = ingest_labels_resolve(map, p);
            fuzz_check(l >= INGEST_LABEL_UNKNOWN && l < 7);
            *e = save;
            while (*e && *e != '\n') e++;
            p = *e ? e + 1 : e;
        }
    } else {
        fuzz_check(map == NULL && strstr(err.msg, "fuzz.labels") != NULL);
    }
    free(text);

    /* Physical lines: newline-terminated ones, plus a last unterminated one. */
    int64_t nlines = data[size - 1] != '\n';
    for (size_t i = 0; i < size; i++) nlines += data[i] == '\n';
    FILE *fp = fmemopen((void *)data, size, "rb");
    fuzz_check(fp != NULL);
    IngestUrlList *u;
    fuzz_check(ingest_urls_open_stream(&u, fp, "fuzz.urls", map, &err) == EMO_OK);
    IngestUrlLine line;
    int64_t last = 0;
    EmoStatus s;
    while ((s = ingest_urls_next(u, &line, &err)) == EMO_OK) {
        fuzz_check(line.line > last && line.line <= nlines);
        last = line.line;
        if (line.url) {
            fuzz_check(strncmp(line.url, "http://", 7) == 0 || strncmp(line.url, "https://", 8) == 0 ||
                       strncasecmp(line.url, "http", 4) == 0);
            fuzz_check(line.label >= -1 && line.label < 7);
        } else {
            fuzz_check(line.reject.kind == INGEST_ITEM_REJECT && line.reject.detail != NULL);
            fuzz_check(strstr(line.reject.detail, "fuzz.urls") != NULL);
        }
        ingest_url_line_free(&line);
    }
    fuzz_check(s == EMO_ERR_EOF);
    ingest_urls_close(u);
    fclose(fp);
    ingest_labels_free(map);
    return 0;
}
