/* net_util.h: small inline helpers private to train/ (not installed API).
 *
 * Deterministic chunking: reductions over rows split them into
 * NET_RED_CHUNKS fixed chunks (not per thread), sum each chunk, then add the
 * chunk sums in order, so a result is the same at any thread count. */
#ifndef NET_UTIL_H
#define NET_UTIL_H

#include <stddef.h>

#include "net_layers.h"

/* Rows [*lo, *hi) of chunk j out of NET_RED_CHUNKS over n rows. */
static inline void net_chunk(size_t n, int j, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)j / NET_RED_CHUNKS;
    *hi = n * (size_t)(j + 1) / NET_RED_CHUNKS;
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

#endif /* NET_UTIL_H */
