"""Seeds and generators derived from the run's seed and the generation number.

Every random draw of a run comes from here, so a run is reproducible whether it runs serially,
on N workers or resumes from a checkpoint: nothing depends on which worker ran what, or on
global generator state.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["generation_rng", "generation_seed"]


def _stream_id(stream: str) -> int:
    return zlib.crc32(stream.encode("utf-8"))


def generation_rng(seed: int | None, generation: int, stream: str) -> np.random.Generator:
    """A generator for one purpose (``stream``) of one generation of a run.

    Examples
    --------
    >>> a = generation_rng(7, 3, "reproduction").integers(1000)
    >>> b = generation_rng(7, 3, "reproduction").integers(1000)
    >>> bool(a == b)
    True
    """
    ss = np.random.SeedSequence([int(seed or 0) & 0xFFFFFFFF, int(generation), _stream_id(stream)])
    return np.random.default_rng(ss)


def generation_seed(seed: int | None, generation: int) -> int:
    """The base seed of one generation's episodes, shared by every genome (common random
    numbers). An int in ``[0, 2**31 - 1000)`` so that ``seed + repetition`` stays valid for
    numpy's legacy seeding."""
    return int(generation_rng(seed, generation, "evaluation").integers(0, 2**31 - 1000))
