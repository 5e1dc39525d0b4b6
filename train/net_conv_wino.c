/* net_conv_wino.c: conv B's training passes by Winograd F(4x4,3x3).
 *
 * Why: conv B (3x3, 64 -> 64 over 46x46) is 40% of a training step's
 * multiply-adds, in three GEMM passes of equal size: forward, input
 * gradient and weight gradient. F(4x4,3x3) (net_infer.c has the
 * transforms) does the first two with 36 products per 4x4 output block
 * instead of 144. The input gradient is the valid conv of the output
 * gradient, framed by two zeros on each side, with the weights turned by
 * 180 degrees and in/out swapped (net_conv3x3_flip). The weight gradient
 * stays a direct GEMM (net_conv3x3_backward without dinp): its Winograd
 * form needs a transform per image of the gradient and of the input, for
 * a smaller gain.
 * Precision: the transforms' constants (up to 8 and 1/24) put the result
 * within ~1e-6 relative of the direct conv (tests/test_net.c checks both
 * passes against the direct ones and the network against PyTorch).
 * Images are independent: one image per OpenMP iteration, its tile rows a
 * few at a time so that V and the products stay in L2. */
#include <string.h>

#include "net_layers.h"

static const int off0[1] = {0};

void net_conv3x3_wino_forward(float *out, const float *in, const float *U, int B, int H, int W, int Ci, int Co,
                              int relu, float *vbuf, float *mbuf, size_t stride, int rows)
{
    const int Ho = H - 2, Wo = W - 2, nty = Ho / 4, ntx = Wo / 4;
    const NetEpilogue plain = {.wf = 1, .wv = 1};
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        const float *a = in + (size_t)n * H * W * Ci;
        float *o = out + (size_t)n * Ho * Wo * Co, *V = vbuf + (size_t)n * stride, *Mt = mbuf + (size_t)n * stride;
        for (int ty0 = 0; ty0 < nty; ty0 += rows) {
            const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
            net_wino4_input(V, a, W, Ci, ty0, nr, ntx);
            for (int e = 0; e < 36; e++)
                net_iconv_f32(Mt + (size_t)e * T * Co, V + (size_t)e * T * Ci, U + (size_t)e * Ci * Co, off0, 1, T,
                              Ci, Co, &plain);
            net_wino4_output_plain(o, Mt, Ho, Wo, Co, ty0, nr, ntx, relu);
        }
    }
}

void net_conv3x3_flip(float *wt, const float *w, int Ci, int Co)
{
    for (int t = 0; t < 9; t++)
        for (int ci = 0; ci < Ci; ci++)
            for (int co = 0; co < Co; co++)
                wt[((size_t)t * Co + co) * Ci + ci] = w[((size_t)(8 - t) * Ci + ci) * Co + co];
}

/* The framed gradient: (4*ceil(H/4)+2) x (4*ceil(W/4)+2), so that whole
 * 4x4 tiles cover the H x W input gradient (the part past it is dropped). */
static int frame_len(int n) { return 4 * ((n + 3) / 4) + 2; }

size_t net_wino_frame_elems(int H, int W, int Co) { return (size_t)frame_len(H) * frame_len(W) * Co; }

void net_conv3x3_wino_backward_data(float *dinp, const float *dout, const float *relu_out, const float *Ut, int B,
                                    int H, int W, int Ci, int Co, float *pbuf, float *vbuf, size_t stride, int rows)
{
    const int Ho = H - 2, Wo = W - 2, Hp = frame_len(H), Wp = frame_len(W);
    const int nty = (Hp - 2) / 4, ntx = (Wp - 2) / 4, cmax = Ci > Co ? Ci : Co;
    const NetEpilogue plain = {.wf = 1, .wv = 1};
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < B; n++) {
        /* P (Hp,Wp,Co): the (masked) gradient at (2,2) in a frame of zeros. */
        float *restrict P = pbuf + (size_t)n * stride;
        const size_t prow = (size_t)Wp * Co;
        for (int y = 0; y < Hp; y++) {
            float *restrict p = P + (size_t)y * prow;
            if (y < 2 || y >= Ho + 2) {
                memset(p, 0, prow * sizeof *p);
                continue;
            }
            memset(p, 0, (size_t)2 * Co * sizeof *p);
            memset(p + (size_t)(Wo + 2) * Co, 0, (size_t)(Wp - Wo - 2) * Co * sizeof *p);
            const size_t o = (((size_t)n * Ho + (y - 2)) * Wo) * Co;
            float *restrict q = p + (size_t)2 * Co;
            if (relu_out)
                for (size_t i = 0; i < (size_t)Wo * Co; i++) q[i] = relu_out[o + i] > 0 ? dout[o + i] : 0.0f;
            else
                memcpy(q, dout + o, (size_t)Wo * Co * sizeof *q);
        }
        float *V = vbuf + (size_t)n * stride, *Mt = V + (size_t)36 * rows * ntx * cmax;
        float *d = dinp + (size_t)n * H * W * Ci;
        for (int ty0 = 0; ty0 < nty; ty0 += rows) {
            const int nr = nty - ty0 < rows ? nty - ty0 : rows, T = nr * ntx;
            net_wino4_input(V, P, Wp, Co, ty0, nr, ntx);
            for (int e = 0; e < 36; e++)
                net_iconv_f32(Mt + (size_t)e * T * Ci, V + (size_t)e * T * Co, Ut + (size_t)e * Co * Ci, off0, 1, T,
                              Co, Ci, &plain);
            net_wino4_output_plain(d, Mt, H, W, Ci, ty0, nr, ntx, 0);
        }
    }
}
