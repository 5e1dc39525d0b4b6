/* face_group.c: groupRectangles (eps-similarity clusters) and box ordering. */
#include "face_group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int similar(const FaceBox *a, const FaceBox *b, double eps)
{
    double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

/* cvRound of a float: round half to even (lrintf in the default mode). */
static int round_f(float v)
{
    return (int)lrintf(v);
}

EmoStatus face_group_rectangles(FaceBox *rects, int n, int min_neighbors, double eps,
                                int *out_n, EmoError *err)
{
    if (min_neighbors <= 0 || n == 0) {
        for (int i = 0; i < n; i++) rects[i].neighbors = 1;
        *out_n = n;
        return EMO_OK;
    }
    int *parent = malloc((size_t)n * 2 * sizeof *parent);
    long long *acc = calloc((size_t)n, 4 * sizeof *acc);
    FaceBox *cl = malloc((size_t)n * sizeof *cl);
    if (!parent || !acc || !cl) {
        free(parent);
        free(acc);
        free(cl);
        return emo_error_set(err, EMO_ERR_NOMEM, "face_group_rectangles: out of memory (%d rects)", n);
    }
    int *label = parent + n;
    for (int i = 0; i < n; i++) parent[i] = i;
    /* transitive closure of the similarity relation (cv::partition) */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (similar(&rects[i], &rects[j], eps)) {
                int a = find_root(parent, i), b = find_root(parent, j);
                if (a != b) parent[a < b ? b : a] = a < b ? a : b;
            }
    int ncl = 0;
    for (int i = 0; i < n; i++) label[i] = -1;
    for (int i = 0; i < n; i++) {
        int r = find_root(parent, i);
        if (label[r] < 0) label[r] = ncl++;
        int k = label[r];
        acc[4 * k] += rects[i].x;
        acc[4 * k + 1] += rects[i].y;
        acc[4 * k + 2] += rects[i].w;
        acc[4 * k + 3] += rects[i].h;
    }
    for (int k = 0; k < ncl; k++) cl[k].neighbors = 0;
    for (int i = 0; i < n; i++) cl[label[find_root(parent, i)]].neighbors++;
    for (int k = 0; k < ncl; k++) {
        /* OpenCV: int sums times float 1/n, rounded */
        float s = 1.f / (float)cl[k].neighbors;
        cl[k].x = round_f((float)acc[4 * k] * s);
        cl[k].y = round_f((float)acc[4 * k + 1] * s);
        cl[k].w = round_f((float)acc[4 * k + 2] * s);
        cl[k].h = round_f((float)acc[4 * k + 3] * s);
    }
    int m = 0;
    for (int i = 0; i < ncl; i++) {
        const FaceBox *r1 = &cl[i];
        int n1 = r1->neighbors;
        if (n1 <= min_neighbors) continue;
        int dropped = 0;
        /* drop small clusters inside a bigger, better-supported one */
        for (int j = 0; j < ncl && !dropped; j++) {
            const FaceBox *r2 = &cl[j];
            int n2 = r2->neighbors;
            if (j == i || n2 <= min_neighbors) continue;
            int dx = (int)lrint(r2->w * eps), dy = (int)lrint(r2->h * eps);
            if (r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
                r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                dropped = 1;
        }
        if (!dropped) rects[m++] = *r1;
    }
    *out_n = m;
    free(parent);
    free(acc);
    free(cl);
    return EMO_OK;
}

static int cmp_box(const void *pa, const void *pb)
{
    const FaceBox *a = pa, *b = pb;
    long long aa = (long long)a->w * a->h, ab = (long long)b->w * b->h;
    if (aa != ab) return aa > ab ? -1 : 1;
    if (a->y != b->y) return a->y < b->y ? -1 : 1;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    if (a->w != b->w) return a->w < b->w ? -1 : 1;
    if (a->h != b->h) return a->h < b->h ? -1 : 1;
    return (a->neighbors > b->neighbors) - (a->neighbors < b->neighbors);
}

int face_boxes_clip_sort(FaceBox *boxes, int n, int w, int h)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        FaceBox b = boxes[i];
        int x0 = b.x > 0 ? b.x : 0, y0 = b.y > 0 ? b.y : 0;
        int x1 = b.x + b.w < w ? b.x + b.w : w, y1 = b.y + b.h < h ? b.y + b.h : h;
        if (x1 <= x0 || y1 <= y0) continue;
        b.x = x0;
        b.y = y0;
        b.w = x1 - x0;
        b.h = y1 - y0;
        boxes[m++] = b;
    }
    qsort(boxes, (size_t)m, sizeof *boxes, cmp_box);
    return m;
}
