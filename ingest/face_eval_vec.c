/* face_eval_vec.c: the row scan (vector path to come; scalar for now). */
#include "face_eval.h"

int face_eval_row(const FaceEvalLevel *lv, int y, int nx, int step, int *xs)
{
    return face_eval_row_scalar(lv, y, nx, step, xs);
}
