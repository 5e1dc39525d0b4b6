/* ingest_urls.h: a URL list file (--urls FILE), one `URL[<TAB>label]` per
 * line, streamed. '#' lines and blank lines are skipped. The label goes
 * through the label map like a folder name; a line whose label is not a
 * class is rejected ("unknown label"), a line that is not an http(s) URL
 * is rejected ("bad URL line"), both with the line number. */
#ifndef INGEST_URLS_H
#define INGEST_URLS_H

#include <stdint.h>
#include <stdio.h>

#include "emo_error.h"
#include "ingest_labels.h"
#include "ingest_types.h"

typedef struct IngestUrlList IngestUrlList;

typedef struct {
    char *url;          /* malloc'd; NULL when the line is a reject */
    int label;
    int64_t line;
    IngestItem reject;  /* INGEST_ITEM_REJECT when url is NULL */
} IngestUrlLine;

EmoStatus ingest_urls_open(IngestUrlList **u, const char *path, const IngestLabelMap *labels, EmoError *err);

/* Same on an open stream (not closed by ingest_urls_close). */
EmoStatus ingest_urls_open_stream(IngestUrlList **u, FILE *fp, const char *name, const IngestLabelMap *labels,
                                  EmoError *err);

/* The next line. EMO_ERR_EOF at the end. Free with ingest_url_line_free. */
EmoStatus ingest_urls_next(IngestUrlList *u, IngestUrlLine *line, EmoError *err);

void ingest_url_line_free(IngestUrlLine *line);

void ingest_urls_close(IngestUrlList *u);

#endif /* INGEST_URLS_H */
