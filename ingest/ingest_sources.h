/* ingest_sources.h: all of a run's inputs as one ordered stream of items:
 * the positional paths in command-line order (folders walked, CSV files
 * streamed, single images read), then each --urls list, then each --crawl.
 *
 * Only mistakes in the command itself are errors here (a positional path
 * that does not exist, a URL list that cannot be opened, a --crawl that is
 * not an http(s) URL): they are found by ingest_sources_open, before any
 * work. Everything wrong with the data becomes a reject item. */
#ifndef INGEST_SOURCES_H
#define INGEST_SOURCES_H

#include "emo_error.h"
#include "ingest_crawl.h"
#include "ingest_http.h"
#include "ingest_labels.h"
#include "ingest_types.h"

typedef struct {
    const char *const *paths;       /* folders, CSV files, image files */
    int npaths;
    const char *const *url_lists;   /* --urls FILE */
    int n_url_lists;
    const char *const *crawls;      /* --crawl URL */
    int ncrawls;
    IngestCrawlOptions crawl;       /* depth, label, max_pages */
    IngestHttpOptions http;
    const IngestLabelMap *labels;
    int max_depth;                  /* folder nesting limit; 0 = 64 */
    int count_files;                /* 1: pre-count folder files for progress */
} IngestSourcesConfig;

typedef struct IngestSources IngestSources;

EmoStatus ingest_sources_open(IngestSources **s, const IngestSourcesConfig *cfg, EmoError *err);

/* Next item, EMO_ERR_EOF when all sources are done. Errors: memory only. */
EmoStatus ingest_sources_next(IngestSources *s, IngestItem *it, EmoError *err);

/* Rough fraction of the inputs consumed (0..1), or -1 when unknown. */
double ingest_sources_progress(const IngestSources *s);

/* A JSON object describing the sources (inputs, folder-walk notes, HTTP
 * and crawl statistics) for the report; malloc'd text. */
char *ingest_sources_report_json(const IngestSources *s);

void ingest_sources_close(IngestSources *s);

#endif /* INGEST_SOURCES_H */
