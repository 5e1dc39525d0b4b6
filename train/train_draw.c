/* train_draw.c: clipped rectangles and text in formats/emo_font's 5x7
 * glyphs, in colour and magnified (see train_draw.h). */
#include "train_draw.h"

#include <stddef.h>

#include "emo_font.h"

static void put(EmoImage *img, int x, int y, const uint8_t rgb[3])
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return;
    uint8_t *p = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * (size_t)img->channels;
    if (img->channels == 3) {
        p[0] = rgb[0];
        p[1] = rgb[1];
        p[2] = rgb[2];
    } else {
        p[0] = (uint8_t)((9798u * rgb[0] + 19235u * rgb[1] + 3735u * rgb[2] + 16384u) >> 15);
    }
}

void train_draw_fill(EmoImage *img, int x, int y, int w, int h, const uint8_t rgb[3])
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > img->width ? img->width : x + w;
    int y1 = y + h > img->height ? img->height : y + h;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) put(img, xx, yy, rgb);
}

void train_draw_rect(EmoImage *img, int x, int y, int w, int h, int thick, const uint8_t rgb[3])
{
    if (thick < 1) thick = 1;
    train_draw_fill(img, x, y, w, thick, rgb);
    train_draw_fill(img, x, y + h - thick, w, thick, rgb);
    train_draw_fill(img, x, y, thick, h, rgb);
    train_draw_fill(img, x + w - thick, y, thick, h, rgb);
}

void train_draw_text_size(const char *text, int scale, int *w, int *h)
{
    int cols = 0, best = 0, lines = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            lines++;
            cols = 0;
            continue;
        }
        if (++cols > best) best = cols;
    }
    if (scale < 1) scale = 1;
    if (w) *w = best * TRAIN_FONT_W * scale;
    if (h) *h = lines * TRAIN_FONT_H * scale;
}

int train_draw_text(EmoImage *img, int x, int y, const char *text, int scale, const uint8_t rgb[3])
{
    if (scale < 1) scale = 1;
    int cx = x, cy = y;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            cx = x;
            cy += TRAIN_FONT_H * scale;
            continue;
        }
        const uint8_t *rows = emo_font_glyph(*p);
        for (int r = 0; r < EMO_FONT_HEIGHT; r++)
            for (int c = 0; c < EMO_FONT_WIDTH; c++)
                if (rows[r] & (0x10 >> c))
                    train_draw_fill(img, cx + c * scale, cy + r * scale, scale, scale, rgb);
        cx += TRAIN_FONT_W * scale;
    }
    int w;
    train_draw_text_size(text, scale, &w, NULL);
    return w;
}
