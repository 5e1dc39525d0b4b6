/* aug_preview.c: the contact sheet (see aug_preview.h). */
#include "aug_preview.h"

#include <stdlib.h>
#include <string.h>

#include "aug_apply.h"
#include "emo_dataset.h"
#include "emo_font.h"

#define AUG_SHEET_BG 32      /* dark gray frame: faces stand out from it */
#define AUG_SHEET_GAP 2      /* pixels between cells (before scaling) */
#define AUG_SHEET_SPLIT 8    /* extra gap after the originals column */
#define AUG_SHEET_INK 220    /* class-name text */

static EmoStatus check_options(const AugPreviewOptions *o, EmoError *err)
{
    if (o->rows < 1 || o->rows > 256 || o->variants < 1 || o->variants > 64 || o->scale < 1 || o->scale > 16)
        return emo_error_set(err, EMO_ERR_ARG, "preview: rows 1..256, variants 1..64, scale 1..16");
    return EMO_OK;
}

/* Copies a gray w x h image into the sheet at (x0, y0), scaled, centred in
 * a cw x ch cell. */
static void blit(EmoImage *sheet, int x0, int y0, int cw, int chh, const uint8_t *g, int w, int h, int scale)
{
    x0 += (cw - w) / 2 * scale;
    y0 += (chh - h) / 2 * scale;
    for (int y = 0; y < h * scale; y++) {
        uint8_t *row = sheet->pixels + (size_t)(y0 + y) * sheet->width + x0;
        const uint8_t *src = g + (size_t)(y / scale) * w;
        for (int x = 0; x < w * scale; x++) row[x] = src[x / scale];
    }
}

EmoStatus aug_preview_sheet(const AugConfig *cfg, uint64_t seed, const EmoRecord *records, size_t n,
                            const AugPreviewOptions *opt, EmoImage *sheet, EmoError *err)
{
    EMO_RETURN_IF_ERR(check_options(opt, err));
    EMO_RETURN_IF_ERR(aug_config_validate(cfg, err));
    if (n == 0) return emo_error_set(err, EMO_ERR_ARG, "preview: no records");
    int cw = 1, chh = 1;
    size_t maxpix = 1;
    for (size_t i = 0; i < n; i++) {
        const EmoRecord *r = &records[i];
        if (r->channels != 1 && r->channels != 3)
            return emo_error_set(err, EMO_ERR_UNSUPPORTED, "preview: record %zu has %d channels", i, r->channels);
        if (r->width > cw) cw = r->width;
        if (r->height > chh) chh = r->height;
        size_t np = (size_t)r->width * r->height;
        if (np > maxpix) maxpix = np;
    }
    int s = opt->scale, gap = AUG_SHEET_GAP * s;
    /* A left column for each row's class name, in the 5x7 font. */
    int label_w = emo_font_text_width("unlabeled") + 2 * AUG_SHEET_GAP;
    int width = label_w + gap + (cw * s + gap) * (1 + opt->variants) + AUG_SHEET_SPLIT * s;
    int height = gap + (chh * s + gap) * (int)n;
    EMO_RETURN_IF_ERR(emo_image_alloc(sheet, width, height, 1, err));
    memset(sheet->pixels, AUG_SHEET_BG, (size_t)width * height);

    uint8_t *gray = malloc(maxpix), *var = malloc(maxpix * 3);
    AugWorkspace ws = {0};
    EmoStatus st = gray && var ? EMO_OK : emo_error_set(err, EMO_ERR_NOMEM, "preview: out of memory");
    for (size_t i = 0; i < n && st == EMO_OK; i++) {
        const EmoRecord *r = &records[i];
        size_t np = (size_t)r->width * r->height;
        uint64_t id = r->id ? r->id : emo_record_hash_pixels(r->pixels, np * r->channels);
        int y0 = gap + (int)i * (chh * s + gap);
        if (r->channels == 1) memcpy(gray, r->pixels, np);
        else emo_image_rgb_to_gray(r->pixels, gray, np);
        emo_font_draw(sheet, AUG_SHEET_GAP, y0 + (chh * s - EMO_FONT_HEIGHT) / 2, emo_class_name(r->label),
                      AUG_SHEET_INK);
        blit(sheet, label_w + gap, y0, cw, chh, gray, r->width, r->height, s);
        for (int k = 0; k < opt->variants && st == EMO_OK; k++) {
            st = aug_make_variant(cfg, seed, id, (uint32_t)k, r->pixels, r->width, r->height, r->channels, var,
                                  NULL, &ws, err);
            if (st != EMO_OK) break;
            const uint8_t *show = var;
            if (r->channels == 3) {
                emo_image_rgb_to_gray(var, gray, np);
                show = gray;
            }
            int x0 = label_w + gap + (cw * s + gap) * (1 + k) + AUG_SHEET_SPLIT * s;
            blit(sheet, x0, y0, cw, chh, show, r->width, r->height, s);
        }
    }
    aug_workspace_free(&ws);
    free(gray);
    free(var);
    if (st != EMO_OK) emo_image_free(sheet);
    return st;
}

