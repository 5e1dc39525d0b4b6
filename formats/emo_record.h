/* emo_record.h: one face record, and the seven emotion classes.
 *
 * Class order is the folder order of the FER2013 image release (alphabetical):
 * 0 angry, 1 disgust, 2 fear, 3 happy, 4 neutral, 5 sad, 6 surprise.
 * Note: the Kaggle CSV numbers them differently (0 Angry, 1 Disgust, 2 Fear,
 * 3 Happy, 4 Sad, 5 Surprise, 6 Neutral); readers of that CSV map its codes
 * with emo_class_from_kaggle(). */
#ifndef EMO_RECORD_H
#define EMO_RECORD_H

#include <stdint.h>

#define EMO_NUM_CLASSES 7
#define EMO_LABEL_NONE (-1)

typedef enum {
    EMO_ORIGIN_ORIGINAL = 0,   /* pixels as ingested */
    EMO_ORIGIN_AUGMENTED = 1,  /* made by emoaugment from parent_id */
} EmoOrigin;

/* A record as held in memory. Pointers are owned by whoever produced the
 * record (a reader's block buffer, a caller's arrays); writers copy. */
typedef struct {
    uint64_t id;            /* XXH64 (seed 0) of the pixel bytes: stable content id */
    uint64_t parent_id;     /* augmented: the parent's id; 0 for originals */
    int32_t label;          /* 0..6, or EMO_LABEL_NONE */
    uint16_t width;
    uint16_t height;
    uint8_t channels;       /* 1 = gray */
    uint8_t origin;         /* EmoOrigin */
    int64_t source_row;     /* row (CSV) or offset within the source; -1 if none */
    const char *source;     /* path or URL it came from; "" if none; never NULL */
    const char *params;     /* augmentation parameters, "k=v k=v ..."; "" for originals */
    const uint8_t *pixels;  /* width*height*channels bytes, row-major */
} EmoRecord;

/* "angry", ... for 0..6; "unlabeled" for EMO_LABEL_NONE; "?" otherwise. */
const char *emo_class_name(int label);

/* Label of a class name, case-insensitive, with the aliases real datasets use
 * (anger/angry, disgusted/disgust, scared/fear/fearful, happiness/happy,
 * sadness/sad, surprised/surprise, neutral/calm, ...). EMO_LABEL_NONE if the
 * name is not a class. */
int emo_class_from_name(const char *name);

/* Our label for a Kaggle FER2013 CSV emotion code 0..6; EMO_LABEL_NONE if out of range. */
int emo_class_from_kaggle(int code);

/* The content id of a pixel buffer (XXH64, seed 0). */
uint64_t emo_record_hash_pixels(const uint8_t *pixels, uint64_t size);

#endif /* EMO_RECORD_H */
