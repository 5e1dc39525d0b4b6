#!/usr/bin/python3
"""Regenerates the OpenCV reference fixtures of tests/test_face.c.

Run from the repository root (needs Debian's python3-opencv and ../shared):
    /usr/bin/python3 tests/data/face/gen_fixtures.py
Writes, next to this script:
  jaffe_opencv_boxes.tsv  OpenCV's detectMultiScale boxes for a few JAFFE
                          images, made by ../shared/reference/opencv_detect.py
  cv_resize.txt           cv2.resize(..., INTER_LINEAR_EXACT) of a synthetic image
  cv_warp.txt             cv2.warpAffine(..., INTER_LINEAR, BORDER_REPLICATE)
The synthetic image is pixel(x, y) = (x*x*3 + y*7 + x*y*5) % 251 (w 40, h 30),
which the test rebuilds in C."""
import os, subprocess, sys, tempfile
import cv2, numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, '..', '..', '..'))
shared = os.path.join(root, '..', 'shared')
jaffe = os.path.join(shared, 'data', 'jaffe-dev')
ref = os.path.join(shared, 'reference', 'opencv_detect.py')
HC, LC = '/usr/share/opencv4/haarcascades', '/usr/share/opencv4/lbpcascades'
IMAGES = ['angry/KA.AN1.39.png', 'happy/NA.HA2.203.png', 'neutral/KM.NE1.1.png',
          'disgust/NM.DI3.109.png', 'fear/KR.FE1.89.png', 'sad/KR.SA2.78.png']
CONFIGS = [  # cascade, scale, neighbors, min
    (HC + '/haarcascade_frontalface_default.xml', 1.1, 3, 30),
    (HC + '/haarcascade_frontalface_default.xml', 1.25, 0, 100),
    (HC + '/haarcascade_frontalface_alt2.xml', 1.1, 3, 30),
    (LC + '/lbpcascade_frontalface.xml', 1.1, 3, 30),
    (HC + '/haarcascade_eye.xml', 1.1, 3, 0),
    (HC + '/haarcascade_eye_tree_eyeglasses.xml', 1.2, 2, 0),
]

def synth(w=40, h=30):
    y, x = np.mgrid[0:h, 0:w]
    return ((x * x * 3 + y * 7 + x * y * 5) % 251).astype(np.uint8)

def dump(f, name, a):
    f.write(f"{name} {a.shape[1]} {a.shape[0]}\n")
    for row in a:
        f.write(' '.join(str(int(v)) for v in row) + '\n')

def boxes():
    with tempfile.TemporaryDirectory() as tmp:
        for rel in IMAGES:
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            os.symlink(os.path.join(jaffe, rel), os.path.join(tmp, rel))
        with open(os.path.join(here, 'jaffe_opencv_boxes.tsv'), 'w') as f:
            f.write('# OpenCV 4.6 (python3-opencv) detectMultiScale boxes on a few jaffe-dev images.\n')
            f.write('# Regenerate: /usr/bin/python3 tests/data/face/gen_fixtures.py (runs, per config:\n')
            f.write('#   opencv_detect.py DIR --out OUT --cascade C --scale S --neighbors N --min M --threads 2)\n')
            f.write('# images: ' + ' '.join(IMAGES) + '\n')
            f.write('# columns: cascade scale neighbors min path x y w h\n')
            for c, s, n, m in CONFIGS:
                out = os.path.join(tmp, 'out.tsv')
                subprocess.run([sys.executable, ref, tmp, '--out', out, '--cascade', c, '--scale', str(s),
                                '--neighbors', str(n), '--min', str(m), '--threads', '2'], check=True,
                               stdout=subprocess.DEVNULL)
                for line in open(out):
                    f.write(f"{os.path.basename(c)}\t{s}\t{n}\t{m}\t{line}")

def resize():
    img = synth()
    with open(os.path.join(here, 'cv_resize.txt'), 'w') as f:
        f.write('# cv2.resize(synth, (w, h), interpolation=cv2.INTER_LINEAR_EXACT); see gen_fixtures.py\n')
        for w, h in [(17, 11), (20, 15), (23, 41), (47, 33), (1, 5), (40, 1)]:
            dump(f, 'resize', cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR_EXACT))

def warp():
    img = synth()
    with open(os.path.join(here, 'cv_warp.txt'), 'w') as f:
        f.write('# cv2.warpAffine(synth, M, (24, 20), flags=INTER_LINEAR, borderMode=BORDER_REPLICATE)\n')
        f.write('# M = getRotationMatrix2D(center, angle, scale) with M[:, 2] += shift; see gen_fixtures.py\n')
        for cx, cy, ang, sc, tx, ty in [(20, 15, 0, 1, 0, 0), (19.5, 14, 12.5, 0.8, -6, -3),
                                        (10, 10, -30, 1.7, 3, 2), (30, 5, 90, 0.5, -12, 4)]:
            M = cv2.getRotationMatrix2D((cx, cy), ang, sc)
            M[0, 2] += tx
            M[1, 2] += ty
            out = cv2.warpAffine(img, M, (24, 20), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            f.write(f"params {cx} {cy} {ang} {sc} {tx} {ty}\n")
            f.write('matrix ' + ' '.join(repr(float(v)) for v in M.ravel()) + '\n')
            dump(f, 'warp', out)

boxes()
resize()
warp()
