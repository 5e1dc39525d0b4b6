#!/usr/bin/python3
"""Compare two box TSVs (path x y w h ...): OpenCV's (reference) and ours.

Each reference box is matched one-to-one (greedy, best IoU first) to one of
our boxes of the same image. Prints one line:
  opencv=N ours=M exact=E matched=K (P%) extra=X
and exits 1 when P < --bar percent or X > 0 (our boxes with no match).
Only the first five columns are read, so emodetect --align output works too."""
import argparse, sys
from collections import Counter, defaultdict

def load(path):
    d = defaultdict(list)
    with open(path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 5:
                continue
            d[p[0]].append(tuple(int(v) for v in p[1:5]))
    return d

def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)

ap = argparse.ArgumentParser()
ap.add_argument('ref'); ap.add_argument('ours')
ap.add_argument('--bar', type=float, default=98.0)
ap.add_argument('--iou', type=float, default=0.9)
ap.add_argument('--show', type=int, default=5, help='print up to N differing images')
a = ap.parse_args()
ref, ours = load(a.ref), load(a.ours)
n_ref = sum(len(v) for v in ref.values())
n_ours = sum(len(v) for v in ours.values())
exact = matched = extra = 0
shown = 0
for img in sorted(set(ref) | set(ours)):
    r0, o0 = ref.get(img, []), ours.get(img, [])
    # identical boxes match first (multiset intersection); IoU only on the rest
    same = Counter(r0) & Counter(o0)
    n_same = sum(same.values())
    exact += n_same
    r, o = list((Counter(r0) - same).elements()), list((Counter(o0) - same).elements())
    pairs = sorted(((iou(x, y), i, j) for i, x in enumerate(r) for j, y in enumerate(o)), reverse=True)
    ur, uo = set(), set()
    for v, i, j in pairs:
        if v < a.iou:
            break
        if i in ur or j in uo:
            continue
        ur.add(i); uo.add(j)
    matched += n_same + len(ur)
    extra += len(o) - len(uo)
    if (r or o) and shown < a.show:
        shown += 1
        print(f"  differs: {img} opencv-only={sorted(r)[:8]} ours-only={sorted(o)[:8]}", file=sys.stderr)
pct = 100.0 * matched / n_ref if n_ref else 100.0
print(f"opencv={n_ref} ours={n_ours} exact={exact} matched={matched} ({pct:.2f}%) extra={extra}")
sys.exit(0 if pct >= a.bar and extra == 0 else 1)
