/* fuzz_block.c: a shard block's payload, the column-wise record layout
 * behind each zstd frame (formats/emo_block.h, emo_block_decode), fuzzed
 * directly: inside a real shard it sits behind zstd's frame checksum, which
 * a fuzzer seldom gets past (fuzz_shard covers the container).
 *
 * Any payload that decodes must describe records that lie inside it, and
 * must survive a round trip: re-encoded with every predictor and decoded
 * again, each record comes back with the same fields, strings and pixels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emo_block.h"
#include "emo_predict.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *payload = malloc(size ? size : 1);
    fuzz_check(payload != NULL);
    if (size) memcpy(payload, data, size);
    EmoRecord *recs = NULL;
    uint8_t *pix = NULL;
    size_t rcap = 0, count = 0, pixcap = 0;
    EmoError err;
    EmoStatus s = emo_block_decode(payload, size, &pix, &pixcap, &recs, &rcap, &count, &err);
    if (s != EMO_OK) {
        fuzz_check(s == EMO_ERR_CORRUPT || s == EMO_ERR_NOMEM);
        fuzz_check(count == 0 && err.msg[0] != '\0');
        free(recs);
        free(pix);
        free(payload);
        return 0;
    }
    const uint8_t *end = payload + size;
    EmoBlockBuilder b;
    memset(&b, 0, sizeof b);
    for (size_t i = 0; i < count; i++) {
        const EmoRecord *r = &recs[i];
        size_t npx = (size_t)r->width * r->height * r->channels;
        /* Pixels lie in the payload, or in the de-interleave buffer. */
        fuzz_check(npx > 0 && ((r->pixels >= payload && r->pixels + npx <= end) ||
                               (pix && r->pixels >= pix && r->pixels + npx <= pix + pixcap)));
        fuzz_check((const uint8_t *)r->source >= payload && (const uint8_t *)r->source < end);
        fuzz_check((const uint8_t *)r->params >= payload && (const uint8_t *)r->params < end);
        fuzz_check(emo_block_builder_add(&b, r, &err) == EMO_OK);
    }
    /* Round trip through the encoder with all predictors allowed. */
    uint8_t *enc = NULL;
    size_t ecap = 0, esize = 0;
    fuzz_check(emo_block_encode(&b, (1u << EMO_PRED__COUNT) - 1, &enc, &ecap, &esize, &err) == EMO_OK);
    EmoRecord *back = NULL;
    uint8_t *bpix = NULL;
    size_t bcap = 0, bcount = 0, bpixcap = 0;
    fuzz_check(emo_block_decode(enc, esize, &bpix, &bpixcap, &back, &bcap, &bcount, &err) == EMO_OK);
    fuzz_check(bcount == count);
    for (size_t i = 0; i < count; i++) {
        const EmoRecord *a = &recs[i], *c = &back[i];
        fuzz_check(a->parent_id == c->parent_id && a->source_row == c->source_row && a->label == c->label);
        fuzz_check(a->width == c->width && a->height == c->height && a->channels == c->channels);
        fuzz_check(a->origin == c->origin && strcmp(a->source, c->source) == 0);
        fuzz_check(strcmp(a->params, c->params) == 0);
        /* id 0 is replaced by the pixel hash on add; any other id is kept. */
        fuzz_check(a->id ? a->id == c->id : c->id == emo_record_hash_pixels(a->pixels,
                                                                              (uint64_t)a->width * a->height * a->channels));
        fuzz_check(memcmp(a->pixels, c->pixels, (size_t)a->width * a->height * a->channels) == 0);
    }
    free(back);
    free(bpix);
    free(enc);
    emo_block_builder_free(&b);
    free(recs);
    free(pix);
    free(payload);
    return 0;
}
