/* fuzz_model.c: the model-file reader (formats/emo_model.h,
 * emo_model_parse), the file emopredict and emotrain --resume load.
 *
 * The whole file is under an XXH64 checksum; when the checksum is the only
 * thing wrong the target re-parses a copy with the checksum fixed up, so
 * the fuzzer reaches the config checks and array reads behind it while the
 * corpus stays plain model files. A model that parses must have a config
 * that passes emo_model_config_check, NUL-terminated class names, and
 * arrays of the sizes it claims (read end to end here, for ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emo_model.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

static EmoStatus fuzz_parse(const uint8_t *data, size_t size, EmoError *err)
{
    EmoModel m;
    EmoStatus s = emo_model_parse(data, size, "fuzz.emomodel", &m, err);
    if (s != EMO_OK) {
        fuzz_check(m.params == NULL && m.buffers == NULL && m.extra == NULL);
        fuzz_check(strstr(err->msg, "fuzz.emomodel") != NULL);
        return s;
    }
    fuzz_check(emo_model_config_check(&m.cfg, "fuzz.emomodel", NULL) == EMO_OK);
    for (uint32_t i = 0; i < m.cfg.n_classes; i++)
        fuzz_check(memchr(m.cfg.class_names[i], 0, EMO_MODEL_CLASS_NAME_MAX) != NULL);
    float acc = 0;
    for (uint64_t i = 0; i < m.n_params; i++) acc += m.params[i] * 0.0f;
    for (uint64_t i = 0; i < m.n_buffers; i++) acc += m.buffers[i] * 0.0f;
    unsigned x = 0;
    for (uint64_t i = 0; i < m.n_extra; i++) x += m.extra[i];
    (void)acc;
    (void)x;
    emo_model_free(&m);
    return EMO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EmoError err;
    EmoStatus s = fuzz_parse(data, size, &err);
    if (s == EMO_ERR_CORRUPT && strstr(err.msg, "checksum mismatch") && size >= 8) {
        uint8_t *copy = malloc(size);
        fuzz_check(copy != NULL);
        memcpy(copy, data, size);
        uint64_t h = XXH64(copy, size - 8, 0);
        for (int i = 0; i < 8; i++) copy[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
        s = fuzz_parse(copy, size, &err);
        fuzz_check(!(s == EMO_ERR_CORRUPT && strstr(err.msg, "checksum mismatch")));
        free(copy);
    }
    return 0;
}
