/* fuzz_image.c: PNG and JPEG decoding from memory (formats/emo_image.h).
 *
 * One target covers both codecs: emo_image_decode sniffs the magic bytes,
 * so the corpus mixes PNGs and JPEGs and the fuzzer crosses between them.
 * Each input is decoded to gray and to RGB under a 1-megapixel limit (keeps
 * each run quick; bigger headers must fail cleanly with TOO_LARGE). A
 * decode that succeeds must describe a buffer of exactly w*h*c bytes, which
 * the target reads end to end so ASan sees any short allocation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emo_image.h"

#define FUZZ_MAX_PIXELS (1u << 20)

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

static void fuzz_decode(const uint8_t *data, size_t size, int channels)
{
    EmoDecodeOptions opt = {channels, FUZZ_MAX_PIXELS};
    EmoImage img;
    memset(&img, 0xAB, sizeof img); /* the decoder must not rely on a zeroed struct */
    EmoError err;
    EmoStatus s = emo_image_decode(data, size, "fuzz", &opt, &img, &err);
    if (s == EMO_OK) {
        fuzz_check(img.width > 0 && img.height > 0 && img.channels == channels);
        fuzz_check((uint64_t)img.width * (uint64_t)img.height <= FUZZ_MAX_PIXELS);
        fuzz_check(img.pixels != NULL);
        size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
        unsigned sum = 0;
        for (size_t i = 0; i < n; i++) sum += img.pixels[i];
        (void)sum;
        emo_image_free(&img);
    } else {
        fuzz_check(s > EMO_OK && s < EMO_ERR__COUNT);
        fuzz_check(err.status == s && err.msg[0] != '\0');
        fuzz_check(memchr(err.msg, '\0', sizeof err.msg) != NULL);
    }
    /* Sniffing must agree with what decode accepts. */
    if (s == EMO_OK) fuzz_check(emo_image_sniff(data, size) != EMO_IMAGE_UNKNOWN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, 1);
    fuzz_decode(data, size, 3);
    return 0;
}