/* The picked records, with their pixels copied out of the reader's block. */
typedef struct {
    EmoRecord *recs;
    uint8_t **pix;
    size_t n;
} Picked;

static void picked_free(Picked *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->pix[i]);
    free(p->recs);
    free(p->pix);
}

EmoStatus aug_preview_dataset(const char *input_dir, const AugConfig *cfg, uint64_t seed,
                              const AugPreviewOptions *opt, const char *png_path, EmoError *err)
{
    EMO_RETURN_IF_ERR(check_options(opt, err));
    EmoDatasetReader *rd = NULL;
    EmoReaderOptions ropt = {0, 0, 0};
    EMO_RETURN_IF_ERR(emo_dataset_reader_open(&rd, input_dir, &ropt, err));
    const EmoManifest *m = emo_dataset_reader_manifest(rd);

    /* An even share per class present (at least one each while rows last),
     * so the sheet is not all one class when the dataset is sorted by
     * label; rows left over are topped up from records passed over. */
    int present = m->unlabeled > 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) present += m->class_counts[c] > 0;
    size_t want = (size_t)opt->rows;
    if (m->num_records < want) want = (size_t)m->num_records;
    size_t quota = present ? want / present : want;
    if (quota == 0) quota = 1;
    size_t taken[EMO_NUM_CLASSES + 1] = {0}, full = 0;

    Picked pk = {calloc(want ? want : 1, sizeof *pk.recs), calloc(want ? want : 1, sizeof *pk.pix), 0};
    Picked spare = {calloc(want ? want : 1, sizeof *spare.recs), calloc(want ? want : 1, sizeof *spare.pix), 0};
    EmoStatus st = pk.recs && pk.pix && spare.recs && spare.pix
                       ? EMO_OK
                       : emo_error_set(err, EMO_ERR_NOMEM, "preview: out of memory");
    /* Read until the rows are filled, or every class has its share and the
     * spares cover the rest. */
    while (st == EMO_OK && pk.n < want && !(full == (size_t)present && pk.n + spare.n >= want)) {
        EmoRecord rec;
        st = emo_dataset_reader_next(rd, &rec, err);
        if (st != EMO_OK) break;
        int c = rec.label >= 0 && rec.label < EMO_NUM_CLASSES ? rec.label : EMO_NUM_CLASSES;
        Picked *to = taken[c] < quota ? &pk : spare.n < want ? &spare : NULL;
        if (!to) continue;
        size_t bytes = (size_t)rec.width * rec.height * rec.channels;
        uint8_t *copy = malloc(bytes ? bytes : 1);
        if (!copy) {
            st = emo_error_set(err, EMO_ERR_NOMEM, "preview: out of memory");
            break;
        }
        memcpy(copy, rec.pixels, bytes);
        if (to == &pk && ++taken[c] == quota) full++;
        rec.pixels = copy;
        rec.source = rec.params = ""; /* the reader's strings do not outlive the block */
        to->recs[to->n] = rec;
        to->pix[to->n++] = copy;
    }
    if (st == EMO_ERR_EOF) st = EMO_OK;
    emo_dataset_reader_close(rd);
    for (size_t i = 0; st == EMO_OK && i < spare.n && pk.n < want; i++) {
        pk.recs[pk.n] = spare.recs[i];
        pk.pix[pk.n++] = spare.pix[i];
        spare.pix[i] = NULL;
    }
    EmoImage sheet = {0};
    if (st == EMO_OK) st = aug_preview_sheet(cfg, seed, pk.recs, pk.n, opt, &sheet, err);
    if (st == EMO_OK) st = emo_image_save_png(&sheet, png_path, err);
    emo_image_free(&sheet);
    picked_free(&pk);
    picked_free(&spare);
    return st;
}
