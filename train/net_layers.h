/* net_layers.h: the CNN's layers as forward/backward pairs over plain float arrays.
 *
 * Every tensor is NHWC (batch, rows, columns, channels), channels fastest.
 * Why NHWC and not NCHW: measured on this CPU (see net_model.c), NHWC turns
 * every 1x1 convolution into ONE GEMM over the whole batch (rows = B*H*W),
 * a 3x3 convolution into nine shifted GEMMs with no im2col buffer at all,
 * and lets depthwise conv, batch norm and max-pool vectorize over the
 * channel axis (64..256, a multiple of the 16 floats of an AVX-512 register)
 * with unit stride.
 *
 * Dimension legend: B batch, H/W input rows/columns, Ho/Wo output ones,
 * C/Ci/Co channels (in/out), R = B*H*W rows of a per-pixel tensor.
 * Weight layouts (PyTorch's OIHW permuted so the GEMMs need no transpose):
 *   3x3 conv   w[3][3][Ci][Co]  (HWIO)
 *   1x1 conv   w[Ci][Co]
 *   depthwise  w[3][3][C]
 *
 * Conventions (llm.c): outputs first, then inputs, then dims. Parameter
 * gradients ACCUMULATE (+=) so that the caller zeroes them once per step;
 * input gradients are OVERWRITTEN unless a function says otherwise. Shapes
 * are checked once when a model is built, never here. Functions that reduce
 * over the batch (parameter gradients, BN statistics) take `red`, a scratch
 * of NET_RED_DOUBLES(C) doubles, and split the rows into a fixed number of
 * chunks so that the result does not depend on the number of threads.
 * Nothing here allocates, prints or fails. */
#ifndef NET_LAYERS_H
#define NET_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* 1x1 GEMMs are split into this many row blocks, 3x3 ones into images (see
 * net_conv.c); layers that compute weight gradients by GEMM take `wpart`,
 * a scratch of NET_WPART_FLOATS(weight size, batch) floats for the
 * per-block sums (and, for the 1x1 backward, its transposed weights). */
#define NET_GEMM_CHUNKS 8
#define NET_WPART_FLOATS(nw, B) ((size_t)((B) > NET_GEMM_CHUNKS ? (B) + 1 : NET_GEMM_CHUNKS + 1) * (size_t)(nw))

/* Rows are split into this many chunks for deterministic reductions. */
#define NET_RED_CHUNKS 32
/* Scratch (in doubles) a reducing layer over C channels needs: per chunk
 * 9*C double partial sums and 9*C float row accumulators, plus 4*C. */
#define NET_RED_DOUBLES(C) ((size_t)NET_RED_CHUNKS * 9 * (size_t)(C) * 3 / 2 + 4 * (size_t)(C) + 8)

/*-*** Convolutions ***/

/* Conv 3x3, valid, one input channel, no bias, optional fused ReLU.
 * out (B,H-2,W-2,Co), in (B,H,W), w (3,3,Co). */
void net_conv3x3c1_forward(float *out, const float *in, const float *w, int B, int H, int W, int Co, int relu);
/* dw (3,3,Co) +=; dout (B,H-2,W-2,Co); relu_out = the forward output when
 * the ReLU was fused (its zeros mask dout), else NULL. No input gradient:
 * this is the first layer. */
void net_conv3x3c1_backward(float *dw, const float *dout, const float *relu_out, const float *in, int B, int H,
                            int W, int Co, double *red);

/* Conv 3x3, valid (pad the input first for "same"), optional bias and fused
 * ReLU, as nine shifted GEMMs: in NHWC, the input pixel under tap (ky,kx) of
 * output pixel p = (n*H + y)*W + x is p + ky*W + kx, so for each tap the whole
 * batch is one GEMM of M = B*H*W - 2*W - 2 rows (the rows for x >= W-2 or
 * y >= H-2 are computed and dropped: ~9% extra work at 46x46, no im2col).
 * out (B,H-2,W-2,Co); full (B*H*W,Co) scratch; in (B,H,W,Ci); w (3,3,Ci,Co);
 * bias (Co) or NULL. */
void net_conv3x3_forward(float *out, float *full, const float *in, const float *w, const float *bias, int B, int H,
                         int W, int Ci, int Co, int relu);
/* dinp (B,H,W,Ci) or NULL; dw (3,3,Ci,Co) +=; dbias (Co) += or NULL;
 * full (B*H*W,Co) scratch; dout (B,H-2,W-2,Co); relu_out as above. */
