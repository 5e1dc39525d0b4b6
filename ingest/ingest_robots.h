/* ingest_robots.h: robots.txt rules (RFC 9309) for the crawler.
 *
 * The group for our product token (case-insensitive, e.g. "emoingest") is
 * used if there is one, else the "*" group; several groups naming the same
 * agent are merged. The longest matching Allow/Disallow pattern decides,
 * Allow winning a tie; '*' matches any run of characters and a final '$'
 * anchors the end. "/robots.txt" itself is always allowed. Crawl-delay (not
 * in the RFC, but widely used) is read from the same group. */
#ifndef INGEST_ROBOTS_H
#define INGEST_ROBOTS_H

#include <stddef.h>

#include "emo_error.h"

typedef struct IngestRobots IngestRobots;

/* Parses robots.txt text for `agent`. Never fails on content (unknown lines
 * are ignored); errors only for memory. */
EmoStatus ingest_robots_parse(const char *text, size_t size, const char *agent, IngestRobots **r, EmoError *err);

/* Rules for the cases where there is no usable robots.txt: allow_all = 1
 * (a 4xx answer: no rules) or 0 (5xx or unreachable: RFC 9309 says assume
 * everything is disallowed). */
EmoStatus ingest_robots_fixed(int allow_all, IngestRobots **r, EmoError *err);

/* 1 if `path` ("/a/b?q") may be fetched. */
int ingest_robots_allowed(const IngestRobots *r, const char *path);

/* Crawl-delay in seconds, 0 if none. */
double ingest_robots_crawl_delay(const IngestRobots *r);

void ingest_robots_free(IngestRobots *r);

#endif /* INGEST_ROBOTS_H */
