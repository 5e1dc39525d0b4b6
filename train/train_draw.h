/* train_draw.h: boxes and text on 8-bit images.
 *
 * Enough drawing for the confusion-matrix heat map and emopredict's
 * --annotate: filled and outlined rectangles clipped to the image, and
 * text in the project's 5x7 bitmap font (formats/emo_font.h: digits, a-z,
 * . % - : / ( ) = _ ? + space; capitals drawn as small letters, anything
 * else as '?').
 * Glyphs are 5x7 pixels in a 6x8 cell, magnified by an integer `scale`.
 * Colors are RGB; on a gray image their BT.601 luma is drawn. */
#ifndef TRAIN_DRAW_H
#define TRAIN_DRAW_H

#include <stdint.h>

#include "emo_image.h"

#define TRAIN_FONT_W 6   /* advance per glyph at scale 1 */
#define TRAIN_FONT_H 8   /* line height at scale 1 */

/* Fills the rectangle [x, x+w) x [y, y+h), clipped to the image. */
void train_draw_fill(EmoImage *img, int x, int y, int w, int h, const uint8_t rgb[3]);

/* Outlines the rectangle with lines `thick` pixels wide, inside its bounds. */
void train_draw_rect(EmoImage *img, int x, int y, int w, int h, int thick, const uint8_t rgb[3]);

/* Draws text with its top-left corner at (x, y); '\n' starts a new line.
 * Returns the width in pixels of the longest line. */
int train_draw_text(EmoImage *img, int x, int y, const char *text, int scale, const uint8_t rgb[3]);

/* Width and height in pixels that train_draw_text would cover. */
void train_draw_text_size(const char *text, int scale, int *w, int *h);

#endif /* TRAIN_DRAW_H */