void net_conv3x3_backward(float *dinp, float *dw, float *dbias, float *full, const float *dout,
                          const float *relu_out, const float *in, const float *w, int B, int H, int W, int Ci,
                          int Co, double *red, float *wpart);

/* Conv 1x1 (pointwise), no bias: a GEMM. out (R,Co), in (R,Ci), w (Ci,Co).
 * stats: NULL, or the red scratch of the train-mode batch norm that follows:
 * receives its statistics' partials (net_bn_part_rows) and the return value
 * is their number of chunks, for net_bn_forward_train's nparts (else 0). */
int net_conv1x1_forward(float *out, const float *in, const float *w, size_t R, int Ci, int Co, double *stats);
/* Rows per piece of the 1x1 convs' GEMMs (net_conv.c). */
#define NET_PW_SUB 512
/* A batch norm right after a 1x1 conv whose backward the conv's backward
 * finishes (its second half, net_bn_backward_rows): the conv's output
 * gradient is then made from these, a piece at a time, and never stored. */
typedef struct {
    const float *dout;     /* (R,Co) the BN's output gradient */
    const float *relu_ab;  /* (2*Co) its affine map when a ReLU was fused after it, or NULL */
    const float *in;       /* (R,Co) its input: the conv's forward output */
    const float *mean, *invstd, *coef; /* (C), (C) from its forward; (3*C) net_bn_backward_sums */
    float *scratch;                    /* NET_GEMM_CHUNKS * NET_PW_SUB * Co floats */
} NetBNGrad;
/* dinp (R,Ci) or NULL (may be the same array as in); dw (Ci,Co) +=; dout
 * (R,Co), or NULL when bn gives it. */
void net_conv1x1_backward(float *dinp, float *dw, const float *dout, const float *in, const float *w, size_t R,
                          int Ci, int Co, float *wpart, const NetBNGrad *bn);

/* Conv 1x1 stride 2, no bias (the residual shortcut). Ho = (H-1)/2+1.
 * out (B,Ho,Wo,Co); gather (B*Ho*Wo,Ci) scratch; in (B,H,W,Ci); stats as
 * net_conv1x1_forward. */
int net_conv1x1s2_forward(float *out, float *gather, const float *in, const float *w, int B, int H, int W, int Ci,
                          int Co, double *stats);
/* dinp (B,H,W,Ci) += (on the stride grid: the other pixels get nothing);
 * dw +=; gather (B*Ho*Wo,Ci) scratch; dout (B,Ho,Wo,Co), or NULL with bn
 * (the batch norm after it, as net_conv1x1_backward). */
void net_conv1x1s2_backward(float *dinp, float *dw, float *gather, const float *dout, const float *in,
                            const float *w, int B, int H, int W, int Ci, int Co, float *wpart, const NetBNGrad *bn);

/* Depthwise conv 3x3, padding 1, no bias. out, in (B,H,W,C); w (3,3,C). */
void net_dwconv3x3_forward(float *out, const float *in, const float *w, int B, int H, int W, int C);
/* dinp (B,H,W,C) overwritten, or += when accumulate; dw (3,3,C) +=. */
void net_dwconv3x3_backward(float *dinp, float *dw, const float *dout, const float *in, const float *w, int B,
                            int H, int W, int C, int accumulate, double *red);

/*-*** Batch norm (per channel over R rows), optional fused ReLU after it ***/

/* Train mode: normalizes with the batch statistics, saves mean and invstd
 * (C) for backward, and updates running_mean/var the PyTorch way:
 * r = (1-momentum)*r + momentum*stat, with the unbiased variance (R/(R-1)).
 * nparts = 0: the statistics come from a pass over in; nparts > 0: the
 * producer of in has left them in red, as net_bn_part_rows partials of
 * nparts chunks that cover the R rows. ab (2*C) receives the affine map
 * it applied, y = a*x + b (a, then b): a fused ReLU's backward needs it. */
void net_bn_forward_train(float *out, float *ab, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *in, const float *gamma, const float *beta, size_t R, int C,
                          float momentum, float eps, int relu, int nparts, double *red);
/* The train-mode statistics and running-stat update of net_bn_forward_train
 * without applying them: a, b (C) receive the per-channel affine map
 * y = a*x + b, for a consumer that fuses it (net_maxpool_bn_forward). */
