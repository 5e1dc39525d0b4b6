/* ingest_types.h: the vocabulary every ingest piece shares: splits, reject
 * reasons, and the input item that travels from a source (folder walk, CSV,
 * URL list, crawl) to the processing stage.
 *
 * An item carries exactly one payload: a file path to read, encoded bytes
 * already in memory (downloads), raw gray pixels (CSV rows), or a reject the
 * source already decided (bad CSV row, symlink loop, HTTP 404). Rejects travel
 * in the same ordered stream as images so the report lists them in input
 * order, whatever the thread count. */
#ifndef INGEST_TYPES_H
#define INGEST_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"

typedef enum {
    INGEST_SPLIT_NONE = -1,  /* the source does not say */
    INGEST_SPLIT_TRAIN = 0,
    INGEST_SPLIT_VAL = 1,
    INGEST_SPLIT_TEST = 2,
} IngestSplit;
#define INGEST_NUM_SPLITS 3

/* Why an input produced no record. The names are stable: they are the
 * "reason" strings of ingest-report.json. */
typedef enum {
    INGEST_OK = 0,
    INGEST_REJ_UNREADABLE,     /* open/read failed (permissions, dangling link, I/O) */
    INGEST_REJ_EMPTY,          /* zero-byte file or body */
    INGEST_REJ_NOT_FILE,       /* fifo, socket, device */
    INGEST_REJ_SYMLINK_LOOP,   /* a directory reached again through a link, or ELOOP */
    INGEST_REJ_TOO_DEEP,       /* directory nesting over the walk limit */
    INGEST_REJ_NOT_IMAGE,      /* bytes are neither PNG nor JPEG */
    INGEST_REJ_CORRUPT,        /* PNG/JPEG that fails to decode (truncated, damaged) */
    INGEST_REJ_TOO_LARGE,      /* over --max-pixels or --max-bytes */
    INGEST_REJ_TOO_SMALL,      /* smaller than --min-input-size */
    INGEST_REJ_NO_FACE,        /* the detector found nothing */
    INGEST_REJ_DUPLICATE,      /* same pixels as an earlier record */
    INGEST_REJ_NEAR_DUPLICATE, /* perceptual hash within --near-threshold of an earlier record */
    INGEST_REJ_BAD_CSV_ROW,    /* short row, non-numeric pixels, unknown emotion, ... */
    INGEST_REJ_BAD_LINE,       /* malformed URL-list line */
    INGEST_REJ_UNKNOWN_LABEL,  /* a label that is no class and not in --labels */
    INGEST_REJ_EXCLUDED,       /* --labels maps it to "skip" */
    INGEST_REJ_HTTP,           /* HTTP status >= 400 (detail "HTTP 404") */
    INGEST_REJ_NETWORK,        /* connect/transport failure after retries */
    INGEST_REJ_TIMEOUT,        /* --timeout reached */
    INGEST_REJ_ROBOTS,         /* disallowed by robots.txt */
    INGEST_REJ_OFF_HOST,       /* crawl link or redirect to another host */
    INGEST_REJ_ERROR,          /* anything else (out of memory, internal) */
    INGEST_REJ__COUNT
} IngestReason;

/* Stable report name of a reason ("not an image", ...). Never NULL. */
const char *ingest_reason_name(IngestReason r);

/* "train", "val", "test", or "none". */
const char *ingest_split_name(int split);

/* Split of a folder or CSV Usage name: train/training, val/valid/validation/
 * publictest/dev, test/testing/privatetest (case-insensitive); else NONE. */
int ingest_split_from_name(const char *name);

typedef enum {
    INGEST_ITEM_FILE = 0,    /* read `source` from disk */
    INGEST_ITEM_BYTES,       /* encoded image in `bytes` */
    INGEST_ITEM_PIXELS,      /* raw 8-bit gray pixels, width x height */
    INGEST_ITEM_REJECT,      /* rejected at the source: `reason`, `detail` */
} IngestItemKind;

typedef struct {
    IngestItemKind kind;
    char *source;            /* path or URL (malloc'd); never NULL */
    int64_t source_row;      /* CSV line number (1-based), or -1 */
    int label;               /* 0..6 or EMO_LABEL_NONE */
    int split;               /* IngestSplit the source says, or INGEST_SPLIT_NONE */
    uint8_t *bytes;          /* BYTES: encoded data; PIXELS: width*height gray (malloc'd) */
    size_t nbytes;
    int width, height;       /* PIXELS only */
    IngestReason reason;     /* REJECT only */
    char *detail;            /* REJECT only: one-line message (malloc'd) */
} IngestItem;

/* Frees the item's strings and buffers and zeroes it; NULL-safe. */
void ingest_item_free(IngestItem *it);

/* Fills *it as a reject with a printf-style detail. Takes a copy of source.
 * Returns EMO_ERR_NOMEM only if the copies fail. */
EmoStatus ingest_item_reject(IngestItem *it, const char *source, int64_t row, IngestReason r,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif /* INGEST_TYPES_H */
