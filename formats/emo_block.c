/* emo_block.c: column-wise record layout of a block payload (see emo_block.h).
 *
 * Payload layout (n records, little-endian; SHARDS.md has the table):
 *   u32 n, u32 0 (reserved), u64 id[n], u64 parent_id[n], i64 source_row[n],
 *   u16 width[n], u16 height[n], i8 label[n], u8 channels[n], u8 origin[n],
 *   u8 predictor[n], u32 source_len[n], u32 params_len[n],
 *   source strings (each + NUL), params strings (each + NUL),
 *   pixel residuals (w*h*c bytes per record, in record order).
 * With flag EMO_BLOCK_FLAG_MED32 (the u32 after n), each run of 32 records
 * starting at an index that is a multiple of 32, all gray, all of one size
 * and all predicted by MED, stores its residuals interleaved (byte j*32+k
 * is pixel j of record k): the reader then decodes 32 records at once with
 * SIMD instead of one serial MED chain per record (SHARDS.md). */
#include "emo_block.h"

#include <stdlib.h>
#include <string.h>

#include "emo_predict.h"

#define EMO_BLOCK_FLAG_MED32 1u

#define EMO_BLOCK_FIXED_BYTES_PER_RECORD (8 + 8 + 8 + 2 + 2 + 1 + 1 + 1 + 1 + 4 + 4)

static int emo_block_grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need && *buf) return 1;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p) return 0;
    *buf = p;
    *cap = n;
    return 1;
}

void emo_block_builder_free(EmoBlockBuilder *b)
{
    free(b->entries);
    free(b->arena);
    memset(b, 0, sizeof *b);
}

void emo_block_builder_reset(EmoBlockBuilder *b)
{
    b->count = 0;
    b->arena_size = 0;
    b->pixel_bytes = 0;
}

static size_t emo_arena_put(EmoBlockBuilder *b, const void *data, size_t n)
{
    size_t off = b->arena_size;
    memcpy(b->arena + off, data, n);
    b->arena_size += n;
    return off;
}

EmoStatus emo_block_builder_add(EmoBlockBuilder *b, const EmoRecord *rec, EmoError *err)
{
    if (rec->width == 0 || rec->height == 0 || rec->channels < 1 || rec->channels > 4 || !rec->pixels)
        return emo_error_set(err, EMO_ERR_ARG, "record %s: bad size %ux%ux%u",
                             rec->source ? rec->source : "", rec->width, rec->height, rec->channels);
    if (rec->label < EMO_LABEL_NONE || rec->label >= EMO_NUM_CLASSES)
        return emo_error_set(err, EMO_ERR_ARG, "record %s: label %d out of range",
                             rec->source ? rec->source : "", (int)rec->label);
    if (rec->origin > EMO_ORIGIN_AUGMENTED)
        return emo_error_set(err, EMO_ERR_ARG, "record %s: unknown origin %u",
                             rec->source ? rec->source : "", rec->origin);
    const char *src = rec->source ? rec->source : "", *par = rec->params ? rec->params : "";
    size_t sl = strlen(src), pl = strlen(par);
    if (sl >= UINT32_MAX || pl >= UINT32_MAX)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "record: source/params string too long");
    size_t npx = (size_t)rec->width * rec->height * rec->channels;
    if (b->count == b->cap) {
        size_t n = b->cap ? b->cap * 2 : 256;
        EmoBlockEntry *e = realloc(b->entries, n * sizeof *e);
        if (!e) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        b->entries = e;
        b->cap = n;
    }
    if (!emo_block_grow(&b->arena, &b->arena_cap, b->arena_size + sl + pl + 2 + npx))
        return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    EmoBlockEntry *e = &b->entries[b->count++];
    e->id = rec->id ? rec->id : emo_record_hash_pixels(rec->pixels, npx);
    e->parent_id = rec->parent_id;
    e->source_row = rec->source_row;
    e->label = rec->label;
    e->width = rec->width;
    e->height = rec->height;
    e->channels = rec->channels;
    e->origin = rec->origin;
    e->source_len = (uint32_t)sl;
    e->params_len = (uint32_t)pl;
    e->source_off = emo_arena_put(b, src, sl + 1);
    e->params_off = emo_arena_put(b, par, pl + 1);
    e->pixels_off = emo_arena_put(b, rec->pixels, npx);
    b->pixel_bytes += npx;
    return EMO_OK;
}

/*-*** Little-endian column writers/readers ***/

static uint8_t *emo_put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + bytes;
}

