/* fuzz_cascade.c: the OpenCV cascade XML loader (ingest/face_cascade.h,
 * face_cascade_load_memory; libxml2 underneath), and the detector run with
 * whatever cascade loads.
 *
 * The loader promises that a cascade it accepts is safe to evaluate
 * (indices in range, features inside the window), so every cascade that
 * loads is run over a small fixed test image: a feature the loader let
 * through that reaches outside the window shows up here under ASan. The
 * image is just larger than the window (up to 64x64) and searched with a
 * coarse scale step, so each input stays quick. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face_cascade.h"
#include "face_detect.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FaceCascade *c = NULL;
    EmoError err;
    EmoStatus s = face_cascade_load_memory((const char *)data, size, "fuzz.xml", &c, &err);
    if (s != EMO_OK) {
        fuzz_check(c == NULL);
        fuzz_check(s == EMO_ERR_FORMAT || s == EMO_ERR_NOMEM || s == EMO_ERR_UNSUPPORTED);
        fuzz_check(strstr(err.msg, "fuzz.xml") != NULL);
        return 0;
    }
    int ww = 0, wh = 0;
    fuzz_check(face_cascade_window(c, &ww, &wh) == 0);
    fuzz_check(ww > 0 && wh > 0);
    fuzz_check(face_cascade_stage_count(c) >= 0);
    const char *feat = face_cascade_feature_name(c);
    fuzz_check(feat && (strcmp(feat, "HAAR") == 0 || strcmp(feat, "LBP") == 0));
    if (ww <= 60 && wh <= 60) {
        enum { W = 64, H = 64 };
        static uint8_t img[W * H];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) img[y * W + x] = (uint8_t)((x * 7 + y * 13 + ((x ^ y) & 8) * 16) & 255);
        FaceDetectParams p;
        face_detect_params_default(&p);
        p.scale_factor = 1.5;
        p.threads = 1;
        FaceBox *boxes = NULL;
        int n = 0;
        s = face_detect(c, img, W, H, W, &p, &boxes, &n, &err);
        fuzz_check(s == EMO_OK || s == EMO_ERR_NOMEM);
        for (int i = 0; i < n; i++)
            fuzz_check(boxes[i].x >= 0 && boxes[i].y >= 0 && boxes[i].x + boxes[i].w <= W &&
                       boxes[i].y + boxes[i].h <= H);
        free(boxes);
    }
    face_cascade_free(c);
    return 0;
}
