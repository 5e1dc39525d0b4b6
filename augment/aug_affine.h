/* aug_affine.h: 2-D affine maps, built from the geometric transforms and
 * composed into one matrix so an image is resampled only once.
 *
 * Coordinates are pixel centres: x = column, y = row, origin at the top-left
 * pixel's centre, y pointing down. The centre of a W x H image is
 * ((W-1)/2, (H-1)/2), as in Keras (size/2 - 0.5) and OpenCV's usual
 * getRotationMatrix2D((W-1)/2, ...) call.
 *
 * An AugAffine maps a point p to (m[0] px + m[1] py + m[2],
 *                                 m[3] px + m[4] py + m[5]). */
#ifndef AUG_AFFINE_H
#define AUG_AFFINE_H

typedef struct {
    double m[6];
} AugAffine;

/* The identity map. */
AugAffine aug_affine_identity(void);

/* a after b: the map p -> a(b(p)). */
AugAffine aug_affine_compose(const AugAffine *a, const AugAffine *b);

/* The inverse map. Returns 0 if the matrix is singular (|det| < 1e-12),
 * leaving *inv unchanged; 1 otherwise. */
int aug_affine_invert(const AugAffine *a, AugAffine *inv);

/* Mirror left-right across the vertical centre line of a `width`-wide image:
 * x -> (width-1) - x. */
AugAffine aug_affine_hflip(int width);

/* Rotation by `degrees` about (cx, cy); positive turns the picture
 * counter-clockwise as displayed (OpenCV's getRotationMatrix2D sign). */
AugAffine aug_affine_rotate(double degrees, double cx, double cy);

/* Scaling by (sx, sy) about (cx, cy). */
AugAffine aug_affine_scale(double sx, double sy, double cx, double cy);

/* Translation by (tx, ty) pixels. */
AugAffine aug_affine_translate(double tx, double ty);

/* Applies the map to (x, y). */
void aug_affine_apply(const AugAffine *a, double x, double y, double *ox, double *oy);

#endif /* AUG_AFFINE_H */
