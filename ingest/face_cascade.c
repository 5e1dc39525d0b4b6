/* face_cascade.c: OpenCV cascade XML -> FaceCascade (see face_cascade.h).
 *
 * The layout follows the notes in ../shared/notes/opencv-cascades.md section
 * 1. Numbers are parsed as double and narrowed to float where OpenCV keeps a
 * float (thresholds, leaf values, rect weights), because OpenCV's FileStorage
 * does the same and a direct strtof could round differently. Everything the
 * evaluator later trusts (feature indices, child indices, rects inside the
 * window) is checked here once, so the hot loop needs no bounds checks. */
#include "face_cascade_data.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* OpenCV's loader lowers every stage threshold by this (in float). */
#define FACE_STAGE_EPS 1e-5f

/* Growable array of fixed-size items; the loader's only allocation helper. */
typedef struct {
    void *data;
    int n, cap;
    size_t item;
} Vec;

static void *vec_push(Vec *v)
{
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 64;
        void *d = realloc(v->data, (size_t)cap * v->item);
        if (!d) return NULL;
        v->data = d;
        v->cap = cap;
    }
    return (char *)v->data + (size_t)v->n++ * v->item;
}

/* Loader state: the arrays being built and the file name for messages. */
typedef struct {
    const char *name;
    EmoError *err;
    Vec stages, trees, nodes, leaves, subsets, haar, lbp;
} Loader;

/* ---- small libxml2 helpers ---- */

static xmlNode *first_elem(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) return n;
    return NULL;
}

static xmlNode *next_elem(xmlNode *n)
{
    return n ? first_elem(n->next) : NULL;
}

static xmlNode *child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? first_elem(n->children) : NULL; c; c = next_elem(c))
        if (strcmp((const char *)c->name, name) == 0) return c;
    return NULL;
}

/* Text of an element, malloc'd by libxml2 (xmlFree), NULL if no element. */
static char *text_of(xmlNode *n)
{
    return n ? (char *)xmlNodeGetContent(n) : NULL;
}

static EmoStatus fail(Loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static EmoStatus fail(Loader *L, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return emo_error_set(L->err, EMO_ERR_FORMAT, "%s: %s", L->name, msg);
}

/* Parses up to `max` whitespace-separated numbers of an element's text.
 * Returns the count, or -1 if a token is not a number (or text missing). */
static int parse_numbers(xmlNode *n, double *out, int max)
{
    char *s = text_of(n);
    if (!s) return -1;
    int k = 0;
    char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || k == max) { k = -1; break; }
        if (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') { k = -1; break; }
        out[k++] = v;
        p = end;
    }
    xmlFree(s);
    return k;
}

/* True when v is a whole number that fits an int; the range test comes
 * first because converting an out-of-range double to int is undefined. */
static int is_int(double v)
{
    return v >= INT_MIN && v <= INT_MAX && v == (double)(int)v;
}

/* One integer element (e.g. <width>24</width>). */
static int parse_int_elem(xmlNode *parent, const char *name, int *out)
{
    double v;
    if (parse_numbers(child(parent, name), &v, 1) != 1) return -1;
    if (!is_int(v)) return -1; /* fuzz_cascade: <width>2e12</width> */
    *out = (int)v;
    return 0;
}