void net_bn_stats_train(float *a, float *b, float *mean, float *invstd, float *running_mean, float *running_var,
                        const float *in, const float *gamma, const float *beta, size_t R, int C, float momentum,
                        float eps, int nparts, double *red);
/* Adds n rows (C) of chunk j to its partial statistics in red (first: the
 * chunk's first rows, which also set its shift; n may be 0). For a producer
 * that adds its output rows while they are in cache, each chunk's rows in
 * the same order every time (the sums are then independent of threads). */
void net_bn_part_rows(double *red, int C, int j, const float *rows, size_t n, int first);
/* out = a*in + b per channel (a, b (C)), then ReLU when relu. */
void net_bn_apply(float *out, const float *in, const float *a, const float *b, size_t R, int C, int relu);
/* The eval-mode affine map a, b (C) from the running statistics. */
void net_bn_affine_eval(float *a, float *b, const float *gamma, const float *beta, const float *running_mean,
                        const float *running_var, int C, float eps);
/* Eval mode: normalizes with the running statistics. */
void net_bn_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, size_t R, int C, float eps, int relu,
                         double *red);
/* Train-mode backward. dinp (R,C) overwritten; dgamma, dbeta (C) +=;
 * relu_ab = the forward's affine map (net_bn_forward_train's ab) when the
 * ReLU was fused (dout passes where a*in + b > 0), else NULL. */
void net_bn_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *relu_ab,
                     const float *in, const float *mean, const float *invstd, const float *gamma, size_t R, int C,
                     double *red);
/* The same in two halves, for a consumer that fuses the second one
 * (net_conv1x1_backward): net_bn_backward_sums reads dout and in once, adds
 * to dgamma and dbeta and leaves in coef (3*C floats) what
 * net_bn_backward_rows needs to compute dinp for any n rows, given
 * pointers to the same rows of dout and in. */
void net_bn_backward_sums(float *coef, float *dgamma, float *dbeta, const float *dout, const float *relu_ab,
                          const float *in, const float *mean, const float *invstd, const float *gamma, size_t R,
                          int C, double *red);
void net_bn_backward_rows(float *dinp, const float *dout, const float *relu_ab, const float *in, const float *mean,
                          const float *invstd, const float *coef, size_t n, int C);

/*-*** Pooling, the head ***/

/* Max-pool 3x3, stride 2, padding 1 (PyTorch: first maximum in scan order).
 * out (B,Ho,Wo,C); argmax (B,Ho,Wo,C) = input pixel index y*W+x in its image. */
void net_maxpool_forward(float *out, int *argmax, const float *in, int B, int H, int W, int C);
/* Max-pool of a*in+b (a batch norm's affine map, a, b (C)) without
 * writing the normalized tensor: saves one write and one read of it. With
 * res (B,Ho,Wo,C), adds ra*res + rb (the shortcut after its batch norm,
 * ra, rb (C)) to the pooled output: the residual module's sum in the same
 * pass. res NULL: nothing added. */
void net_maxpool_bn_forward(float *out, int *argmax, const float *in, const float *a, const float *b, int B, int H,
                            int W, int C, const float *res, const float *ra, const float *rb);
/* dinp (B,H,W,C) overwritten. */
void net_maxpool_backward(float *dinp, const float *dout, const int *argmax, int B, int H, int W, int C);

/* The head: conv 3x3 (padding 1, with bias) from C to K channels, then the
 * global average pool, as one linear map (net_head.c). logits (B,K); S
 * (B,9,C) the mean of in under each tap, kept for the backward; in
 * (B,H,W,C); w (3,3,C,K); bias (K). */
void net_head_forward(float *logits, float *S, const float *in, const float *w, const float *bias, int B, int H,
                      int W, int C, int K);
/* dinp (B,H,W,C) overwritten; dw (3,3,C,K) and dbias (K) +=; U (B,9,C)
 * scratch; dlogits (B,K); S from the forward. */
void net_head_backward(float *dinp, float *dw, float *dbias, float *U, const float *dlogits, const float *S,
                       const float *w, int B, int H, int W, int C, int K);

/*-*** Inference kernels: one image, one thread (net_infer.c) ***/

