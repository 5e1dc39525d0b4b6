/* emo_font.h: a tiny 5x7 bitmap font for labelling contact sheets.
 *
 * Covers digits, a-z (capitals draw as small letters), space and
 * . % - + : / ( ) = _ ?; other characters draw as '?'. Glyphs are the
 * classic HD44780 shapes. Each character advances EMO_FONT_ADVANCE pixels.
 * The one font of the project: contact sheets here, and train/train_draw
 * (heat maps, --annotate) draws these glyphs in colour and magnified. */
#ifndef EMO_FONT_H
#define EMO_FONT_H

#include <stdint.h>

#include "emo_image.h"

#define EMO_FONT_WIDTH 5
#define EMO_FONT_HEIGHT 7
#define EMO_FONT_ADVANCE 6

/* Draws `text` into a gray image with its top-left corner at (x, y) in
 * `value`; pixels outside the image are clipped. */
void emo_font_draw(EmoImage *img, int x, int y, const char *text, uint8_t value);

/* The 7 rows of `ch`'s glyph (bit 4 = leftmost of 5 columns); '?' for a
 * character the font lacks. */
const uint8_t *emo_font_glyph(char ch);

/* Width in pixels of `text` drawn with emo_font_draw. */
int emo_font_text_width(const char *text);

#endif /* EMO_FONT_H */
