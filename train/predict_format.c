/* predict_format.c: JSON lines and annotation for emopredict. */
#include "predict_format.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "train_draw.h"

static char *dump(json_t *o)
{
    if (!o) return NULL;
    /* Probabilities to 4 digits: a line per face should stay short. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    json_decref(o);
    return s;
}

char *predict_json_face(const char *file, int i, int n, const PredictFace *f, const NetConfig *cfg)
{
    json_t *probs = json_object();
    if (!probs) return NULL;
    for (uint32_t c = 0; c < cfg->n_classes; c++) json_object_set_new(probs, cfg->class_names[c], json_real(f->probs[c]));
    json_t *o = json_pack("{s:s, s:i, s:i, s:{s:i, s:i, s:i, s:i}, s:b, s:b, s:s, s:f, s:o}", "file", file, "face",
                          i, "faces", n, "box", "x", f->x, "y", f->y, "w", f->w, "h", f->h, "aligned", f->aligned,
                          "whole_image", f->whole_image, "label", cfg->class_names[f->label], "confidence",
                          (double)f->probs[f->label], "probabilities", probs);
    return dump(o);
}

char *predict_json_noface(const char *file, int width, int height)
{
    return dump(json_pack("{s:s, s:i, s:i, s:i}", "file", file, "faces", 0, "width", width, "height", height));
}

char *predict_json_error(const char *file, const char *message)
{
    return dump(json_pack("{s:s, s:s}", "file", file, "error", message));
}

/* One color per class of the FER2013 set, the ones emoreport uses
 * (angry red, disgust brown, fear purple, happy amber, neutral gray, sad
 * blue, surprise cyan); other classes cycle through them. */
static const uint8_t class_rgb[7][3] = {
    {214, 39, 40}, {140, 86, 75}, {148, 103, 189}, {230, 161, 0}, {127, 127, 127}, {31, 119, 180}, {23, 190, 207},
};

void predict_annotate(EmoImage *img, const PredictFace *faces, int n, const NetConfig *cfg)
{
    static const uint8_t white[3] = {255, 255, 255};
    int side = img->width > img->height ? img->width : img->height;
    int thick = side / 300 + 1, scale = side / 400 + 1;
    for (int i = 0; i < n; i++) {
        const PredictFace *f = &faces[i];
        const uint8_t *rgb = class_rgb[f->label % 7];
        train_draw_rect(img, f->x, f->y, f->w, f->h, thick, rgb);
        char text[96];
        snprintf(text, sizeof text, "%s %.0f%%", cfg->class_names[f->label], 100.0 * f->probs[f->label]);
        int tw, th;
        train_draw_text_size(text, scale, &tw, &th);
        int pad = scale;
        int ty = f->y - th - 2 * pad;
        if (ty < 0) ty = f->y + f->h; /* no room above: below the box */
        if (ty + th + 2 * pad > img->height) ty = f->y; /* nor below: inside, at the top */
        train_draw_fill(img, f->x, ty, tw + 2 * pad, th + 2 * pad, rgb);
        train_draw_text(img, f->x + pad, ty + pad, text, scale, white);
    }
}
