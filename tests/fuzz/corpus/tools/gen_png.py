#!/usr/bin/env python3
"""gen_png.py OUTDIR: tiny PNGs of every type libpng decodes (gray 1/2/4/8/16
bit, gray+alpha, RGB 8/16, RGBA, palette with tRNS, Adam7 interlaced), made
by hand with zlib so no imaging library is needed. Seeds for fuzz_image."""
import struct, sys, zlib, os

def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)

def samples_per_pixel(ct):
    return {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]

def row_bytes(w, ct, bd):
    return (w * samples_per_pixel(ct) * bd + 7) // 8

def pixel_row(w, y, ct, bd):
    n = row_bytes(w, ct, bd)
    return bytes(((x * 29 + y * 53 + 7) & 0xff) if ct != 3 else (x + y) % 4 for x in range(n)) if ct != 3 \
        else pack_indices([(x + y) % 4 for x in range(w)], bd)

def pack_indices(vals, bd):
    out, acc, nbits = bytearray(), 0, 0
    for v in vals:
        acc = (acc << bd) | v
        nbits += bd
        if nbits == 8:
            out.append(acc); acc = 0; nbits = 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)

def png(w, h, ct, bd, interlace=False, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, bd, ct, 0, 0, 1 if interlace else 0)
    raw = bytearray()
    if not interlace:
        for y in range(h):
            raw += b"\x00" + pixel_row(w, y, ct, bd)
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            pw = (w - x0 + dx - 1) // dx if w > x0 else 0
            ph = (h - y0 + dy - 1) // dy if h > y0 else 0
            if pw == 0 or ph == 0:
                continue
            for y in range(ph):
                raw += b"\x00" + pixel_row(pw, y, ct, bd)
    body = chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    plte = chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]))
    trns = chunk(b"tRNS", bytes([255, 128, 0, 255]))
    cases = {
        "gray1.png": png(9, 5, 0, 1), "gray2.png": png(7, 3, 0, 2), "gray4.png": png(5, 4, 0, 4),
        "gray16.png": png(4, 3, 0, 16), "graya8.png": png(5, 5, 4, 8), "graya16.png": png(3, 2, 4, 16),
        "rgb16.png": png(3, 3, 2, 16), "rgba8.png": png(4, 4, 6, 8), "rgba16.png": png(2, 3, 6, 16),
        "palette2-trns.png": png(6, 4, 3, 2, extra=plte + trns), "palette8.png": png(5, 3, 3, 8, extra=plte),
        "interlaced-rgb.png": png(11, 9, 2, 8, interlace=True),
        "interlaced-gray4.png": png(10, 10, 0, 4, interlace=True),
    }
    for name, data in cases.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

main()
