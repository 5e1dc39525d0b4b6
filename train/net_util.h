/* net_util.h: small inline helpers private to train/ (not installed API).
 *
 * Deterministic chunking: reductions over rows split them into
 * NET_RED_CHUNKS fixed chunks (not per thread), sum each chunk, then add the
 * chunk sums in order, so a result is the same at any thread count. */
#ifndef NET_UTIL_H
#define NET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net_layers.h"

/* Rows [*lo, *hi) of chunk j out of NET_RED_CHUNKS over n rows. */
static inline void net_chunk(size_t n, int j, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)j / NET_RED_CHUNKS;
    *hi = n * (size_t)(j + 1) / NET_RED_CHUNKS;
}

/* The scratch layout of NET_RED_DOUBLES(C): chunk j's double partials,
 * chunk j's float accumulators (summing a few rows in float, vectorized,
 * before adding them to the double partials), and a per-channel tail. */
static inline double *net_red_part(double *red, int C, int j)
{
    return red + (size_t)j * 9 * C;
}
static inline float *net_red_facc(double *red, int C, int j)
{
    return (float *)(void *)(red + (size_t)NET_RED_CHUNKS * 9 * C) + (size_t)j * 9 * C;
}
static inline double *net_red_tail(double *red, int C)
{
    return red + (size_t)NET_RED_CHUNKS * 9 * C * 3 / 2 + 8; /* 4*C doubles */
}

/* part[i] += acc[i] (float to double), i < n. */
static inline void net_flush(double *restrict part, const float *restrict acc, size_t n)
{
    for (size_t i = 0; i < n; i++) part[i] += acc[i];
}

/* dst[i] += sum over chunks of part[j*stride + i], i < n, in chunk order. */
static inline void net_chunk_sum_into_float(float *dst, const double *part, size_t stride, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < NET_RED_CHUNKS; j++) s += part[(size_t)j * stride + i];
        dst[i] += (float)s;
    }
}

/* 16 floats as one GCC vector: one AVX-512 register, two AVX2 ones; the
 * compiler maps element-wise arithmetic to whatever the target has. Kernels
 * that keep accumulators in registers use it (C % 16 channels at a time). */
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* Unaligned 16-float load/store; macros, not functions: passing a 64-byte
 * vector by value changes the ABI without AVX-512 (-Wpsabi). */
#define V16_LOAD(v, p) memcpy(&(v), (p), sizeof(v16f))
#define V16_STORE(p, v) memcpy((p), &(v), sizeof(v16f))

/* The widest vector the target has: 16 floats with AVX-512, else 8 (AVX2;
 * elsewhere the compiler splits it). Register-blocked kernels use this
 * one: nine 16-float accumulators need 18 AVX2 registers of the 16 there
 * are, and spilling them made a register-blocked depthwise weight gradient
 * 3x slower on a Zen 3 than summing into memory. */
#if defined(__AVX512F__)
#define NET_VL 16
#else
#define NET_VL 8
#endif
/* 1 where the register-tiled kernel (net_iconv_f32) has its vector body:
 * AVX-512, or AVX2 with FMA. Elsewhere it falls back to plain loops, slower
 * than OpenBLAS, and the 1x1 convs keep OpenBLAS (net_conv.c). */
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define NET_TILED 1
#else
#define NET_TILED 0
#endif
typedef float vnf __attribute__((vector_size(NET_VL * 4)));
typedef int32_t vni __attribute__((vector_size(NET_VL * 4)));
#define VN_LOAD(v, p) memcpy(&(v), (p), sizeof(vnf))
#define VN_STORE(p, v) memcpy((p), &(v), sizeof(vnf))
/* The float x in every lane. x - 0 is x for every x (-0 included), so this
 * folds to one broadcast; 0 + x would not (0 + -0 is +0) and costs an add. */
#define VN_BCAST(x) ((x) - (vnf){0})

#endif /* NET_UTIL_H */