/* The per-element tail of a conv: v = sum + bias[n], ReLU when relu, then
 * v = v*sa[n] + sb[n] when sa (a batch norm after the ReLU); NULL = none.
 * Output rows: the kernel computes M rows p of a "full width" wf grid and
 * stores row p at (p/wf)*wv + p%wf when p%wf < wv (a valid 3x3 conv run
 * over full-width rows drops the wf-wv columns that wrap around); a 1x1
 * conv has wf == wv. */
typedef struct {
    const float *bias, *sa, *sb;
    int relu;
    int wf, wv;
} NetEpilogue;

/* 1 when the CPU runs the bf16 kernels (AVX512_BF16, from cpuid). */
int net_cpu_has_bf16(void);

/* Implicit-GEMM convolution: for p < M, n < N,
 *   out row(p) [n] = epilogue( sum_{t<nt} sum_{k<K} A[p + off[t]][k] * W[t][k][n] )
 * A (rows, K) pixels of one image (every p + off[t] must be a row of A);
 * W (nt, K, N): HWIO for a 3x3 conv (off[t] = ky*Wfull + kx), (K,N) for 1x1.
 * The bf16 version takes bf16 A (K even) and Wp packed by net_pack_bf16,
 * multiplies in bf16 and sums in fp32; call it only if net_cpu_has_bf16(). */
void net_iconv_f32(float *out, const float *A, const float *W, const int *off, int nt, int M, int K, int N,
                   const NetEpilogue *ep);
void net_iconv_bf16(float *out, const uint16_t *A, const uint16_t *Wp, const int *off, int nt, int M, int K, int N,
                    const NetEpilogue *ep);
/* dst (nt, K/2, N, 2) bf16 = w (nt, K, N) with pairs of input channels side by side. */
void net_pack_bf16(uint16_t *dst, const float *w, int nt, int K, int N);
/* dst = bf16(src), round to nearest even (the vector path needs net_cpu_has_bf16()). */
void net_to_bf16(uint16_t *dst, const float *src, size_t n);

/* Depthwise 3x3, padding 1, output rows y0..y1-1. out, in (H,W,C); w (3,3,C).
 * The bf16 version stores its fp32 sums rounded to bf16 (needs
 * net_cpu_has_bf16() and C % 16 == 0). */
void net_dw3x3_image(float *out, const float *in, const float *w, int H, int W, int C, int y0, int y1);
void net_dw3x3_image_bf16(uint16_t *out, const float *in, const float *w, int H, int W, int C, int y0, int y1);

/* Conv 3x3 valid, one input channel, then ReLU, then the affine map sa, sb
 * (Co) of the batch norm that follows. out (H-2,W-2,Co); in (H,W); w (3,3,Co). */
void net_conv3x3c1_image(float *out, const float *in, const float *w, const float *sa, const float *sb, int H, int W,
                         int Co);
/* out (Ho,Wo,C) = max-pool 3x3/2 pad 1 of in (H,W,C) + res (Ho,Wo,C). */
void net_maxpool_add_image(float *out, const float *in, const float *res, int H, int W, int C);
/* out (Ho,Wo,C) = in (H,W,C) at even rows and columns (the stride-2 1x1 conv's input). */
void net_gather_s2_image(float *out, const float *in, int H, int W, int C);
/* logits (K) = global average of conv3x3 pad 1 (w (3,3,C,K), bias (K)) over
 * in (H,W,C), without computing the conv; tapsum (9*C) scratch. */
void net_head_gap_image(float *logits, const float *in, const float *w, const float *bias, float *tapsum, int H,
                        int W, int C, int K);

/* Winograd F(2x2,3x3) for a valid 3x3 conv with even output size (net_infer.c):
 * U (16,Ci,Co) from w (3,3,Ci,Co); V (16,T,C) = transformed 4x4 input blocks
 * of tile rows ty0.. (nty rows of ntx tiles, T = nty*ntx) of in (.,W,C);
 * out (.,Wo,C) 2x2 output blocks = ReLU(inverse transform of Mt (16,T,C)) * sa + sb. */
void net_wino_weights(float *U, const float *w, int Ci, int Co);
void net_wino_input(float *V, const float *in, int W, int C, int ty0, int nty, int ntx);
void net_wino_output(float *out, const float *Mt, const float *sa, const float *sb, int Wo, int C, int ty0, int nty,
                     int ntx);

/* The same for F(4x4,3x3): U (36,Ci,Co), V and Mt (36,T,C), 4x4 output
 * blocks (output size a multiple of 4); C % 16 == 0. */
