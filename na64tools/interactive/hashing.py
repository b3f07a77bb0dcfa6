"""Deterministic per-event numbers in [0, 1): the same for an event whatever the chunking.

Used by the CutExplorer's subsample of an on-disk table (:mod:`na64tools.interactive.model`) and
the optimiser's train/test split (:mod:`na64tools.interactive.optimise`): both key an event by
``(dataset/file, entry)``, so the split of an event does not depend on which chunk or worker read
it. Its own module so that neither of those two imports the other for it.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["uniform", "file_key", "splitmix64"]

_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea, Flood, OOPSLA 2014): a bijective 64-bit mixer.

    Parameters
    ----------
    x : numpy.ndarray of uint64
        The values to mix.

    Returns
    -------
    numpy.ndarray of uint64
        The mixed values (wrapping arithmetic).
    """
    x = x + _M1
    x = (x ^ (x >> np.uint64(30))) * _M2
    x = (x ^ (x >> np.uint64(27))) * _M3
    return x ^ (x >> np.uint64(31))


def uniform(key: str, entries: np.ndarray, salt: int = 0) -> np.ndarray:
    """A number in [0, 1) per entry, a deterministic function of (key, entry, salt).

    Parameters
    ----------
    key : str
        The file's key (:func:`file_key`).
    entries : numpy.ndarray of int
        Entry numbers of the events in the file.
    salt : int
        Selects an independent sequence.

    Returns
    -------
    numpy.ndarray of float64
        One number in [0, 1) per entry (53 bits).
    """
    base = np.uint64((zlib.crc32(key.encode()) << 32) ^ (int(salt) & 0xFFFFFFFF))
    h = splitmix64(np.asarray(entries, dtype=np.uint64) ^ base)
    h = splitmix64(h ^ np.uint64(zlib.crc32(key[::-1].encode())))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def file_key(dataset: str, filename: str) -> str:
    """The key of a file in a dataset for :func:`uniform`.

    Parameters
    ----------
    dataset : str
        The dataset name.
    filename : str
        The file's path (only its base name counts: a moved file keeps its numbers).

    Returns
    -------
    str
        ``dataset/basename``.
    """
    return f"{dataset}/{os.path.basename(str(filename))}"
