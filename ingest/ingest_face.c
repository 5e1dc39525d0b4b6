/* ingest_face.c: detect + align for ingest (see ingest_face.h). */
#include "ingest_face.h"

#include <stdlib.h>
#include <string.h>

#include "ingest_resize.h"

/* The detector and aligner are built in ingest/ too; until face_align.h
 * exists this file compiles to a stub that says so, so that everything
 * else in ingest builds and runs with --detect never/auto on crops. */
#if defined(__has_include)
#if __has_include("face_align.h")
#define INGEST_HAVE_FACE 1
#endif
#endif

void ingest_face_options_default(IngestFaceOptions *o)
{
    memset(o, 0, sizeof *o);
    o->cascade = INGEST_FACE_CASCADE_DEFAULT;
    o->eye_cascade = INGEST_EYE_CASCADE_DEFAULT;
    o->eye_fallback = INGEST_EYE_FALLBACK_DEFAULT;
    o->scale_factor = 1.1;
    o->min_neighbors = 5;
    o->min_size = 30;
    o->max_size = 0;
    o->all_faces = 0;
    o->margin = -1;
    o->out_size = 48;
}

void ingest_faces_free(IngestFace *faces, int n)
{
    if (!faces) return;
    for (int i = 0; i < n; i++) free(faces[i].pixels);
    free(faces);
}

#ifdef INGEST_HAVE_FACE
#include "face_align.h"
#include "face_detect.h"

struct IngestFaceEngine {
    IngestFaceOptions opt;
    FaceCascade *face;
    FaceCascade *eye;
    FaceCascade *eye_fallback;
    FaceDetectParams detect;
    FaceAlignParams align;
};

EmoStatus ingest_face_open(IngestFaceEngine **out, const IngestFaceOptions *o, EmoError *err)
{
    *out = NULL;
    IngestFaceEngine *e = calloc(1, sizeof *e);
    if (!e) return emo_error_set(err, EMO_ERR_NOMEM, "face engine: out of memory");
    e->opt = *o;
    EmoStatus s = face_cascade_load(o->cascade, &e->face, err);
    if (s == EMO_OK && o->eye_cascade && *o->eye_cascade) s = face_cascade_load(o->eye_cascade, &e->eye, err);
    if (s == EMO_OK && o->eye_fallback && *o->eye_fallback)
        s = face_cascade_load(o->eye_fallback, &e->eye_fallback, err);
    if (s != EMO_OK) {
        ingest_face_close(e);
        return s;
    }
    face_detect_params_default(&e->detect);
    e->detect.scale_factor = o->scale_factor;
    e->detect.min_neighbors = o->min_neighbors;
    e->detect.min_w = e->detect.min_h = o->min_size;
    e->detect.max_w = e->detect.max_h = o->max_size;
    e->detect.threads = 1; /* ingest runs images in parallel instead */
    face_align_params_default(&e->align);
    e->align.eye_cascade = e->eye;
    e->align.eye_cascade_fallback = e->eye_fallback;
    e->align.out_size = o->out_size;
    if (o->margin >= 0) e->align.margin = o->margin;
    *out = e;
    return EMO_OK;
}

void ingest_face_close(IngestFaceEngine *e)
{
    if (!e) return;
    face_cascade_free(e->face);
    face_cascade_free(e->eye);
    face_cascade_free(e->eye_fallback);
    free(e);
}

EmoStatus ingest_face_find(const IngestFaceEngine *e, const uint8_t *gray, int w, int h, int stride,
                           IngestFace **faces_out, int *n_out, EmoError *err)
{
    *faces_out = NULL;
    *n_out = 0;
    FaceBox *boxes = NULL;
    int nb = 0;
    EMO_RETURN_IF_ERR(face_detect(e->face, gray, w, h, stride, &e->detect, &boxes, &nb, err));
    if (nb == 0) return EMO_OK;
    /* face_detect sorts by area, largest first: "largest" is boxes[0]. */
    int want = e->opt.all_faces ? nb : 1;
    IngestFace *faces = calloc((size_t)want, sizeof *faces);
    if (!faces) {
        free(boxes);
        return emo_error_set(err, EMO_ERR_NOMEM, "faces: out of memory");
    }
    int size = e->opt.out_size;
    for (int i = 0; i < want; i++) {
        IngestFace *f = &faces[i];
        f->x = boxes[i].x;
        f->y = boxes[i].y;
        f->w = boxes[i].w;
        f->h = boxes[i].h;
        f->neighbors = boxes[i].neighbors;
        f->pixels = malloc((size_t)size * size);
        if (!f->pixels) {
            ingest_faces_free(faces, want);
            free(boxes);
            return emo_error_set(err, EMO_ERR_NOMEM, "faces: out of memory");
        }
        FaceAlignInfo info;
        EmoStatus s = face_align(gray, w, h, stride, &boxes[i], &e->align, f->pixels, &info, err);
        if (s != EMO_OK) {
            ingest_faces_free(faces, want);
            free(boxes);
            return s;
        }
        f->eyes_found = info.eyes_found;
        f->left_x = info.left_x;
        f->left_y = info.left_y;
        f->right_x = info.right_x;
        f->right_y = info.right_y;
        f->angle_deg = info.angle_deg;
    }
    free(boxes);
    *faces_out = faces;
    *n_out = want;
    return EMO_OK;
}

#else /* no detector in this build */

struct IngestFaceEngine {
    int unused;
};

EmoStatus ingest_face_open(IngestFaceEngine **out, const IngestFaceOptions *o, EmoError *err)
{
    (void)o;
    *out = NULL;
    return emo_error_set(err, EMO_ERR_UNSUPPORTED, "face detection is not built in (ingest/face_align.h missing)");
}

void ingest_face_close(IngestFaceEngine *e)
{
    free(e);
}

EmoStatus ingest_face_find(const IngestFaceEngine *e, const uint8_t *gray, int w, int h, int stride,
                           IngestFace **faces, int *n, EmoError *err)
{
    (void)e, (void)gray, (void)w, (void)h, (void)stride;
    *faces = NULL;
    *n = 0;
    return emo_error_set(err, EMO_ERR_UNSUPPORTED, "face detection is not built in");
}
#endif
