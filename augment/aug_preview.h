/* aug_preview.h: a contact sheet of originals next to their variants, so a
 * user can see what the options do before spending hours of training.
 *
 * One row per original: its class name, the original, a gap, then variants
 * 0..V-1, the very variants a run with the same options and seed writes as
 * copies 0..V-1.
 * Cells are scaled up by an integer factor (nearest neighbour, so pixels
 * stay visible); records of other sizes are centred in the cell. */
#ifndef AUG_PREVIEW_H
#define AUG_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "aug_params.h"
#include "emo_error.h"
#include "emo_image.h"
#include "emo_record.h"

typedef struct {
    int rows;       /* originals (1..256); default 8 */
    int variants;   /* variants per original (1..64); default 7 */
    int scale;      /* integer zoom (1..16); default 2 */
} AugPreviewOptions;

/* Builds the sheet from the given records (gray; RGB records are shown as
 * gray) into *sheet (gray, malloc'd; free with emo_image_free). */
EmoStatus aug_preview_sheet(const AugConfig *cfg, uint64_t seed, const EmoRecord *records, size_t n,
                            const AugPreviewOptions *opt, EmoImage *sheet, EmoError *err);

/* Picks `rows` records from the dataset at input_dir (spread over the
 * classes present, in dataset order, reading no further than needed) and
 * writes their sheet to png_path (atomically). */
EmoStatus aug_preview_dataset(const char *input_dir, const AugConfig *cfg, uint64_t seed,
                              const AugPreviewOptions *opt, const char *png_path, EmoError *err);

#endif /* AUG_PREVIEW_H */
