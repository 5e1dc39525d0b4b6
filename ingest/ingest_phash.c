/* ingest_phash.c: DCT perceptual hash (see ingest_phash.h). */
#include "ingest_phash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_resize.h"

void ingest_phash_init(IngestPhash *ph)
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 32; x++) ph->cos_tab[u][x] = (float)cos(M_PI * (2 * x + 1) * u / 64.0);
}

/* The k-th smallest of v[0..n) (Hoare's quickselect; reorders v). A full
 * sort of the 64 coefficients cost more than the DCT itself. */
static float kth_smallest(float *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return v[k];
}

EmoStatus ingest_phash_compute(const IngestPhash *ph, const uint8_t *gray, int w, int h, int stride,
                               uint64_t *hash, EmoError *err)
{
    float small[32 * 32];
    EMO_RETURN_IF_ERR(ingest_resize_gray_f(gray, w, h, stride, small, 32, 32, err));
    /* Only the 8 lowest frequencies per axis are needed: 8x32 row pass,
     * then 8x8 column pass (the full 32x32 DCT would be 16x the work). */
    float rows[32][8];
    for (int y = 0; y < 32; y++)
        for (int u = 0; u < 8; u++) {
            float acc = 0;
            for (int x = 0; x < 32; x++) acc += small[y * 32 + x] * ph->cos_tab[u][x];
            rows[y][u] = acc;
        }
    float coef[64];
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            float acc = 0;
            for (int y = 0; y < 32; y++) acc += rows[y][u] * ph->cos_tab[v][y];
            coef[v * 8 + u] = acc;
        }
    float tmp[64];
    memcpy(tmp, coef, sizeof tmp);
    float lo = kth_smallest(tmp, 64, 31);
    float hi = tmp[32];
    for (int i = 33; i < 64; i++) /* after selecting 31, the rest are >= it: the 32nd is their minimum */
        if (tmp[i] < hi) hi = tmp[i];
    float med = 0.5f * (lo + hi);
    uint64_t hsh = 0;
    for (int i = 0; i < 64; i++)
        if (coef[i] > med) hsh |= 1ull << (63 - i);
    *hash = hsh;
    return EMO_OK;
}
