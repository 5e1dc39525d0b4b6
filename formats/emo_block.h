/* emo_block.h: the records of one shard block, laid out column-wise.
 *
 * A block payload (what one zstd frame decompresses to) stores each field of
 * all its records together: all ids, then all parent ids, ..., all source
 * strings, then all pixels as predictor residuals. Like values next to like
 * values is what lets zstd compress the metadata to almost nothing; the
 * exact layout is in SHARDS.md.
 *
 * EmoBlockBuilder collects copies of records (writer side); emo_block_decode
 * turns a payload back into EmoRecords that point into the payload itself
 * (pixels are un-predicted in place), so reading copies nothing. */
#ifndef EMO_BLOCK_H
#define EMO_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"

/* Largest width/height a record may have (the u16 fields). */
#define EMO_BLOCK_MAX_SIDE 65535

typedef struct {
    uint64_t id, parent_id;
    int64_t source_row;
    int32_t label;
    uint16_t width, height;
    uint8_t channels, origin;
    size_t source_off, params_off, pixels_off;   /* into arena */
    uint32_t source_len, params_len;
} EmoBlockEntry;

typedef struct {
    EmoBlockEntry *entries;
    size_t count, cap;
    uint8_t *arena;           /* strings (NUL-terminated) and raw pixels */
    size_t arena_size, arena_cap;
    size_t pixel_bytes;       /* sum of w*h*c */
} EmoBlockBuilder;

/* Zeroed builder is valid; free releases memory. */
void emo_block_builder_free(EmoBlockBuilder *b);

/* Empties the builder, keeping its memory. */
void emo_block_builder_reset(EmoBlockBuilder *b);

/* Copies *rec in. Checks the record is well formed (size, channels, label,
 * origin); rec->id of 0 is replaced by the hash of the pixels. */
EmoStatus emo_block_builder_add(EmoBlockBuilder *b, const EmoRecord *rec, EmoError *err);

/* Serializes the records into *out (malloc'd, grown as needed; *cap is its
 * size), choosing for each record the predictor in `predictors` (bit mask of
 * 1u << EmoPredictor) with the smallest estimated residual size. */
EmoStatus emo_block_encode(const EmoBlockBuilder *b, uint32_t predictors, uint8_t **out, size_t *cap,
                           size_t *out_size, EmoError *err);

/* Parses a payload in place: pixels are un-predicted inside `payload` (or,
 * for interleaved groups, into *pixbuf, malloc'd/grown, *pixcap its size),
 * and records[0..*count) point into those buffers. *records is
 * malloc'd/grown (*rcap is its length). Every length is checked against the
 * payload size before anything is decoded: a malformed payload is
 * EMO_ERR_CORRUPT with the reason in err (the caller prefixes the shard and
 * block). */
EmoStatus emo_block_decode(uint8_t *payload, size_t size, uint8_t **pixbuf, size_t *pixcap, EmoRecord **records,
                           size_t *rcap, size_t *count, EmoError *err);

#endif /* EMO_BLOCK_H */
