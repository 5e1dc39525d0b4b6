/* emo_record.c: the seven emotion classes, their names and aliases, the
 * Kaggle CSV code mapping, and record content ids (see emo_record.h). */
#include "emo_record.h"

#include <stddef.h>
#include <strings.h>
#include <xxhash.h>

static const char *const emo_class_names[EMO_NUM_CLASSES] = {
    "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
};

/* Folder names seen in real datasets (FER2013, JAFFE, RAF-DB, CK+, AffectNet
 * exports) mapped to our labels. Matching is case-insensitive. */
static const struct {
    const char *name;
    int label;
} emo_class_aliases[] = {
    {"angry", 0},    {"anger", 0},      {"mad", 0},
    {"disgust", 1},  {"disgusted", 1},  {"disgusting", 1},
    {"fear", 2},     {"fearful", 2},    {"scared", 2},     {"afraid", 2},
    {"happy", 3},    {"happiness", 3},  {"joy", 3},
    {"neutral", 4},  {"calm", 4},
    {"sad", 5},      {"sadness", 5},
    {"surprise", 6}, {"surprised", 6},
};

const char *emo_class_name(int label)
{
    if (label == EMO_LABEL_NONE) return "unlabeled";
    if (label < 0 || label >= EMO_NUM_CLASSES) return "?";
    return emo_class_names[label];
}

int emo_class_from_name(const char *name)
{
    if (!name) return EMO_LABEL_NONE;
    for (size_t i = 0; i < sizeof emo_class_aliases / sizeof emo_class_aliases[0]; i++)
        if (strcasecmp(name, emo_class_aliases[i].name) == 0) return emo_class_aliases[i].label;
    return EMO_LABEL_NONE;
}

int emo_class_from_kaggle(int code)
{
    /* Kaggle: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral. */
    static const int kaggle_to_ours[7] = {0, 1, 2, 3, 5, 6, 4};
    if (code < 0 || code > 6) return EMO_LABEL_NONE;
    return kaggle_to_ours[code];
}

uint64_t emo_record_hash_pixels(const uint8_t *pixels, uint64_t size)
{
    return (uint64_t)XXH64(pixels, (size_t)size, 0);
}
