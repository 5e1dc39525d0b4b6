/* face_group.h: OpenCV's groupRectangles and the final box order.
 *
 * Raw windows are clustered by groupRectangles' similarity (each edge within
 * eps * (min width + min height) / 2), averaged, thresholded by member
 * count, and small clusters inside a bigger, better-supported one are
 * dropped (notes section 3). The cluster sets and averages are independent
 * of the order of the input, so thread scheduling cannot change them. */
#ifndef FACE_GROUP_H
#define FACE_GROUP_H

#include "emo_error.h"
#include "face_detect.h"

/* Groups n raw rects (x, y, w, h used; neighbors ignored) in place: on
 * return rects[0..*out_n) hold the kept clusters with their member counts.
 * min_neighbors <= 0 keeps the input as is (neighbors = 1). */
EmoStatus face_group_rectangles(FaceBox *rects, int n, int min_neighbors, double eps,
                                int *out_n, EmoError *err);

/* Clips boxes to the w x h image (dropping empty ones) and sorts them by
 * area descending, then y, x, w, h; returns the new count. */
int face_boxes_clip_sort(FaceBox *boxes, int n, int w, int h);

#endif /* FACE_GROUP_H */