/* Counts the numbers of an element's text without storing them. */
static int count_numbers(xmlNode *n)
{
    char *s = text_of(n);
    if (!s) return -1;
    int k = 0, in = 0;
    for (char *p = s; *p; p++) {
        int sp = (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');
        if (!sp && !in) k++;
        in = !sp;
    }
    xmlFree(s);
    return k;
}

/* Reads a list element into a malloc'd double array. */
static EmoStatus read_list(Loader *L, xmlNode *n, const char *what, double **vals, int *count)
{
    int cnt = count_numbers(n);
    if (cnt <= 0) return fail(L, "missing or empty <%s>", what);
    double *v = malloc((size_t)cnt * sizeof *v);
    if (!v) return emo_error_set(L->err, EMO_ERR_NOMEM, "%s: out of memory", L->name);
    if (parse_numbers(n, v, cnt) != cnt) {
        free(v);
        return fail(L, "<%s> holds a value that is not a number", what);
    }
    *vals = v;
    *count = cnt;
    return EMO_OK;
}

#define NOMEM(L) emo_error_set((L)->err, EMO_ERR_NOMEM, "%s: out of memory", (L)->name)

/* ---- new format: <cascade type_id="opencv-cascade-classifier"> ---- */

static EmoStatus read_tree(Loader *L, FaceCascade *c, xmlNode *wc, long tree_no)
{
    int per_node = c->type == FACE_FEATURE_LBP ? 3 + c->subset_words : 4;
    double *iv = NULL, *lv = NULL;
    int ni, nl;
    EmoStatus st = read_list(L, child(wc, "internalNodes"), "internalNodes", &iv, &ni);
    if (st != EMO_OK) return st;
    st = read_list(L, child(wc, "leafValues"), "leafValues", &lv, &nl);
    if (st != EMO_OK) { free(iv); return st; }
    int nnodes = ni / per_node;
    if (ni % per_node != 0 || nnodes < 1 || nl != nnodes + 1) {
        st = fail(L, "weak classifier %ld: node and leaf counts do not match", tree_no);
        goto out;
    }
    FaceTree *t = vec_push(&L->trees);
    if (!t) { st = NOMEM(L); goto out; }
    t->first_node = L->nodes.n;
    t->nnodes = nnodes;
    t->first_leaf = L->leaves.n;
    for (int k = 0; k < nnodes; k++) {
        const double *q = iv + (size_t)k * per_node;
        if (!is_int(q[0]) || !is_int(q[1]) || !is_int(q[2])) {
            st = fail(L, "weak classifier %ld: non-integer node index", tree_no);
            goto out;
        }
        FaceNode *nd = vec_push(&L->nodes);
        if (!nd) { st = NOMEM(L); goto out; }
        nd->left = (int)q[0];
        nd->right = (int)q[1];
        nd->feature = (int)q[2];
        nd->threshold = 0.f;
        /* Children must come after their parent (no loops) and leaves must
         * exist; OpenCV's files are all written that way. */
        if ((nd->left > 0 && (nd->left <= k || nd->left >= nnodes)) ||
            (nd->right > 0 && (nd->right <= k || nd->right >= nnodes)) ||
            -nd->left > nnodes || -nd->right > nnodes || nd->feature < 0) {
            st = fail(L, "weak classifier %ld: child or feature index out of range", tree_no);
            goto out;
        }
        if (c->type == FACE_FEATURE_LBP) {
            for (int j = 0; j < c->subset_words; j++) {
                if (!is_int(q[3 + j])) {
                    st = fail(L, "weak classifier %ld: LBP subset word is not an int32", tree_no);
                    goto out;
                }
                uint32_t *w = vec_push(&L->subsets);
                if (!w) { st = NOMEM(L); goto out; }
                *w = (uint32_t)(int32_t)q[3 + j];
            }
        } else {
            nd->threshold = (float)q[3];
        }
    }
    for (int k = 0; k < nl; k++) {
        float *f = vec_push(&L->leaves);
        if (!f) { st = NOMEM(L); goto out; }
        *f = (float)lv[k];
    }
out:
    free(iv);
    free(lv);
    return st;
}

static EmoStatus read_haar_rect(Loader *L, xmlNode *r, FaceHaarRect *out, long fi)
{
    double v[5];
    if (parse_numbers(r, v, 5) != 5 || !is_int(v[0]) || !is_int(v[1]) || !is_int(v[2]) || !is_int(v[3]))
        return fail(L, "feature %ld: a rect is not \"x y w h weight\"", fi);
    out->x = (int)v[0];
    out->y = (int)v[1];
    out->w = (int)v[2];
    out->h = (int)v[3];
    out->weight = (float)v[4];
    return EMO_OK;
}

/* Reads <rects> (+ optional <tilted>) of one Haar feature. */
static EmoStatus read_haar_feature(Loader *L, xmlNode *rects, xmlNode *tilted, long fi)
{
    FaceHaarFeature *f = vec_push(&L->haar);
    if (!f) return NOMEM(L);
    memset(f, 0, sizeof *f);
    int nr = 0;
    if (!rects) return fail(L, "feature %ld: no <rects>", fi);
    for (xmlNode *r = first_elem(rects->children); r; r = next_elem(r)) {
        if (nr == 3) return fail(L, "feature %ld: more than 3 rects", fi);
        EMO_RETURN_IF_ERR(read_haar_rect(L, r, &f->r[nr], fi));
        nr++;
    }
    if (nr == 0) return fail(L, "feature %ld: no rects", fi);
    f->nrects = (nr == 3 && f->r[2].weight != 0.f) ? 3 : 2;
    if (tilted) {
        int t;
        if (parse_int_elem(tilted->parent, "tilted", &t) != 0)
            return fail(L, "feature %ld: <tilted> is not 0 or 1", fi);
        f->tilted = t != 0;
    }
    return EMO_OK;
}

static EmoStatus read_new_format(Loader *L, FaceCascade *c, xmlNode *cas)
{
    char *s = text_of(child(cas, "stageType"));
    int boost = s && strcmp(s + strspn(s, " \t\r\n"), "BOOST") == 0;
    xmlFree(s);
    if (!boost) return fail(L, "unsupported or missing stageType (only BOOST)");

    s = text_of(child(cas, "featureType"));
    const char *ft = s ? s + strspn(s, " \t\r\n") : "";
    if (strncmp(ft, "HAAR", 4) == 0) c->type = FACE_FEATURE_HAAR;
    else if (strncmp(ft, "LBP", 3) == 0) c->type = FACE_FEATURE_LBP;
    else {
        int hog = strncmp(ft, "HOG", 3) == 0;
        xmlFree(s);
        if (hog)
            return emo_error_set(L->err, EMO_ERR_UNSUPPORTED, "%s: HOG cascades are not supported", L->name);
        return fail(L, "missing or unknown featureType (want HAAR or LBP)");
    }
    xmlFree(s);
    if (parse_int_elem(cas, "width", &c->win_w) != 0 || parse_int_elem(cas, "height", &c->win_h) != 0 ||
        c->win_w < 1 || c->win_h < 1 || c->win_w > 4096 || c->win_h > 4096)
        return fail(L, "missing or bad window <width>/<height>");
    int maxcat = 0;
    xmlNode *fp = child(cas, "featureParams");
    if (fp && child(fp, "maxCatCount") && parse_int_elem(fp, "maxCatCount", &maxcat) != 0)
        return fail(L, "bad featureParams/maxCatCount");
    if (c->type == FACE_FEATURE_LBP) {
        if (maxcat != 256) return fail(L, "LBP cascade with maxCatCount %ld (want 256)", (long)(maxcat));
        c->subset_words = (maxcat + 31) / 32;
    } else if (maxcat != 0) {
        return fail(L, "HAAR cascade with maxCatCount %ld (want 0)", (long)(maxcat));
    }

    xmlNode *stages = child(cas, "stages");
    if (!stages) return fail(L, "no <stages>");
    long tree_no = 0;
    for (xmlNode *sn = first_elem(stages->children); sn; sn = next_elem(sn)) {
        double th;
        if (parse_numbers(child(sn, "stageThreshold"), &th, 1) != 1)
            return fail(L, "stage %ld: missing or bad stageThreshold", (long)(L->stages.n));
        xmlNode *wcs = child(sn, "weakClassifiers");
        if (!wcs) return fail(L, "stage %ld: no <weakClassifiers>", (long)(L->stages.n));
        FaceStage *stg = vec_push(&L->stages);
        if (!stg) return NOMEM(L);
        stg->first_tree = L->trees.n;
        stg->threshold = (float)th - FACE_STAGE_EPS;
        for (xmlNode *wc = first_elem(wcs->children); wc; wc = next_elem(wc))
            EMO_RETURN_IF_ERR(read_tree(L, c, wc, tree_no++));
        /* re-fetch: read_tree may have grown other arrays, not this one */
        stg = (FaceStage *)L->stages.data + (L->stages.n - 1);
        stg->ntrees = L->trees.n - stg->first_tree;
        if (stg->ntrees == 0) return fail(L, "stage %ld: no weak classifiers", (long)(L->stages.n - 1));
    }
    if (L->stages.n == 0) return fail(L, "no stages");

    xmlNode *feats = child(cas, "features");
    if (!feats) return fail(L, "no <features>");
    long fi = 0;
    for (xmlNode *f = first_elem(feats->children); f; f = next_elem(f), fi++) {
        if (c->type == FACE_FEATURE_LBP) {
            double v[4];
            if (parse_numbers(child(f, "rect"), v, 4) != 4 || !is_int(v[0]) || !is_int(v[1]) ||
                !is_int(v[2]) || !is_int(v[3]))
                return fail(L, "LBP feature %ld: <rect> is not \"x y w h\"", fi);
            FaceLbpFeature *lf = vec_push(&L->lbp);
            if (!lf) return NOMEM(L);
            lf->x = (int)v[0];
            lf->y = (int)v[1];
            lf->w = (int)v[2];
            lf->h = (int)v[3];
        } else {
            EMO_RETURN_IF_ERR(read_haar_feature(L, child(f, "rects"), child(f, "tilted"), fi));
        }
    }
    return EMO_OK;
}

/* ---- old format: <name type_id="opencv-haar-classifier"> ----
 * Converted as cv2 does on load: each old node carries its own feature,
 * which is appended to the feature list; left_val/right_val become leaves,
 * left_node/right_node node indices. */

static EmoStatus old_child(Loader *L, xmlNode *nd, const char *val_name, const char *node_name,
                           int k, int nnodes, int *child_out, int *nleaves, long tree_no)
{
    xmlNode *v = child(nd, val_name);
    double d;
    if (v) {
        if (parse_numbers(v, &d, 1) != 1) return fail(L, "old tree %ld: bad leaf value", tree_no);
        float *f = vec_push(&L->leaves);
        if (!f) return NOMEM(L);
        *f = (float)d;
        *child_out = -(*nleaves)++;
        return EMO_OK;
    }
    v = child(nd, node_name);
    if (!v || parse_numbers(v, &d, 1) != 1 || !is_int(d) || (int)d <= k || (int)d >= nnodes)
        return fail(L, "old tree %ld: bad child node", tree_no);
    *child_out = (int)d;
    return EMO_OK;
}

static EmoStatus read_old_format(Loader *L, FaceCascade *c, xmlNode *cas)
{
    double sz[2];
    if (parse_numbers(child(cas, "size"), sz, 2) != 2 || !is_int(sz[0]) || !is_int(sz[1]) ||
        sz[0] < 1 || sz[1] < 1 || sz[0] > 4096 || sz[1] > 4096)
        return fail(L, "old-format cascade without a valid <size>");
    c->type = FACE_FEATURE_HAAR;
    c->win_w = (int)sz[0];
    c->win_h = (int)sz[1];
    xmlNode *stages = child(cas, "stages");
    if (!stages) return fail(L, "no <stages>");
    long tree_no = 0;
    for (xmlNode *sn = first_elem(stages->children); sn; sn = next_elem(sn)) {
        double th;
        if (parse_numbers(child(sn, "stage_threshold"), &th, 1) != 1)
            return fail(L, "stage %ld: missing stage_threshold", (long)(L->stages.n));
        xmlNode *trees = child(sn, "trees");
        if (!trees) return fail(L, "stage %ld: no <trees>", (long)(L->stages.n));
        int first_tree = L->trees.n;
        for (xmlNode *tn = first_elem(trees->children); tn; tn = next_elem(tn), tree_no++) {
            int nnodes = 0;
            for (xmlNode *nd = first_elem(tn->children); nd; nd = next_elem(nd)) nnodes++;
            if (nnodes == 0) return fail(L, "old tree %ld: no nodes", tree_no);
            FaceTree *t = vec_push(&L->trees);
            if (!t) return NOMEM(L);
            t->first_node = L->nodes.n;
            t->nnodes = nnodes;
            t->first_leaf = L->leaves.n;
            int nleaves = 0, k = 0;
            for (xmlNode *nd = first_elem(tn->children); nd; nd = next_elem(nd), k++) {
                xmlNode *feat = child(nd, "feature");
                if (!feat) return fail(L, "old tree %ld: node without <feature>", tree_no);
                EMO_RETURN_IF_ERR(read_haar_feature(L, child(feat, "rects"), child(feat, "tilted"), L->haar.n));
                double t2;
                if (parse_numbers(child(nd, "threshold"), &t2, 1) != 1)
                    return fail(L, "old tree %ld: bad node threshold", tree_no);
                FaceNode node = {0, 0, L->haar.n - 1, (float)t2};
                EMO_RETURN_IF_ERR(old_child(L, nd, "left_val", "left_node", k, nnodes, &node.left, &nleaves, tree_no));
                EMO_RETURN_IF_ERR(old_child(L, nd, "right_val", "right_node", k, nnodes, &node.right, &nleaves, tree_no));
                FaceNode *dst = vec_push(&L->nodes);
                if (!dst) return NOMEM(L);
                *dst = node;
            }
            if (nleaves != nnodes + 1) return fail(L, "old tree %ld: leaf count is not nodes + 1", tree_no);
        }
        FaceStage *stg = vec_push(&L->stages);
        if (!stg) return NOMEM(L);
        stg->first_tree = first_tree;
        stg->ntrees = L->trees.n - first_tree;
        stg->threshold = (float)th - FACE_STAGE_EPS;
        if (stg->ntrees == 0) return fail(L, "stage %ld: no trees", (long)(L->stages.n - 1));
    }
    if (L->stages.n == 0) return fail(L, "no stages");
    return EMO_OK;
}

/* ---- checks shared by both formats ---- */

static int rect_inside(int x, int y, int w, int h, int W, int H)
{
    return x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= W && y + h <= H;
}

static EmoStatus validate(Loader *L, FaceCascade *c)
{
    for (int i = 0; i < c->nnodes; i++)
        if (c->nodes[i].feature >= c->nfeatures)
            return fail(L, "node %ld uses a feature index past the feature list", (long)(i));
    int W = c->win_w, H = c->win_h;
    for (int i = 0; i < c->nfeatures; i++) {
        if (c->type == FACE_FEATURE_LBP) {
            const FaceLbpFeature *f = &c->lbp[i];
            if (f->w < 1 || f->h < 1 || !rect_inside(f->x, f->y, 3 * f->w, 3 * f->h, W, H))
                return fail(L, "LBP feature %ld lies outside the window", (long)(i));
            continue;
        }
        const FaceHaarFeature *f = &c->haar[i];
        for (int r = 0; r < f->nrects; r++) {
            const FaceHaarRect *q = &f->r[r];
            if (!f->tilted) {
                if (!rect_inside(q->x, q->y, q->w, q->h, W, H))
                    return fail(L, "feature %ld has a rect outside the window", (long)(i));
            } else {
                /* tilted corners: (x,y) (x-h,y+h) (x+w,y+w) (x+w-h,y+w+h) */
                if (q->w < 0 || q->h < 0 || q->x - q->h < 0 || q->x + q->w > W || q->y < 0 ||
                    q->y + q->w + q->h > H)
                    return fail(L, "tilted feature %ld has a rect outside the window", (long)(i));
            }
        }
        if (f->tilted) c->has_tilted = 1;
    }
    c->stumps_only = 1;
    c->max_tree_nodes = 0;
    for (int t = 0; t < c->ntrees; t++) {
        if (c->trees[t].nnodes != 1) c->stumps_only = 0;
        if (c->trees[t].nnodes > c->max_tree_nodes) c->max_tree_nodes = c->trees[t].nnodes;
    }
    return EMO_OK;
}

static void free_loader(Loader *L)
{
    free(L->stages.data);
    free(L->trees.data);
    free(L->nodes.data);
    free(L->leaves.data);
    free(L->subsets.data);
    free(L->haar.data);
    free(L->lbp.data);
}

static EmoStatus load_doc(xmlDoc *doc, const char *name, FaceCascade **out, EmoError *err)
{
    Loader L = {
        .name = name, .err = err,
        .stages = {.item = sizeof(FaceStage)}, .trees = {.item = sizeof(FaceTree)},
        .nodes = {.item = sizeof(FaceNode)}, .leaves = {.item = sizeof(float)},
        .subsets = {.item = sizeof(uint32_t)}, .haar = {.item = sizeof(FaceHaarFeature)},
        .lbp = {.item = sizeof(FaceLbpFeature)},
    };
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "opencv_storage") != 0)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: not an OpenCV cascade (root element <%s>, want <opencv_storage>)",
                             name, root ? (const char *)root->name : "none");
    xmlNode *cas = first_elem(root->children);
    if (!cas) return emo_error_set(err, EMO_ERR_FORMAT, "%s: not an OpenCV cascade (empty <opencv_storage>)", name);
    FaceCascade *c = calloc(1, sizeof *c);
    if (!c) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    xmlChar *type_id = xmlGetProp(cas, (const xmlChar *)"type_id");
    EmoStatus st;
    if (child(cas, "stageType") || child(cas, "stages") || child(cas, "featureType"))
        st = child(cas, "size") && !child(cas, "stageType") ? read_old_format(&L, c, cas) : read_new_format(&L, c, cas);
    else if (type_id && strcmp((const char *)type_id, "opencv-haar-classifier") == 0)
        st = read_old_format(&L, c, cas);
    else
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: not an OpenCV cascade (<%s> has no stages)", name,
                           (const char *)cas->name);
    xmlFree(type_id);
    if (st == EMO_OK) {
        c->stages = L.stages.data; c->nstages = L.stages.n;
        c->trees = L.trees.data;   c->ntrees = L.trees.n;
        c->nodes = L.nodes.data;   c->nnodes = L.nodes.n;
        c->leaves = L.leaves.data; c->nleaves = L.leaves.n;
        c->subsets = L.subsets.data;
        c->haar = L.haar.data;
        c->lbp = L.lbp.data;
        c->nfeatures = c->type == FACE_FEATURE_LBP ? L.lbp.n : L.haar.n;
        st = validate(&L, c);
        if (st == EMO_OK) {
            *out = c;
            return EMO_OK;
        }
        face_cascade_free(c);
        return st;
    }
    free_loader(&L);
    free(c);
    return st;
}

