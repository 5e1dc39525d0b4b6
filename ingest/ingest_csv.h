/* ingest_csv.h: a FER2013-style CSV (emotion, pixels, Usage) streamed one
 * line at a time into input items; the whole file is never in memory.
 *
 * Accepted variants: any column order (found from the header: "emotion" or
 * "label"; "pixels"; "Usage" or "split"; other columns ignored), a space
 * after commas, quoted fields, CRLF line ends, a UTF-8 BOM, no header at all
 * (then the Kaggle order emotion,pixels,Usage is assumed). Emotion is the
 * Kaggle code 0..6 (mapped with emo_class_from_kaggle) or a class name;
 * empty means unlabeled. Usage Training/PublicTest/PrivateTest (or
 * train/val/test) sets the split; empty means "not given". Pixels are N
 * space-separated values 0..255 with N a square (2304 = 48x48).
 *
 * A malformed row becomes an INGEST_REJ_BAD_CSV_ROW item naming the line
 * number and the reason; reading continues with the next line. Lines are
 * numbered from 1 in the file (the header is line 1), which is what
 * source_row holds for the records. */
#ifndef INGEST_CSV_H
#define INGEST_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "emo_error.h"
#include "ingest_labels.h"
#include "ingest_types.h"

typedef struct IngestCsv IngestCsv;

/* Opens a CSV file and reads its header. EMO_ERR_FORMAT if the first line
 * is neither a usable header nor a data row. */
EmoStatus ingest_csv_open(IngestCsv **c, const char *path, const IngestLabelMap *labels, EmoError *err);

/* The same on an open stream (not closed by ingest_csv_close); `name` is the
 * source recorded in items and messages. Lets tests and fuzzers feed memory
 * through fmemopen. */
EmoStatus ingest_csv_open_stream(IngestCsv **c, FILE *fp, const char *name, const IngestLabelMap *labels,
                                 EmoError *err);

/* Next item: INGEST_ITEM_PIXELS or a bad-row reject. EMO_ERR_EOF at the
 * end; EMO_ERR_IO on a read error. */
EmoStatus ingest_csv_next(IngestCsv *c, IngestItem *it, EmoError *err);

/* Bytes consumed so far and the file size (0 if unknown), for progress. */
uint64_t ingest_csv_bytes_read(const IngestCsv *c);
uint64_t ingest_csv_size(const IngestCsv *c);

void ingest_csv_close(IngestCsv *c);

/* 1 if `path` should be read as a CSV: it ends in .csv (any case), or its
 * first line has a "pixels" column. */
int ingest_csv_is_csv(const char *path);

#endif /* INGEST_CSV_H */
