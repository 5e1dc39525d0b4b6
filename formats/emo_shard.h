/* emo_shard.h: one shard file: header, zstd-compressed blocks, footer index.
 *
 * This is the container only; what a block's bytes mean (records laid out
 * column-wise) is emo_block.h, and datasets of shards are emo_dataset.h.
 * The byte layout is specified in formats/SHARDS.md:
 *
 *   header   32 B   "EMOSHARD", u32 version, u32 header size, 16 B zero
 *   blocks          one zstd frame each, with the frame checksum (XXH64)
 *   index           per block {u64 offset, u32 csize, u32 usize, u32 records,
 *                   u32 0}, u64 total records, u64 XXH64 of the index
 *   trailer  24 B   u64 index offset, u32 blocks, u32 version, "EMOSHEND"
 *
 * The trailer at a fixed distance from the end lets a reader find the index
 * without scanning, seek to any block, and tell a truncated shard (no
 * trailer) from a damaged one (index or frame checksum mismatch).
 * Integers are little-endian. All errors name the shard file. */
#ifndef EMO_SHARD_H
#define EMO_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"

#define EMO_SHARD_VERSION 1
#define EMO_SHARD_HEADER_BYTES 32
#define EMO_SHARD_TRAILER_BYTES 24
#define EMO_SHARD_INDEX_ENTRY_BYTES 24
/* zstd level when a writer asks for 0 (chosen by measurement, SHARDS.md). */
#define EMO_SHARD_DEFAULT_LEVEL 1
/* A block larger than this is treated as corrupt (and never allocated). */
#define EMO_SHARD_MAX_BLOCK_BYTES (256u * 1024u * 1024u)

typedef struct {
    uint64_t offset;      /* file offset of the block's zstd frame */
    uint32_t csize;       /* compressed bytes (the frame) */
    uint32_t usize;       /* decompressed payload bytes */
    uint32_t records;     /* records in the block */
} EmoShardBlockEntry;

/*-*** Block compression (no file involved) ***/

typedef struct EmoShardCompressor EmoShardCompressor;

/* A zstd compression context at `level` (0 = EMO_SHARD_DEFAULT_LEVEL). */
EmoStatus emo_shard_compressor_create(EmoShardCompressor **c, int level, EmoError *err);
void emo_shard_compressor_free(EmoShardCompressor *c);

/* Compresses one block payload into *out (malloc'd, grown as needed, *cap
 * tracks its size) as a single zstd frame with content size and checksum. */
EmoStatus emo_shard_compress(EmoShardCompressor *c, const void *payload, size_t size,
                             uint8_t **out, size_t *cap, size_t *out_size, EmoError *err);

/*-*** Writer ***/

typedef struct EmoShardWriter EmoShardWriter;

/* Starts `path` (written to a temp name beside it; renamed on close). */
EmoStatus emo_shard_writer_open(EmoShardWriter **w, const char *path, EmoError *err);

/* Appends one compressed frame made by emo_shard_compress. */
EmoStatus emo_shard_writer_add(EmoShardWriter *w, const void *frame, size_t csize, size_t usize,
                               uint32_t records, EmoError *err);

/* Writes index and trailer, fsyncs and renames into place. Reports the file
 * size and the XXH64 of the whole file (for the manifest). Frees w. */
EmoStatus emo_shard_writer_close(EmoShardWriter *w, uint64_t *bytes, uint64_t *xxh64, EmoError *err);

/* Removes the temp file. Frees w; NULL-safe. */
void emo_shard_writer_abort(EmoShardWriter *w);

/*-*** Reader ***/

typedef struct EmoShardReader EmoShardReader;

/* Opens a shard and checks header, trailer and index (magic, version,
 * checksum, block offsets contiguous). A newer version is EMO_ERR_VERSION;
 * a missing trailer (truncated file) or a bad index EMO_ERR_CORRUPT;
 * not a shard at all EMO_ERR_FORMAT. */
EmoStatus emo_shard_open(EmoShardReader **r, const char *path, EmoError *err);
void emo_shard_close(EmoShardReader *r);

const char *emo_shard_path(const EmoShardReader *r);
uint32_t emo_shard_num_blocks(const EmoShardReader *r);
uint64_t emo_shard_num_records(const EmoShardReader *r);
uint64_t emo_shard_file_bytes(const EmoShardReader *r);
const EmoShardBlockEntry *emo_shard_block(const EmoShardReader *r, uint32_t i);

/* Reads and decompresses block i into *buf (malloc'd, grown as needed, *cap
 * tracks its size); verifies the frame checksum and sizes. Errors name the
 * shard and the block: "dir/shard-00001.emo: block 7: checksum mismatch". */
EmoStatus emo_shard_read_block(EmoShardReader *r, uint32_t i, uint8_t **buf, size_t *cap,
                               size_t *size, EmoError *err);

/* XXH64 of the whole file, read start to end (what the manifest records). */
EmoStatus emo_shard_file_xxh64(const char *path, uint64_t *hash, uint64_t *bytes, EmoError *err);

#endif /* EMO_SHARD_H */
