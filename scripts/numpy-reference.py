#!/usr/bin/env python3
"""An independent numpy implementation of the float PEPITA and BP steps, to check
pepita-edge step for step (README: "Reproducing a run step for step elsewhere").

It reads the initial weights and F that a pepita-edge run wrote (W0.npy, W1.npy, ...,
F.npy), trains the same fully connected network on the same IDX data in file order
(no shuffling, no dropout, constant learning rate), and prints the largest difference
between its final weights and the ones pepita-edge wrote.

    pepita-edge train --model fc:64-128-10 --epochs 0 --run-dir /tmp/init
    pepita-edge train --model fc:64-128-10 --epochs 3 --no-shuffle --dropout-keep 1 \
        --decay-epochs none --init /tmp/init/weights --run-dir /tmp/swift
    scripts/numpy-reference.py --data ../shared/data/digits --init /tmp/init/weights \
        --compare /tmp/swift/weights --epochs 3 --rule pepita

Needs numpy only. float64 by default (--float32 for the same precision as pepita-edge).
"""
import argparse
import gzip
import os
import sys

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    sys.exit(f"{folder}: no {stem}[.gz]")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def forward(weights, x):
    """Hidden h_l = relu(h_{l-1} W_l^T), output softmax. Returns [x, h_1, ..., y]."""
    activations = [x]
    for index, w in enumerate(weights):
        z = activations[-1] @ w.T
        activations.append(softmax(z) if index == len(weights) - 1 else np.maximum(z, 0))
    return activations


def pepita_updates(weights, F, x, onehot, modulated_last):
    first = forward(weights, x)
    e = first[-1] - onehot
    x_mod = x + e @ F.T
    second = forward(weights, x_mod)
    e_mod = second[-1] - onehot
    updates = []
    for l in range(len(weights)):
        if l == len(weights) - 1:
            delta = e_mod if modulated_last else e
        else:
            delta = first[l + 1] - second[l + 1]
        updates.append(delta.T @ second[l])
    return updates


def bp_updates(weights, x, onehot):
    acts = forward(weights, x)
    delta = acts[-1] - onehot
    updates = [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        updates[l] = delta.T @ acts[l]
        if l > 0:
            delta = (delta @ weights[l]) * (acts[l] > 0)
    return updates


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with train-images-idx3-ubyte[.gz] etc.")
    parser.add_argument("--init", required=True, help="folder with W0.npy, W1.npy, ... and F.npy")
    parser.add_argument("--compare", help="folder with pepita-edge's final W*.npy")
    parser.add_argument("--rule", choices=["pepita", "bp"], default="pepita")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--last-layer-error", choices=["modulated", "first-pass"], default="modulated")
    parser.add_argument("--float32", action="store_true")
    args = parser.parse_args()

    dtype = np.float32 if args.float32 else np.float64
    images = read_idx(find(args.data, "train-images-idx3-ubyte"))
    labels = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(int)
    x_all = (images.reshape(len(images), -1) / 255.0).astype(dtype)
    count = 0
    while os.path.exists(os.path.join(args.init, f"W{count}.npy")):
        count += 1
    weights = [np.load(os.path.join(args.init, f"W{l}.npy")).astype(dtype) for l in range(count)]
    F = np.load(os.path.join(args.init, "F.npy")).astype(dtype) if args.rule == "pepita" else None
    classes = weights[-1].shape[0]
    velocities = [np.zeros_like(w) for w in weights]

    for _ in range(args.epochs):
        for start in range(0, len(x_all), args.batch):
            x = x_all[start:start + args.batch]
            onehot = np.eye(classes, dtype=dtype)[labels[start:start + args.batch]]
            if args.rule == "pepita":
                updates = pepita_updates(weights, F, x, onehot, args.last_layer_error == "modulated")
            else:
                updates = bp_updates(weights, x, onehot)
            for l, update in enumerate(updates):
                velocities[l] = args.momentum * velocities[l] + args.lr * update / len(x)
                weights[l] = weights[l] - velocities[l]

    if args.compare:
        worst = 0.0
        for l, w in enumerate(weights):
            theirs = np.load(os.path.join(args.compare, f"W{l}.npy"))
            difference = np.max(np.abs(theirs - w))
            scale = np.max(np.abs(w))
            worst = max(worst, difference / scale)
            print(f"W{l}: max |pepita-edge - numpy| = {difference:.3e} (max |W| = {scale:.3e})")
        print(f"largest relative difference: {worst:.3e}")


if __name__ == "__main__":
    main()
