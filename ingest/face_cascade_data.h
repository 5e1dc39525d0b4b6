/* face_cascade_data.h: the in-memory layout of a loaded cascade.
 *
 * Internal to ingest/face_*.c: the loader (face_cascade.c) fills it and the
 * window evaluator (face_eval.c) reads it. Callers outside the face code see
 * only the opaque FaceCascade of face_cascade.h.
 *
 * Weak classifiers are trees of nodes; a child index > 0 is a node of the
 * same tree, a child <= 0 is a leaf (leaves[tree.first_leaf - child]). The
 * loader guarantees every child node index is greater than its parent's, so
 * a tree is walked, or evaluated node by node in index order, without loops. */
#ifndef FACE_CASCADE_DATA_H
#define FACE_CASCADE_DATA_H

#include <stdint.h>

#include "face_cascade.h"

typedef enum { FACE_FEATURE_HAAR = 0, FACE_FEATURE_LBP = 1 } FaceFeatureType;

/* Haar rectangle in window coordinates with its weight. */
typedef struct {
    int x, y, w, h;
    float weight;
} FaceHaarRect;

typedef struct {
    FaceHaarRect r[3];
    int nrects;     /* 2, or 3 when a third rect with weight != 0 exists (OpenCV
                       adds the third term only then; a lone rect gets an
                       empty second one with weight 0) */
    int tilted;     /* 1 = 45-degree feature on the tilted integral */
} FaceHaarFeature;

/* LBP: a 3x3 grid of w x h cells whose top-left cell starts at (x, y). */
typedef struct {
    int x, y, w, h;
} FaceLbpFeature;

typedef struct {
    int left, right;    /* > 0: node index in the tree; <= 0: leaf -child */
    int feature;        /* index into the feature list */
    float threshold;    /* Haar: go left if value < threshold */
} FaceNode;

typedef struct {
    int first_node;     /* index into nodes */
    int nnodes;
    int first_leaf;     /* index into leaves; nnodes + 1 leaves */
} FaceTree;

typedef struct {
    int first_tree;
    int ntrees;
    float threshold;    /* already lowered by 1e-5f, as OpenCV's loader does */
} FaceStage;

struct FaceCascade {
    FaceFeatureType type;
    int win_w, win_h;
    int subset_words;        /* LBP: 32-bit words per node subset, else 0 */
    int stumps_only;         /* every tree has exactly one node */
    int max_tree_nodes;
    int has_tilted;
    FaceStage *stages;
    int nstages;
    FaceTree *trees;
    int ntrees;
    FaceNode *nodes;
    int nnodes;
    float *leaves;
    int nleaves;
    uint32_t *subsets;       /* LBP: nnodes * subset_words */
    FaceHaarFeature *haar;   /* type HAAR */
    FaceLbpFeature *lbp;     /* type LBP */
    int nfeatures;
};

#endif /* FACE_CASCADE_DATA_H */
