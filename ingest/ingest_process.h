/* ingest_process.h: one input item -> zero or more face crops, the part of
 * ingest that runs in parallel. It reads (files), decodes (PNG/JPEG, to
 * gray), checks size, then either passes a face-sized image through
 * (centre square, resized to --size) or detects and aligns faces, and
 * computes each crop's content id and perceptual hash.
 *
 * It has no side effects beyond its result: dedup, split and writing happen
 * afterwards, in input order, so the output never depends on scheduling. */
#ifndef INGEST_PROCESS_H
#define INGEST_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_face.h"
#include "ingest_phash.h"
#include "ingest_types.h"

typedef enum {
    INGEST_DETECT_AUTO = 0,   /* pass face-sized images through, detect in larger ones */
    INGEST_DETECT_ALWAYS,
    INGEST_DETECT_NEVER,      /* centre square of every image, resized */
} IngestDetectMode;

typedef enum {
    INGEST_PATH_PASS = 0,     /* face-sized input, resized */
    INGEST_PATH_ALIGNED,      /* detected, aligned on both eyes */
    INGEST_PATH_BOX,          /* detected, eyes not found: box crop */
    INGEST_PATH__COUNT
} IngestFacePath;

typedef struct {
    int size;                          /* output side */
    IngestDetectMode detect;
    int min_input;                     /* smaller sides are "too small" */
    uint64_t max_pixels;               /* decode limit; 0 = library default */
    uint64_t max_file_bytes;           /* files over this are "too large"; 0 = none */
    const IngestFaceEngine *faces;     /* NULL when detect is NEVER */
    const IngestPhash *phash;
} IngestProcessConfig;

typedef struct {
    uint8_t *pixels;                   /* size x size gray, malloc'd */
    uint64_t id;                       /* emo_record_hash_pixels */
    uint64_t phash;
    IngestFacePath path;
    int box[4];                        /* x y w h in the input image (pass: the square used) */
    int eyes_found;
    double eyes[4];                    /* left x,y right x,y (if eyes_found) */
    double angle_deg;
} IngestCrop;

typedef struct {
    IngestReason reason;               /* INGEST_OK when crops were produced */
    char *detail;                      /* malloc'd one-line message for rejects */
    int img_w, img_h;
    int ncrops;
    IngestCrop *crops;
} IngestResult;

/* The "face-sized" rule of --detect auto: both sides <= 2*size and aspect
 * ratio within 1.25 (FER2013's 48x48, CK+/JAFFE crops, thumbnails). */
int ingest_is_face_sized(int w, int h, int size);

/* Processes one item. Never fails as a call: every problem becomes
 * res->reason + res->detail. */
void ingest_process_item(const IngestProcessConfig *cfg, const IngestItem *it, IngestResult *res);

void ingest_result_free(IngestResult *res);

/* Reads a regular file without ever blocking on a fifo (O_NONBLOCK, then
 * fstat). max_bytes 0 = no limit. Errors: EMO_ERR_IO (errno text),
 * EMO_ERR_NOT_FOUND, EMO_ERR_TOO_LARGE, EMO_ERR_FORMAT (not a regular file). */
EmoStatus ingest_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size, EmoError *err);

#endif /* INGEST_PROCESS_H */
