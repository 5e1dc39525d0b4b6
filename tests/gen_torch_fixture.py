#!/usr/bin/python3
"""Regenerates tests/data/torch/seed_cnn.fix, the PyTorch reference for tests/test_net.c.

Usage: /usr/bin/python3 tests/gen_torch_fixture.py [REFERENCE_DIR] [OUT]
  REFERENCE_DIR holds torch_ref.py (default: $EMO_TORCH_REF, else ../shared/reference
  relative to the repo root); OUT defaults to tests/data/torch/seed_cnn.fix.

The network is torch_ref.py's seed_cnn() itself. Its weights and input are
not stored: both sides derive them from a 32-bit integer hash of (tensor
index, element index), so the C test rebuilds exactly the same floats
(see fixture_value in tests/test_net.c). What is stored, for a batch of 4 in
train mode with class weights and label smoothing 0.1:
  logits, loss, the BN running statistics after the step, eval-mode logits
  after it, and per parameter tensor: its gradient's sum of squares, sum of
  absolute values, projection on a hashed +-1 vector (these three see every
  element), and up to 512 sampled elements (index, value);
and, for the optimizers, 3 steps of SGD/Nesterov/Adam/AdamW/clipped Adam on
a 37-element vector with hashed gradients.

File format (little-endian): b"EMOFIX1\\0", u32 record count, then records
of u32 name length, name bytes, u32 n, n float32 values."""
import os, struct, sys
import numpy as np
import torch, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ref_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    'EMO_TORCH_REF', os.path.join(REPO, '..', 'shared', 'reference'))
out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, 'data', 'torch', 'seed_cnn.fix')
sys.path.insert(0, ref_dir)
from torch_ref import seed_cnn  # noqa: E402

M32 = 0xFFFFFFFF
BATCH = 4
LABELS = [3, 0, 6, 1]
CLASS_WEIGHTS = [1.03, 9.41, 1.00, 0.57, 0.85, 1.29, 0.83]
SMOOTHING = 0.1
SAMPLES = 512


def hash_u(t, n):
    """u in [0,1) with 24 bits, element i of stream t (same as test_net.c)."""
    i = np.arange(n, dtype=np.uint64)
    x = (np.uint64(t) * np.uint64(0x9E3779B1) + i * np.uint64(0x85EBCA77) + np.uint64(0x165667B1)) & np.uint64(M32)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x2C1B3C6D)) & np.uint64(M32)
    x ^= x >> np.uint64(12)
    x = (x * np.uint64(0x297A2D39)) & np.uint64(M32)
    x ^= x >> np.uint64(15)
    return (x >> np.uint64(8)).astype(np.float64) / float(1 << 24)


def signed(t, n):
    return (2.0 * hash_u(t, n) - 1.0).astype(np.float32)  # exact in float32


def fill_params(model):
    """Conv weights and G's bias: s/sqrt(fan_in); BN gamma 1 + s/8, beta s/8."""
    params = list(model.named_parameters())
    fan_in = lambda w: w.shape[1] * w.shape[2] * w.shape[3]
    for t, (name, p) in enumerate(params):
        s = signed(t, p.numel())
        if p.dim() == 4:
            v = s * np.float32(1.0 / np.sqrt(float(fan_in(p))))
        elif t == len(params) - 1:      # G's bias, fan_in of G's weight
            v = s * np.float32(1.0 / np.sqrt(float(fan_in(params[t - 1][1]))))
        elif name.endswith('weight'):   # BN gamma
            v = np.float32(1.0) + s * np.float32(0.125)
        else:                           # BN beta
            v = s * np.float32(0.125)
        with torch.no_grad():
            p.copy_(torch.from_numpy(v.astype(np.float32)).view_as(p))


records = []


def rec(name, values):
    a = np.asarray(values, dtype=np.float32).ravel()
    records.append((name, a))


def main():
    torch.manual_seed(0)
    model = seed_cnn()
    fill_params(model)
    x = torch.from_numpy(hash_u(1000, BATCH * 48 * 48).astype(np.float32)).view(BATCH, 1, 48, 48)
    y = torch.tensor(LABELS)
    w = torch.tensor(CLASS_WEIGHTS)
    rec('labels', LABELS)
    rec('class_weights', CLASS_WEIGHTS)
    rec('label_smoothing', [SMOOTHING])

    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, y, weight=w, label_smoothing=SMOOTHING)
    loss.backward()
    rec('logits', logits.detach().numpy())
    rec('loss', [loss.item()])
    for t, (name, p) in enumerate(model.named_parameters()):
        g = p.grad.detach().numpy().ravel().astype(np.float64)
        n = g.size
        sign = np.where(hash_u(3000 + t, n) < 0.5, -1.0, 1.0)
        rec('grad:%s:sumsq' % name, [np.sum(g * g)])
        rec('grad:%s:abssum' % name, [np.sum(np.abs(g))])
        rec('grad:%s:proj' % name, [np.sum(g * sign)])
        if n <= SAMPLES:
            idx = np.arange(n)
        else:
            step = n // SAMPLES
            off = (hash_u(4000 + t, SAMPLES) * step).astype(np.int64)
            idx = np.arange(SAMPLES) * step + off
        rec('grad:%s:idx' % name, idx)
        rec('grad:%s:val' % name, g[idx])
    for name, b in model.named_buffers():
        if 'running' in name:
            rec('buf:%s' % name, b.numpy())
    model.eval()
    with torch.no_grad():
        rec('logits_eval', model(x).numpy())

    # Optimizers: 3 steps on a 37-vector.
    n = 37
    p0 = signed(5000, n)
    grads = [signed(5001 + k, n) * np.float32(0.5) for k in range(3)]
    rec('opt:p0', p0)
    rec('opt:grads', np.concatenate(grads))
    cases = {
        'sgd': (lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01), 0),
        'nesterov': (lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), 0),
        'adam': (lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.01), 0),
        'adamw': (lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1), 0),
        'adam_clip': (lambda p: torch.optim.Adam([p], lr=0.01), 0.5),
    }
    for name, (make, clip) in cases.items():
        p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
        opt = make(p)
        for k in range(3):
            p.grad = torch.from_numpy(grads[k].copy())
            if clip:
                torch.nn.utils.clip_grad_norm_([p], clip)
            opt.step()
        rec('opt:%s' % name, p.detach().numpy())

    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path + '.tmp', 'wb') as f:
        f.write(b'EMOFIX1\0' + struct.pack('<I', len(records)))
        for name, a in records:
            nb = name.encode()
            f.write(struct.pack('<I', len(nb)) + nb + struct.pack('<I', a.size) + a.astype('<f4').tobytes())
    os.replace(out_path + '.tmp', out_path)
    print('wrote %s (%d records, %d bytes)' % (out_path, len(records), os.path.getsize(out_path)))


if __name__ == '__main__':
    main()