static uint64_t emo_get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The grouping rule of EMO_BLOCK_FLAG_MED32 on the writer's side: 32 gray
 * records of one size starting at a multiple of 32 (the predictor is then
 * MED by choice of the writer). */
static int emo_block_group_ok(const EmoBlockEntry *e, size_t n, size_t i)
{
    if (i % EMO_PREDICT_LANES || i + EMO_PREDICT_LANES > n) return 0;
    for (size_t k = i; k < i + EMO_PREDICT_LANES; k++)
        if (e[k].channels != 1 || e[k].width != e[i].width || e[k].height != e[i].height) return 0;
    return 1;
}

EmoStatus emo_block_encode(const EmoBlockBuilder *b, uint32_t predictors, uint8_t **out, size_t *cap,
                           size_t *out_size, EmoError *err)
{
    const size_t n = b->count;
    size_t strings = 0, max_px = 0;
    for (size_t i = 0; i < n; i++) {
        const EmoBlockEntry *e = &b->entries[i];
        strings += (size_t)e->source_len + e->params_len + 2;
        size_t npx = (size_t)e->width * e->height * e->channels;
        if (npx > max_px) max_px = npx;
    }
    size_t total = 8 + n * EMO_BLOCK_FIXED_BYTES_PER_RECORD + strings + b->pixel_bytes;
    uint8_t *scratch = max_px ? malloc(max_px) : NULL;
    if ((max_px && !scratch) || !emo_block_grow(out, cap, total)) {
        free(scratch);
        return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    }
    uint8_t *p = emo_put_le(*out, n, 4);
    p = emo_put_le(p, EMO_BLOCK_FLAG_MED32, 4);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].id, 8);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].parent_id, 8);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, (uint64_t)b->entries[i].source_row, 8);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].width, 2);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].height, 2);
    for (size_t i = 0; i < n; i++) *p++ = (uint8_t)(int8_t)b->entries[i].label;
    for (size_t i = 0; i < n; i++) *p++ = b->entries[i].channels;
    for (size_t i = 0; i < n; i++) *p++ = b->entries[i].origin;
    uint8_t *preds = p;   /* filled below, once each record's predictor is chosen */
    p += n;
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].source_len, 4);
    for (size_t i = 0; i < n; i++) p = emo_put_le(p, b->entries[i].params_len, 4);
    for (size_t i = 0; i < n; i++) {
        const EmoBlockEntry *e = &b->entries[i];
        memcpy(p, b->arena + e->source_off, (size_t)e->source_len + 1);
        p += (size_t)e->source_len + 1;
    }
    for (size_t i = 0; i < n; i++) {
        const EmoBlockEntry *e = &b->entries[i];
        memcpy(p, b->arena + e->params_off, (size_t)e->params_len + 1);
        p += (size_t)e->params_len + 1;
    }
    for (size_t i = 0; i < n;) {
        const EmoBlockEntry *e = &b->entries[i];
        const size_t npx = (size_t)e->width * e->height * e->channels;
        if ((predictors & (1u << EMO_PRED_MED)) && emo_block_group_ok(b->entries, n, i)) {
            /* 32 records side by side, residuals straight into place. */
            const uint8_t *src[EMO_PREDICT_LANES];
            for (size_t k = 0; k < EMO_PREDICT_LANES; k++) {
                src[k] = b->arena + b->entries[i + k].pixels_off;
                preds[i + k] = EMO_PRED_MED;
            }
            emo_predict_encode_med_x32(src, p, e->width, e->height);
            p += npx * EMO_PREDICT_LANES;
            i += EMO_PREDICT_LANES;
            continue;
        }
        preds[i] = (uint8_t)emo_predict_choose(predictors, b->arena + e->pixels_off, p, scratch, e->width,
                                               e->height, e->channels);
        p += npx;
        i++;
    }
    free(scratch);
    *out_size = (size_t)(p - *out);
    return EMO_OK;
}

