"""Training of the log-mel CNN member (PyTorch, CPU); exported to numpy for :mod:`.cnn`.

PyTorch is needed only here, at training time (``pip install "emotion_analytics[train]"``,
which pins the CPU build ``torch==2.13.0``); inference never imports it.

Recipe (fixed in advance, not tuned per fold): four 3x3 convolution blocks with 16, 32, 64
and 96 channels, batch normalisation and ReLU, 2x2 max pooling between blocks, mean over the
mel axis, mean + max over time, dropout 0.3, a linear layer. Random 2-s crops (100 frames;
shorter clips are placed at a random offset in floor-level padding), SpecAugment-style masks
(up to 6 mel bands and 15 frames), label smoothing 0.1, AdamW (weight decay 0.01) with a
one-cycle learning rate peaking at 3e-3, batches of 32, 30 epochs. Every random draw comes from
generators seeded with ``seed`` and the member index, and deterministic algorithms are
requested, so a run is reproducible on a given machine and thread count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .cnn import INPUT_SCALE, INPUT_SHIFT
from .features import LOG_MEL_FLOOR, N_MELS


@dataclass(frozen=True)
class CnnConfig:
    """Fixed training recipe of the CNN member."""

    channels: tuple[int, ...] = (16, 32, 64, 96)
    epochs: int = 30
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2
    dropout: float = 0.3
    label_smoothing: float = 0.1
    crop_frames: int = 100
    max_band_mask: int = 6
    max_time_mask: int = 15
    bag: int = 1  # networks with different seeds; their logits are averaged
    threads: int = 2  # torch CPU threads (fixed: results depend on it in the last digits)


def require_torch():
    """Import PyTorch, or say what to install.

    Returns
    -------
    module
        ``torch``.

    Raises
    ------
    ImportError
        When PyTorch is not installed; the message names the ``train`` extra.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "training the embedded model's CNN member needs PyTorch: "
            'pip install "emotion_analytics[train]"'
        ) from exc
    return torch


