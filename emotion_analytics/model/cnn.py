"""The log-mel convolutional member of the embedded model: inference in numpy.

The network reads a window's gain-free log-mel spectrogram
(:func:`emotion_analytics.model.features.gain_free_log_mel`: 40 bands, 20 ms hop) as an image
(time x mel band) and runs a stack of 3x3 convolutions, each followed by ReLU and, between
blocks, 2x2 max pooling. The last feature map is averaged over the mel axis, then mean- and
max-pooled over time, so any window length gives one vector; a linear layer gives the class
logits. Batch normalisation was folded into the convolutions when the weights were exported
(:func:`emotion_analytics.model.cnn_train.fit_cnn`), so inference is convolutions, ReLUs,
pooling and one matrix product: numpy only, no torch.

Parameters live in the model's weights file under ``cnn_*`` keys:

* ``cnn_blocks``: number of convolution blocks ``B``; ``cnn_members``: networks in the bag;
* ``cnn_m{j}_w{i}`` (3, 3, C_in, C_out) float32 and ``cnn_m{j}_b{i}`` (C_out,);
* ``cnn_m{j}_ow`` (2 * C_last, classes) and ``cnn_m{j}_ob`` (classes,).

A bag's members' logits are averaged.
"""

from __future__ import annotations

import numpy as np

from .features import LOG_MEL_FLOOR

#: The network's input is ``(log_mel - INPUT_SHIFT) / INPUT_SCALE`` (roughly zero mean, unit
#: spread on speech).
INPUT_SHIFT = -9.0
INPUT_SCALE = 4.0
#: Windows shorter than this many frames are padded with the floor (the pooling needs 8).
MIN_FRAMES = 16
#: Frames per block of work: windows are processed this many frames' worth at a time.
BATCH_FRAMES = 4096


def conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'Same' 3x3 convolution of channel-last maps, as one matrix product.

    Parameters
    ----------
    x : numpy.ndarray
        (batch, height, width, C_in).
    w : numpy.ndarray
        (3, 3, C_in, C_out).
    b : numpy.ndarray
        (C_out,).

    Returns
    -------
    numpy.ndarray
        (batch, height, width, C_out).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 3, 3, 1), np.float32); x[0, 1, 1, 0] = 1.0
    >>> w = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    >>> conv3x3(x, w, np.zeros(1, np.float32))[0, :, :, 0].tolist()
    [[8.0, 7.0, 6.0], [5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]
    """
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # n,h,w,c,3,3
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, 9 * c)
    return (cols @ w.reshape(9 * c, -1) + b).reshape(n, h, wd, -1)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling (odd trailing rows/columns dropped), channel-last.

    Examples
    --------
    >>> import numpy as np
    >>> max_pool2(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    rows = np.maximum(x[:, 0:h:2, :w], x[:, 1:h:2, :w])
    return np.maximum(rows[:, :, 0::2], rows[:, :, 1::2])


def _member_logits(params: dict, j: int, x: np.ndarray) -> np.ndarray:
    blocks = int(params["cnn_blocks"])
    h = x[..., None]
    for i in range(blocks):
        h = conv3x3(h, params[f"cnn_m{j}_w{i}"], params[f"cnn_m{j}_b{i}"])
        if i < blocks - 1:
            h = max_pool2(h)  # pooling first, on 4x less data: max and ReLU commute
        np.maximum(h, 0.0, out=h)
    h = h.mean(axis=2)  # over the mel axis -> (n, time, channels)
    h = np.concatenate([h.mean(axis=1), h.max(axis=1)], axis=1)
    return h @ params[f"cnn_m{j}_ow"] + params[f"cnn_m{j}_ob"]


def logits(params: dict, x: np.ndarray) -> np.ndarray:
    """Class logits of a batch of equal-length spectrograms (the bag's mean).

    Parameters
    ----------
    params : dict
        The ``cnn_*`` arrays of a weights file.
    x : numpy.ndarray
        (n, frames, 40) gain-free log-mel spectrograms.

    Returns
    -------
    numpy.ndarray
        float64 (n, classes).
    """
    x = ((np.asarray(x, np.float32) - INPUT_SHIFT) / INPUT_SCALE).astype(np.float32)
    members = int(params["cnn_members"])
    out = sum(_member_logits(params, j, x) for j in range(members))
    return np.asarray(out, dtype=np.float64) / members


def log_proba(params: dict, mels: list) -> np.ndarray:
    """Log-probabilities of the CNN member for windows of any lengths.

    Windows of equal length are batched together; very short ones are padded with the
    log-mel floor to :data:`MIN_FRAMES`.

    Parameters
    ----------
    params : dict
        The ``cnn_*`` arrays of a weights file.
    mels : list of numpy.ndarray
        (frames, 40) gain-free log-mel spectrogram per window.

    Returns
    -------
    numpy.ndarray
        float64 (n, classes), log-probabilities (each row's exponentials sum to 1).

    Examples
    --------
    >>> import numpy as np
    >>> from emotion_analytics.model import load_model
    >>> p = load_model().params
    >>> lp = log_proba(p, [np.zeros((150, 40), np.float32), np.zeros((3, 40), np.float32)])
    >>> lp.shape, bool(np.allclose(np.exp(lp).sum(axis=1), 1))
    ((2, 7), True)
    """
    n_classes = params["cnn_m0_ob"].shape[0]
    out = np.zeros((len(mels), n_classes))
    groups: dict[int, list[int]] = {}
    fixed = []
    for i, m in enumerate(mels):
        m = np.asarray(m, dtype=np.float32)
        if m.shape[0] < MIN_FRAMES:
            pad = np.full((MIN_FRAMES - m.shape[0], m.shape[1]), LOG_MEL_FLOOR, np.float32)
            m = np.concatenate([m, pad])
        fixed.append(m)
        groups.setdefault(m.shape[0], []).append(i)
    for length, ids in groups.items():
        step = max(1, BATCH_FRAMES // length)
        for s in range(0, len(ids), step):
            ii = ids[s : s + step]
            out[ii] = logits(params, np.stack([fixed[i] for i in ii]))
    out -= out.max(axis=1, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=1, keepdims=True))
    return out