/* libxml2 keeps the last error in the parser context; with NOERROR and
 * NOWARNING it prints nothing, and we copy the message (minus its newline)
 * so the EmoError names the line. */
static void xml_err_text(xmlParserCtxt *ctx, char *buf, size_t cap)
{
    const xmlError *e = xmlCtxtGetLastError(ctx);
    if (!e || !e->message) {
        snprintf(buf, cap, "parse error");
        return;
    }
    snprintf(buf, cap, "line %d: %s", e->line, e->message);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
}

static EmoStatus parse_and_load(const char *xml, size_t size, const char *path, const char *name,
                                FaceCascade **c, EmoError *err)
{
    if (!c) return emo_error_set(err, EMO_ERR_ARG, "face_cascade_load: NULL output");
    *c = NULL;
    xmlInitParser(); /* idempotent; makes later parses in threads safe */
    xmlParserCtxt *ctx = xmlNewParserCtxt();
    if (!ctx) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    /* No XML_PARSE_HUGE and no NOENT: libxml2 keeps its entity-amplification
     * and size limits, so a "billion laughs" file fails fast (test_faults). */
    int opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDoc *doc = path ? xmlCtxtReadFile(ctx, path, NULL, opts)
                       : xmlCtxtReadMemory(ctx, xml, (int)size, name, NULL, opts);
    EmoStatus st;
    if (!doc) {
        char why[200];
        xml_err_text(ctx, why, sizeof why);
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: malformed XML: %s", name, why);
    } else {
        st = load_doc(doc, name, c, err);
        xmlFreeDoc(doc);
    }
    xmlFreeParserCtxt(ctx);
    return st;
}