def build_network(n_classes: int, cfg: CnnConfig):
    """A fresh, untrained CNN of the recipe ``cfg`` (a ``torch.nn.Module``).

    Parameters
    ----------
    n_classes : int
    cfg : CnnConfig

    Returns
    -------
    torch.nn.Module
        ``forward(x)`` maps (batch, frames, mels) to class logits; ``embed(x)`` gives the
        pooled (batch, 2 * channels) embedding; ``drop`` and ``out`` are the head.
    """
    torch = require_torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c0 = [], 1
            for i, c in enumerate(cfg.channels):
                layers += [nn.Conv2d(c0, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
                if i < len(cfg.channels) - 1:
                    layers.append(nn.MaxPool2d(2))
                c0 = c
            self.body = nn.Sequential(*layers)
            self.drop = nn.Dropout(cfg.dropout)
            self.out = nn.Linear(2 * c0, n_classes)

        def embed(self, x):  # (batch, frames, mels) -> (batch, 2 * channels)
            x = ((x - INPUT_SHIFT) / INPUT_SCALE).unsqueeze(1)
            h = self.body(x).mean(dim=3)  # (batch, channels, time)
            return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

        def forward(self, x):
            return self.out(self.drop(self.embed(x)))

    return Net()


def random_crop(m: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-frame crop of a spectrogram (shorter ones padded at the floor).

    Parameters
    ----------
    m : numpy.ndarray
        (frames, mels) log-mel spectrogram.
    length : int
        Frames wanted.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        (length, mels).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((30, 40), np.float32)
    >>> random_crop(m, 100, np.random.default_rng(0)).shape
    (100, 40)
    """
    if len(m) >= length:
        s = int(rng.integers(0, len(m) - length + 1))
        return m[s : s + length]
    out = np.full((length, m.shape[1]), LOG_MEL_FLOOR, np.float32)
    s = int(rng.integers(0, length - len(m) + 1))
    out[s : s + len(m)] = m
    return out


def mask_spectrograms(xb: np.ndarray, rng: np.random.Generator, cfg: CnnConfig) -> np.ndarray:
    """SpecAugment-style masks: one random band and one random time span per spectrogram.

    Parameters
    ----------
    xb : numpy.ndarray
        (batch, frames, mels); changed in place.
    rng : numpy.random.Generator
    cfg : CnnConfig
        ``max_band_mask`` and ``max_time_mask``.

    Returns
    -------
    numpy.ndarray
        ``xb``.
    """
    _, frames, bands = xb.shape
    for b in range(len(xb)):
        f = int(rng.integers(0, cfg.max_band_mask + 1))
        f0 = int(rng.integers(0, bands - f + 1))
        xb[b, :, f0 : f0 + f] = LOG_MEL_FLOOR
        t = int(rng.integers(0, cfg.max_time_mask + 1))
        t0 = int(rng.integers(0, frames - t + 1))
        xb[b, t0 : t0 + t, :] = LOG_MEL_FLOOR
    return xb


def export(net) -> list[dict[str, np.ndarray]]:
    """Fold batch normalisation into the convolutions; numpy arrays for :mod:`.cnn`.

    Parameters
    ----------
    net : torch.nn.Module
        A network built by this module, in eval mode.

    Returns
    -------
    list of dict
        Per block ``{"w": (3, 3, C_in, C_out), "b": (C_out,)}``, then ``{"ow", "ob"}``.
    """
    convs = [m for m in net.body if type(m).__name__ == "Conv2d"]
    norms = [m for m in net.body if type(m).__name__ == "BatchNorm2d"]
    out = []
    for conv, bn in zip(convs, norms, strict=True):
        g = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().double().numpy()
        shift = bn.bias.detach().double().numpy() - bn.running_mean.detach().double().numpy() * g
        w = conv.weight.detach().double().numpy() * g[:, None, None, None]  # (O, C, 3, 3)
        out.append(
            dict(
                w=np.ascontiguousarray(w.transpose(2, 3, 1, 0)).astype(np.float32),
                b=shift.astype(np.float32),
            )
        )
    out.append(
        dict(
            ow=net.out.weight.detach().numpy().T.astype(np.float32).copy(),
            ob=net.out.bias.detach().numpy().astype(np.float32).copy(),
        )
    )
    return out


def member_params(net, j: int) -> dict[str, np.ndarray]:
    """The ``cnn_m{j}_*`` arrays of one trained network, as stored in a weights file.

    Parameters
    ----------
    net : torch.nn.Module
        A network built by this module, in eval mode.
    j : int
        Its index in the bag.

    Returns
    -------
    dict
        ``cnn_m{j}_w{i}``, ``cnn_m{j}_b{i}`` per block, ``cnn_m{j}_ow``, ``cnn_m{j}_ob``.
    """
    *blocks, head = export(net)
    out = {}
    for i, blk in enumerate(blocks):
        out[f"cnn_m{j}_w{i}"] = blk["w"]
        out[f"cnn_m{j}_b{i}"] = blk["b"]
    out[f"cnn_m{j}_ow"] = head["ow"]
    out[f"cnn_m{j}_ob"] = head["ob"]
    return out


def fit_one(mels, y, n_classes, seed, cfg: CnnConfig):
    """Train one network of the recipe ``cfg`` (the loop of :func:`fit_cnn`).

    Parameters
    ----------
    mels : list of numpy.ndarray
        (frames, mels) per training clip.
    y : numpy.ndarray
        Class index per clip.
    n_classes : int
    seed : int
    cfg : CnnConfig

    Returns
    -------
    torch.nn.Module
        The trained network, in eval mode.
    """
    torch = require_torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_network(n_classes, cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_batches = int(np.ceil(len(mels) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=max(cfg.epochs * n_batches, 1)
    )
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    for _ in range(cfg.epochs):
        net.train()
        perm = rng.permutation(len(mels))
        for b in range(n_batches):
            ids = perm[b * cfg.batch : (b + 1) * cfg.batch]
            xb = np.stack([random_crop(mels[i], cfg.crop_frames, rng) for i in ids])
            xb = torch.from_numpy(mask_spectrograms(xb, rng, cfg))
            loss = torch.nn.functional.cross_entropy(
                net(xb), yt[ids], label_smoothing=cfg.label_smoothing
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return net


def fit_cnn(mels, y, n_classes: int, seed: int, cfg: CnnConfig | None = None, log=None):
    """Train the CNN member (a bag of ``cfg.bag`` networks) and export it for numpy.

    Parameters
    ----------
    mels : list of numpy.ndarray
        (frames, 40) gain-free log-mel spectrogram per training clip (augmented copies
        included).
    y : numpy.ndarray
        Class index per clip.
    n_classes : int
    seed : int
    cfg : CnnConfig, optional
    log : callable, optional
        Progress printer.

    Returns
    -------
    dict
        ``cnn_*`` arrays as read by :mod:`emotion_analytics.model.cnn`.

    Examples
    --------
    >>> import numpy as np
    >>> from emotion_analytics.model import cnn
    >>> rng = np.random.default_rng(0)
    >>> mels = [rng.normal(-9, 4, (60, 40)).astype(np.float32) for _ in range(8)]
    >>> p = fit_cnn(mels, np.arange(8) % 2, 2, seed=0, cfg=CnnConfig(epochs=1, bag=1))
    >>> cnn.log_proba(p, mels[:3]).shape
    (3, 2)
    """
    torch = require_torch()
    cfg = cfg or CnnConfig()
    if any(np.asarray(m).shape[1:] != (N_MELS,) for m in mels):
        raise ValueError(f"every spectrogram must be (frames, {N_MELS})")
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    params: dict[str, np.ndarray] = {
        "cnn_blocks": np.int64(len(cfg.channels)),
        "cnn_members": np.int64(cfg.bag),
    }
    try:
        for j in range(cfg.bag):
            t0 = time.perf_counter()
            net = fit_one(mels, y, n_classes, seed + 1000 * j, cfg)
            params.update(member_params(net, j))
            if log:
                log(f"  cnn member {j}: {len(mels)} clips in {time.perf_counter() - t0:.0f} s")
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return params
