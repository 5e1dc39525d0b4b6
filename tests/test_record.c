/* test_record.c: class names, aliases, the Kaggle code map and content ids
 * (formats/emo_record.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "emo_record.h"
#include "test_support.h"

START_TEST(class_names_in_folder_order)
{
    /* The FER2013 image release's folders, sorted: the label order. */
    const char *want[EMO_NUM_CLASSES] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
    for (int i = 0; i < EMO_NUM_CLASSES; i++) {
        ck_assert_str_eq(emo_class_name(i), want[i]);
        ck_assert_int_eq(emo_class_from_name(want[i]), i);
        if (i > 0) ck_assert_int_lt(strcmp(want[i - 1], want[i]), 0);
    }
    ck_assert_str_eq(emo_class_name(EMO_LABEL_NONE), "unlabeled");
    ck_assert_str_eq(emo_class_name(7), "?");
    ck_assert_str_eq(emo_class_name(-2), "?");
}
END_TEST

START_TEST(aliases_case_insensitive)
{
    const struct {
        const char *name;
        int label;
    } cases[] = {
        {"anger", 0},   {"ANGRY", 0},     {"Mad", 0},      {"disgusted", 1}, {"Disgusting", 1}, {"DISGUST", 1},
        {"fearful", 2}, {"Scared", 2},    {"afraid", 2},   {"Fear", 2},      {"happiness", 3},  {"JOY", 3},
        {"Happy", 3},   {"calm", 4},      {"Neutral", 4},  {"sadness", 5},   {"SAD", 5},        {"surprised", 6},
        {"Surprise", 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(emo_class_from_name(cases[i].name) == cases[i].label, "%s -> %d, want %d", cases[i].name,
                      emo_class_from_name(cases[i].name), cases[i].label);
    const char *not_classes[] = {"", "contempt", "happy ", "angr", "unlabeled", "0", "sadd"};
    for (size_t i = 0; i < sizeof not_classes / sizeof not_classes[0]; i++)
        ck_assert_int_eq(emo_class_from_name(not_classes[i]), EMO_LABEL_NONE);
    ck_assert_int_eq(emo_class_from_name(NULL), EMO_LABEL_NONE);
}
END_TEST

START_TEST(kaggle_codes_map_by_name)
{
    /* The Kaggle CSV's own names for its codes 0..6: mapping a code must
     * land on the class that name resolves to. */
    const char *kaggle[7] = {"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};
    int seen = 0;
    for (int code = 0; code < 7; code++) {
        int ours = emo_class_from_kaggle(code);
        ck_assert_int_eq(ours, emo_class_from_name(kaggle[code]));
        seen |= 1 << ours;
    }
    ck_assert_int_eq(seen, 0x7f); /* a permutation */
    ck_assert_int_eq(emo_class_from_kaggle(4), 5); /* Sad */
    ck_assert_int_eq(emo_class_from_kaggle(6), 4); /* Neutral */
    ck_assert_int_eq(emo_class_from_kaggle(-1), EMO_LABEL_NONE);
    ck_assert_int_eq(emo_class_from_kaggle(7), EMO_LABEL_NONE);
}
END_TEST

START_TEST(hash_matches_reference_vectors)
{
    /* Empty and "abc": the xxHash project's published XXH64 (seed 0) values.
     * The two longer inputs (which run the 32-byte stripe loop) were computed
     * with a from-the-spec Python XXH64 that reproduces those two vectors. */
    ck_assert_uint_eq(emo_record_hash_pixels((const uint8_t *)"", 0), 0xEF46DB3751D8E999ull);
    ck_assert_uint_eq(emo_record_hash_pixels((const uint8_t *)"abc", 3), 0x44BC2CF5AD770999ull);
    uint8_t face[2304];
    for (int i = 0; i < 2304; i++) face[i] = (uint8_t)(i * 7 % 251);
    ck_assert_uint_eq(emo_record_hash_pixels(face, sizeof face), 0x9D18552D15661B4Cull);
    uint8_t seq[101];
    for (int i = 0; i < 101; i++) seq[i] = (uint8_t)i;
    ck_assert_uint_eq(emo_record_hash_pixels(seq, sizeof seq), 0xE99038495F85381Eull);
}
END_TEST

START_TEST(hash_agrees_with_zstd_frame_checksum)
{
    /* A zstd frame's content checksum is the low 32 bits of XXH64 (seed 0)
     * of the content, stored little-endian in the last 4 bytes (RFC 8878
     * 3.1.1): a second implementation to compare against, on random sizes. */
    uint64_t st = 42;
    for (int trial = 0; trial < 20; trial++) {
        size_t n = (size_t)(ts_rand(&st) % 5000);
        uint8_t *px = malloc(n + 1);
        for (size_t i = 0; i < n; i++) px[i] = (uint8_t)(ts_rand(&st) >> 56);
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)));
        size_t cap = ZSTD_compressBound(n);
        uint8_t *z = malloc(cap);
        size_t zn = ZSTD_compress2(cc, z, cap, px, n);
        ck_assert(!ZSTD_isError(zn) && zn >= 4);
        uint32_t want = (uint32_t)z[zn - 4] | (uint32_t)z[zn - 3] << 8 | (uint32_t)z[zn - 2] << 16 |
                        (uint32_t)z[zn - 1] << 24;
        ck_assert_uint_eq((uint32_t)emo_record_hash_pixels(px, n), want);
        ZSTD_freeCCtx(cc);
        free(z);
        free(px);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("record");
    tcase_add_test(tc, class_names_in_folder_order);
    tcase_add_test(tc, aliases_case_insensitive);
    tcase_add_test(tc, kaggle_codes_map_by_name);
    tcase_add_test(tc, hash_matches_reference_vectors);
    tcase_add_test(tc, hash_agrees_with_zstd_frame_checksum);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