EmoStatus emo_block_decode(uint8_t *payload, size_t size, uint8_t **pixbuf, size_t *pixcap, EmoRecord **records,
                           size_t *rcap, size_t *count, EmoError *err)
{
    *count = 0;
    if (size < 8) return emo_error_set(err, EMO_ERR_CORRUPT, "payload of %zu bytes is too short", size);
    const uint64_t n = emo_get_le(payload, 4);
    const uint32_t flags = (uint32_t)emo_get_le(payload + 4, 4);
    if (flags & ~EMO_BLOCK_FLAG_MED32) return emo_error_set(err, EMO_ERR_CORRUPT, "unknown block layout flags");
    if (n > (size - 8) / EMO_BLOCK_FIXED_BYTES_PER_RECORD)
        return emo_error_set(err, EMO_ERR_CORRUPT, "record count %llu does not fit the payload",
                             (unsigned long long)n);
    if (*rcap < n || !*records) {
        EmoRecord *r = realloc(*records, (n ? n : 1) * sizeof *r);
        if (!r) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        *records = r;
        *rcap = n ? n : 1;
    }
    EmoRecord *rec = *records;
    const uint8_t *ids = payload + 8, *parents = ids + 8 * n, *rows = parents + 8 * n;
    const uint8_t *ws = rows + 8 * n, *hs = ws + 2 * n, *labels = hs + 2 * n, *chans = labels + n;
    const uint8_t *origins = chans + n, *preds = origins + n, *slens = preds + n, *plens = slens + 4 * n;
    uint8_t *strings = (uint8_t *)plens + 4 * n;
    const uint8_t *end = payload + size;

    /* Strings: walk both length columns, checking each NUL as we go. */
    uint8_t *s = strings;
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *lens = pass == 0 ? slens : plens;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t len = emo_get_le(lens + 4 * i, 4);
            if (len >= (uint64_t)(end - s) || s[len] != 0)
                return emo_error_set(err, EMO_ERR_CORRUPT, "record %llu: string runs past the payload",
                                     (unsigned long long)i);
            if (pass == 0) rec[i].source = (const char *)s;
            else rec[i].params = (const char *)s;
            s += len + 1;
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        EmoRecord *r = &rec[i];
        r->id = emo_get_le(ids + 8 * i, 8);
        r->parent_id = emo_get_le(parents + 8 * i, 8);
        r->source_row = (int64_t)emo_get_le(rows + 8 * i, 8);
        r->width = (uint16_t)emo_get_le(ws + 2 * i, 2);
        r->height = (uint16_t)emo_get_le(hs + 2 * i, 2);
        r->label = (int8_t)labels[i];
        r->channels = chans[i];
        r->origin = origins[i];
        if (r->label < EMO_LABEL_NONE || r->label >= EMO_NUM_CLASSES || r->channels < 1 || r->channels > 4 ||
            r->origin > EMO_ORIGIN_AUGMENTED || preds[i] >= EMO_PRED__COUNT || r->width == 0 || r->height == 0)
            return emo_error_set(err, EMO_ERR_CORRUPT, "record %llu: field out of range", (unsigned long long)i);
    }
    /* Pixels. Grouped records are decoded where they lie, then transposed
     * into *pixbuf; the others are decoded in place in the payload. */
    uint8_t *px = s;
    size_t grouped = 0;
    for (int pass = 0; pass < 2; pass++) {
        px = s;
        size_t out = 0;
        for (uint64_t i = 0; i < n;) {
            EmoRecord *r = &rec[i];
            size_t npx = (size_t)r->width * r->height * r->channels;
            int group = 0;
            if ((flags & EMO_BLOCK_FLAG_MED32) && i % EMO_PREDICT_LANES == 0 && i + EMO_PREDICT_LANES <= n) {
                group = 1;
                for (uint64_t k = i; k < i + EMO_PREDICT_LANES && group; k++)
                    group = rec[k].channels == 1 && rec[k].width == r->width && rec[k].height == r->height &&
                            preds[k] == EMO_PRED_MED;
            }
            size_t span = group ? npx * EMO_PREDICT_LANES : npx;
            if (span > (size_t)(end - px))
                return emo_error_set(err, EMO_ERR_CORRUPT, "record %llu: pixels run past the payload",
                                     (unsigned long long)i);
            if (pass == 0) {
                if (group) grouped += span;
            } else if (group) {
                emo_predict_decode_med_x32_split(px, *pixbuf + out, r->width, r->height);
                for (size_t k = 0; k < EMO_PREDICT_LANES; k++) rec[i + k].pixels = *pixbuf + out + k * npx;
                out += span;
            } else {
                emo_predict_decode((EmoPredictor)preds[i], px, r->width, r->height, r->channels);
                r->pixels = px;
            }
            px += span;
            i += group ? EMO_PREDICT_LANES : 1;
        }
        if (pass == 0) {
            if (px != end)
                return emo_error_set(err, EMO_ERR_CORRUPT, "%zu trailing bytes after the last record",
                                     (size_t)(end - px));
            if (grouped > *pixcap || !*pixbuf) {
                uint8_t *pb = realloc(*pixbuf, grouped ? grouped : 1);
                if (!pb) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
                *pixbuf = pb;
                *pixcap = grouped ? grouped : 1;
            }
        }
    }
    *count = (size_t)n;
    return EMO_OK;
}
