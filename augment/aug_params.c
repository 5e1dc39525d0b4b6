/* aug_params.c: config defaults and checks, parameter drawing, and the
 * params text (see aug_params.h). */
#include "aug_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

AugConfig aug_config_default(void)
{
    AugConfig c;
    memset(&c, 0, sizeof c);
    c.flip_p = 0.5;
    c.rotate = 10, c.rotate_p = 1;
    c.shift_x = 0.1, c.shift_y = 0.1, c.shift_p = 1;
    c.zoom = 0.1, c.zoom_p = 1;
    c.bright = 0.2, c.bright_p = 1;
    c.contrast_p = c.gamma_p = c.blur_p = c.noise_p = c.erase_p = 1;
    c.border.mode = AUG_BORDER_REPLICATE;
    return c;
}

static EmoStatus check(const char *name, double v, double lo, double hi, EmoError *err)
{
    if (v >= lo && v <= hi) return EMO_OK; /* false for NaN too */
    return emo_error_set(err, EMO_ERR_ARG, "%s %g: must be within %g..%g", name, v, lo, hi);
}

EmoStatus aug_config_validate(const AugConfig *c, EmoError *err)
{
    EMO_RETURN_IF_ERR(check("flip probability", c->flip_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("rotate", c->rotate, 0, 180, err));
    EMO_RETURN_IF_ERR(check("rotate probability", c->rotate_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("shift x", c->shift_x, 0, 1, err));
    EMO_RETURN_IF_ERR(check("shift y", c->shift_y, 0, 1, err));
    EMO_RETURN_IF_ERR(check("shift probability", c->shift_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("zoom", c->zoom, 0, 0.9, err));
    EMO_RETURN_IF_ERR(check("zoom probability", c->zoom_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("brightness", c->bright, 0, 1, err));
    EMO_RETURN_IF_ERR(check("brightness probability", c->bright_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("contrast", c->contrast, 0, 1, err));
    EMO_RETURN_IF_ERR(check("contrast probability", c->contrast_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("gamma", c->gamma, 0, 0.9, err));
    EMO_RETURN_IF_ERR(check("gamma probability", c->gamma_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("blur", c->blur, 0, 10, err));
    EMO_RETURN_IF_ERR(check("blur probability", c->blur_p, 0, 1, err));
    EMO_RETURN_IF_ERR(check("noise", c->noise, 0, 128, err));
    EMO_RETURN_IF_ERR(check("noise probability", c->noise_p, 0, 1, err));
    if (c->erase != 0) EMO_RETURN_IF_ERR(check("erase", c->erase, 0.02, 1, err));
    EMO_RETURN_IF_ERR(check("erase probability", c->erase_p, 0, 1, err));
    if (c->border.mode != AUG_BORDER_REPLICATE && c->border.mode != AUG_BORDER_REFLECT &&
        c->border.mode != AUG_BORDER_CONSTANT)
        return emo_error_set(err, EMO_ERR_ARG, "border mode %d: unknown", (int)c->border.mode);
    return EMO_OK;
}

AugParams aug_params_none(void)
{
    AugParams p;
    memset(&p, 0, sizeof p);
    p.zoom_x = p.zoom_y = 1;
    p.bright = 1;
    p.contrast = p.gamma = 1;
    return p;
}

/* Rounds to 1/scale, the precision the text keeps ("+ 0.0" turns -0 into 0). */
static double quant(double v, double scale)
{
    return round(v * scale) / scale + 0.0;
}

/* U(-1, 1) from one draw. */
static double sym(AugRng *rng)
{
    return 2.0 * aug_rng_unit(rng) - 1.0;
}

/* torchvision RandomErasing's search: up to 10 tries for a rectangle of the
 * drawn area and aspect that fits; none fitting means no erasing. */
static void sample_erase(const AugConfig *c, uint64_t seed, int w, int h, AugParams *p)
{
    AugRng r = aug_rng_from_seed(seed);
    const double area = (double)w * h, lo = log(0.3), hi = log(3.3);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * aug_rng_uniform(&r, 0.02, c->erase);
        double aspect = exp(aug_rng_uniform(&r, lo, hi));
        int eh = (int)lround(sqrt(target * aspect)), ew = (int)lround(sqrt(target / aspect));
        if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
        p->erase_y = (int)aug_rng_below(&r, (uint32_t)(h - eh + 1));
        p->erase_x = (int)aug_rng_below(&r, (uint32_t)(w - ew + 1));
        p->erase_w = ew, p->erase_h = eh;
        p->erase_value = c->erase_value;
        p->applied |= AUG_T_ERASE;
        return;
    }
}

void aug_params_sample(const AugConfig *c, AugRng *rng, int w, int h, AugParams *p)
{
    *p = aug_params_none();
    int on;
    double u, v;

    /* Fixed draw layout: each transform takes its chance draw and its value
     * draws whether or not it fires. */
    if (aug_rng_chance(rng, c->flip_p)) p->applied |= AUG_T_FLIP;

    on = aug_rng_chance(rng, c->rotate_p), u = sym(rng);
    if (on && c->rotate > 0) {
        p->rotate = quant(u * c->rotate, 100);
        p->applied |= AUG_T_ROTATE;
    }
    on = aug_rng_chance(rng, c->shift_p), u = sym(rng), v = sym(rng);
    if (on && (c->shift_x > 0 || c->shift_y > 0)) {
        p->shift_x = quant(u * c->shift_x * w, 100);
        p->shift_y = quant(v * c->shift_y * h, 100);
        p->applied |= AUG_T_SHIFT;
    }
    on = aug_rng_chance(rng, c->zoom_p), u = sym(rng), v = sym(rng);
    if (on && c->zoom > 0) {
        p->zoom_x = quant(1 + u * c->zoom, 1000);
        p->zoom_y = quant(1 + v * c->zoom, 1000);
        p->applied |= AUG_T_ZOOM;
    }
    on = aug_rng_chance(rng, c->bright_p), u = sym(rng);
    if (on && c->bright > 0) {
        p->bright_add = c->bright_add;
        p->bright = c->bright_add ? quant(u * c->bright * 255, 10) : quant(1 + u * c->bright, 1000);
        p->applied |= AUG_T_BRIGHT;
    }
    on = aug_rng_chance(rng, c->contrast_p), u = sym(rng);
    if (on && c->contrast > 0) {
        p->contrast = quant(1 + u * c->contrast, 1000);
        p->applied |= AUG_T_CONTRAST;
    }
    on = aug_rng_chance(rng, c->gamma_p), u = sym(rng);
    if (on && c->gamma > 0) {
        p->gamma = quant(1 + u * c->gamma, 1000);
        p->applied |= AUG_T_GAMMA;
    }
    on = aug_rng_chance(rng, c->blur_p), u = aug_rng_unit(rng);
    if (on && c->blur > 0) {
        double lo = c->blur < 0.1 ? c->blur : 0.1;
        p->blur = quant(lo + u * (c->blur - lo), 100);
        if (p->blur > 0) p->applied |= AUG_T_BLUR;
    }
    on = aug_rng_chance(rng, c->noise_p), u = aug_rng_unit(rng);
    uint32_t noise_seed = (uint32_t)(aug_rng_next(rng) >> 32);
    if (on && c->noise > 0) {
        p->noise = quant(u * c->noise, 100);
        p->noise_seed = noise_seed;
        if (p->noise > 0) p->applied |= AUG_T_NOISE;
    }
    on = aug_rng_chance(rng, c->erase_p);
    uint64_t erase_seed = aug_rng_next(rng);
    if (on && c->erase > 0) sample_erase(c, erase_seed, w, h, p);
}

/* The params text is written for every output record, so it is built with
 * integer arithmetic instead of printf (which cost more than the warp). The
 * values are already quantized to `dec` decimals, so rounding v * 10^dec
 * recovers the exact digits "%.*f" would print. */
typedef struct {
    char *buf;
    size_t cap, len;
} Out;

static void put_char(Out *o, char c)
{
    if (o->len + 1 < o->cap) o->buf[o->len++] = c;
}

static void put_str(Out *o, const char *s)
{
    while (*s) put_char(o, *s++);
}

static void put_uint(Out *o, unsigned long long v, int min_digits)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n) put_char(o, d[--n]);
}

static void put_fixed(Out *o, double v, int dec)
{
    static const double pow10[] = {1, 10, 100, 1000};
    long long k = llround(v * pow10[dec]);
    if (k < 0) put_char(o, '-'), k = -k;
    unsigned long long u = (unsigned long long)k, p = (unsigned long long)pow10[dec];
    put_uint(o, u / p, 1);
    put_char(o, '.');
    put_uint(o, u % p, dec);
}

static void put_hex8(Out *o, uint32_t v)
{
    for (int i = 7; i >= 0; i--) put_char(o, "0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static void put_key(Out *o, const char *key)
{
    if (o->len) put_char(o, ' ');
    put_str(o, key);
}

int aug_params_format(const AugParams *p, char *buf, size_t cap)
{
    if (cap == 0) return 0;
    Out o = {buf, cap, 0};
    unsigned a = p->applied;
    if (a & AUG_T_FLIP) put_key(&o, "flip=1");
    if (a & AUG_T_ROTATE) put_key(&o, "rot="), put_fixed(&o, p->rotate, 2);
    if (a & AUG_T_SHIFT) {
        put_key(&o, "shift="), put_fixed(&o, p->shift_x, 2);
        put_char(&o, ','), put_fixed(&o, p->shift_y, 2);
    }
    if (a & AUG_T_ZOOM) {
        put_key(&o, "zoom="), put_fixed(&o, p->zoom_x, 3);
        put_char(&o, ','), put_fixed(&o, p->zoom_y, 3);
    }
    if (a & AUG_T_BRIGHT) {
        if (p->bright_add) put_key(&o, "badd="), put_fixed(&o, p->bright, 1);
        else put_key(&o, "bright="), put_fixed(&o, p->bright, 3);
    }
    if (a & AUG_T_CONTRAST) put_key(&o, "contrast="), put_fixed(&o, p->contrast, 3);
    if (a & AUG_T_GAMMA) put_key(&o, "gamma="), put_fixed(&o, p->gamma, 3);
    if (a & AUG_T_BLUR) put_key(&o, "blur="), put_fixed(&o, p->blur, 2);
    if (a & AUG_T_NOISE) {
        put_key(&o, "noise="), put_fixed(&o, p->noise, 2);
        put_char(&o, '/'), put_hex8(&o, p->noise_seed);
    }
    if (a & AUG_T_ERASE) {
        const int v[5] = {p->erase_x, p->erase_y, p->erase_w, p->erase_h, p->erase_value};
        put_key(&o, "erase=");
        for (int i = 0; i < 5; i++) {
            if (i) put_char(&o, ',');
            if (v[i] < 0) put_char(&o, '-');
            put_uint(&o, (unsigned long long)(v[i] < 0 ? -(long long)v[i] : v[i]), 1);
        }
    }
    if (o.len == 0) put_str(&o, "none");
    buf[o.len] = '\0';
    return (int)o.len;
}

/* Reads `count` numbers separated by `sep` from s (up to the token end);
 * returns 1 if the whole token was consumed. */
static int read_numbers(const char *s, const char *end, char sep, int count, double *out)
{
    for (int i = 0; i < count; i++) {
        char *e;
        out[i] = strtod(s, &e);
        if (e == s || e > end || !isfinite(out[i])) return 0;
        s = e;
        if (i + 1 < count) {
            if (s >= end || *s != sep) return 0;
            s++;
        }
    }
    return s == end;
}

EmoStatus aug_params_parse(const char *text, AugParams *p, EmoError *err)
{
    *p = aug_params_none();
    const char *s = text;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        const char *end = s;
        while (*end && *end != ' ') end++;
        const char *eq = memchr(s, '=', (size_t)(end - s));
        size_t klen = eq ? (size_t)(eq - s) : (size_t)(end - s);
        const char *val = eq ? eq + 1 : end;
        double v[5];
        int ok = 0;
#define KEY(k) (klen == strlen(k) && memcmp(s, k, klen) == 0)
        if (!eq && KEY("none")) {
            ok = 1;
        } else if (eq && KEY("flip")) {
            ok = read_numbers(val, end, ',', 1, v) && (v[0] == 0 || v[0] == 1);
            if (ok && v[0] == 1) p->applied |= AUG_T_FLIP;
        } else if (eq && KEY("rot")) {
            if ((ok = read_numbers(val, end, ',', 1, v))) p->rotate = v[0], p->applied |= AUG_T_ROTATE;
        } else if (eq && KEY("shift")) {
            if ((ok = read_numbers(val, end, ',', 2, v)))
                p->shift_x = v[0], p->shift_y = v[1], p->applied |= AUG_T_SHIFT;
        } else if (eq && KEY("zoom")) {
            ok = read_numbers(val, end, ',', 2, v) && v[0] > 0 && v[1] > 0;
            if (ok) p->zoom_x = v[0], p->zoom_y = v[1], p->applied |= AUG_T_ZOOM;
        } else if (eq && (KEY("bright") || KEY("badd"))) {
            if ((ok = read_numbers(val, end, ',', 1, v)))
                p->bright = v[0], p->bright_add = KEY("badd"), p->applied |= AUG_T_BRIGHT;
        } else if (eq && KEY("contrast")) {
            ok = read_numbers(val, end, ',', 1, v) && v[0] >= 0;
            if (ok) p->contrast = v[0], p->applied |= AUG_T_CONTRAST;
        } else if (eq && KEY("gamma")) {
            ok = read_numbers(val, end, ',', 1, v) && v[0] > 0;
            if (ok) p->gamma = v[0], p->applied |= AUG_T_GAMMA;
        } else if (eq && KEY("blur")) {
            ok = read_numbers(val, end, ',', 1, v) && v[0] >= 0 && v[0] <= 10;
            if (ok) p->blur = v[0], p->applied |= AUG_T_BLUR;
        } else if (eq && KEY("noise")) {
            const char *slash = memchr(val, '/', (size_t)(end - val));
            if (slash && read_numbers(val, slash, ',', 1, v) && v[0] >= 0 && end - slash - 1 == 8) {
                char hex[9];
                memcpy(hex, slash + 1, 8);
                hex[8] = '\0';
                char *e;
                unsigned long seed = strtoul(hex, &e, 16);
                ok = *e == '\0' && hex[0] != '-' && hex[0] != '+' && hex[0] != ' ';
                if (ok) p->noise = v[0], p->noise_seed = (uint32_t)seed, p->applied |= AUG_T_NOISE;
            }
        } else if (eq && KEY("erase")) {
            ok = read_numbers(val, end, ',', 5, v);
            for (int i = 0; ok && i < 5; i++)
                ok = v[i] == floor(v[i]) && v[i] >= 0 && v[i] <= (i == 4 ? 255 : 65535);
            if (ok) {
                p->erase_x = (int)v[0], p->erase_y = (int)v[1], p->erase_w = (int)v[2];
                p->erase_h = (int)v[3], p->erase_value = (uint8_t)v[4];
                p->applied |= AUG_T_ERASE;
            }
        }
#undef KEY
        if (!ok)
            return emo_error_set(err, EMO_ERR_FORMAT, "augmentation params: bad item \"%.*s\"",
                                 (int)(end - s > 64 ? 64 : end - s), s);
        s = end;
    }
    return EMO_OK;
}

AugAffine aug_params_inverse_map(const AugParams *p, int w, int h)
{
    /* Forward: flip, zoom by 1/z and rotate about the centre, shift. The
     * inverse, built directly: undo the shift, rotate back, scale the
     * sampling coordinates by z (Keras: z > 1 zooms out), flip. */
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    AugAffine inv = aug_affine_identity(), t;
    unsigned a = p->applied;
    if (a & AUG_T_SHIFT) inv = aug_affine_translate(-p->shift_x, -p->shift_y);
    if (a & AUG_T_ROTATE) t = aug_affine_rotate(-p->rotate, cx, cy), inv = aug_affine_compose(&t, &inv);
    if (a & AUG_T_ZOOM) t = aug_affine_scale(p->zoom_x, p->zoom_y, cx, cy), inv = aug_affine_compose(&t, &inv);
    if (a & AUG_T_FLIP) t = aug_affine_hflip(w), inv = aug_affine_compose(&t, &inv);
    return inv;
}