EmoStatus face_cascade_load(const char *path, FaceCascade **c, EmoError *err)
{
    if (!path) return emo_error_set(err, EMO_ERR_ARG, "face_cascade_load: NULL path");
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return emo_error_set(err, e == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", path, strerror(e));
    }
    fclose(f);
    return parse_and_load(NULL, 0, path, path, c, err);
}

EmoStatus face_cascade_load_memory(const char *xml, size_t size, const char *name, FaceCascade **c,
                                   EmoError *err)
{
    if (!xml || size > (size_t)INT_MAX)
        return emo_error_set(err, EMO_ERR_ARG, "face_cascade_load_memory: bad buffer");
    return parse_and_load(xml, size, NULL, name ? name : "(memory)", c, err);
}

void face_cascade_free(FaceCascade *c)
{
    if (!c) return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->subsets);
    free(c->haar);
    free(c->lbp);
    free(c);
}

int face_cascade_window(const FaceCascade *c, int *w, int *h)
{
    if (!c) return -1;
    if (w) *w = c->win_w;
    if (h) *h = c->win_h;
    return 0;
}

const char *face_cascade_feature_name(const FaceCascade *c)
{
    return c && c->type == FACE_FEATURE_LBP ? "LBP" : "HAAR";
}

int face_cascade_stage_count(const FaceCascade *c)
{
    return c ? c->nstages : 0;
}