void net_wino4_weights(float *U, const float *w, int Ci, int Co);
void net_wino4_input(float *V, const float *in, int W, int C, int ty0, int nty, int ntx);
void net_wino4_output(float *out, const float *Mt, const float *sa, const float *sb, int Wo, int C, int ty0, int nty,
                      int ntx);
/* The inverse transform alone (training's conv B, net_conv_wino.c): out
 * (Ho,Wo,C) gets the 4x4 output blocks of Mt, ReLU'd if relu, and a block
 * reaching past Ho or Wo keeps only its part inside. */
void net_wino4_output_plain(float *out, const float *Mt, int Ho, int Wo, int C, int ty0, int nty, int ntx, int relu);

/*-*** Conv B's training passes by Winograd F(4x4,3x3) (net_conv_wino.c) ***/

/* out (B,H-2,W-2,Co) = [ReLU] valid 3x3 conv of in (B,H,W,Ci) with the
 * weights U (36,Ci,Co) = net_wino4_weights(w). H-2 and W-2 multiples of 4,
 * Ci and Co of 16. Scratch per image n: V at vbuf + n*stride and the
 * products at mbuf + n*stride, 36 * rows * (W-2)/4 * max(Ci,Co) floats each
 * (rows: tile rows per pass). Images run in parallel. */
void net_conv3x3_wino_forward(float *out, const float *in, const float *U, int B, int H, int W, int Ci, int Co,
                              int relu, float *vbuf, float *mbuf, size_t stride, int rows);
/* wt (3,3,Co,Ci) = w (3,3,Ci,Co) turned by 180 degrees, in and out swapped:
 * the weights whose valid conv over the zero-framed output gradient is the
 * input gradient. */
void net_conv3x3_flip(float *wt, const float *w, int Ci, int Co);
/* The backward of the conv above (ReLU'd: relu_out (B,H-2,W-2,Co) masks
 * dout (B,H-2,W-2,Co); NULL: no ReLU), image by image in parallel:
 * - dinp (B,H,W,Ci), unless NULL: the input gradient, from
 *   Ut (36,Co,Ci) = net_wino4_weights(net_conv3x3_flip(w)); any H, W.
 * - dwpart (B,9,Ci,Co), unless NULL: each image's weight gradient (sum
 *   them in image order for a result independent of scheduling); needs
 *   H-2 and W-2 multiples of 4.
 * Ci and Co multiples of 16. Scratch per image n, at buf1 + n*stride and
 * buf2 + n*stride: for dW, V (36*rows_dw*(W-2)/4*Ci) in buf1 and the
 * transformed gradient and products (36*rows_dw*(W-2)/4*Co + 36*Ci*Co) in
 * buf2; for dinp, the framed gradient (net_wino_frame_elems) in buf1 and
 * V then the products (2*36*rows_dx*ceil(W/4)*max(Ci,Co)) in buf2. */
void net_conv3x3_wino_backward(float *dinp, float *dwpart, const float *dout, const float *relu_out, const float *in,
                               const float *Ut, int B, int H, int W, int Ci, int Co, float *buf1, float *buf2,
                               size_t stride, int rows_dw, int rows_dx);
/* dw (n) += sum over j < nb of part (nb,n), in order of j. */
void net_sum_parts(float *dw, const float *part, int nb, size_t n);
/* Floats of net_conv3x3_wino_backward's framed gradient (input H x W, Co output channels). */
size_t net_wino_frame_elems(int H, int W, int Co);

/*-*** Loss ***/

/* Softmax cross-entropy with PyTorch's F.cross_entropy semantics (mean
 * reduction): with class weights w (K, NULL = all 1) and label smoothing e,
 *   loss = sum_i [(1-e) w[y_i] f_i + (e/K) sum_c w[c] (-log p_ic)] / sum_i w[y_i]
 * where f_i = -log p_iy (focal_gamma = 0) or the focal term
 * -(1-p_iy)^gamma log p_iy (Lin et al. 2017) when focal_gamma > 0.
 * probs (B,K) softmax out; dlogits (B,K) = d loss / d logits, or NULL.
 * Returns the loss. logits (B,K); labels (B) in 0..K-1. */
float net_xent_forward_backward(float *probs, float *dlogits, const float *logits, const int *labels,
                                const float *class_weights, float label_smoothing, float focal_gamma, int B, int K);

#endif /* NET_LAYERS_H */
