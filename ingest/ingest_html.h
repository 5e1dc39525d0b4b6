/* ingest_html.h: the links of an HTML page, found with libxml2's HTML
 * parser (which recovers from the broken markup real pages have).
 *
 * Collected, in document order: <img src>, the first candidate of
 * <img srcset> when there is no src, <a href>, <link rel=image_src href>;
 * <base href> changes the base URL as browsers do. Links are resolved to
 * absolute http(s) URLs without fragments; others (mailto:, javascript:,
 * data:) are dropped. */
#ifndef INGEST_HTML_H
#define INGEST_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"

typedef struct {
    char *url;     /* absolute, malloc'd */
    int is_image;  /* 1 = from an <img>, 0 = a page link */
} IngestLink;

/* Extracts links from `size` bytes of HTML fetched from base_url. *links is
 * malloc'd (free with ingest_links_free). Errors only for memory. */
EmoStatus ingest_html_links(const uint8_t *html, size_t size, const char *base_url, IngestLink **links, int *n,
                            EmoError *err);

void ingest_links_free(IngestLink *links, int n);

/* 1 if the bytes look like HTML (a tag near the start) or the content type
 * says so. */
int ingest_html_is_html(const uint8_t *data, size_t size, const char *content_type);

#endif /* INGEST_HTML_H */
