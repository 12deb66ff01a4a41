"""Seeded random draws, buffered so that per-event Python code stays cheap.

Every stream is a ``numpy.random.Generator(PCG64)`` seeded with ``SeedSequence([seed, *key])``,
so a stream depends only on the dataset seed and its key (for example a chunk number), never on
wall-clock time, process state or how many other streams exist.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

_BLOCK = 8192


class Draw:
    """Scalar draws from one generator.

    A numpy call per scalar costs about a microsecond, and a session needs dozens of scalars, so
    uniforms and normals are drawn in blocks and handed out from Python lists.
    """

    __slots__ = ("_gen", "_n", "_u")

    def __init__(self, seed: int, *key: int) -> None:
        self._gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))
        self._u: Iterator[float] = iter(())
        self._n: Iterator[float] = iter(())

    def random(self) -> float:
        """Uniform in [0, 1)."""
        try:
            return next(self._u)
        except StopIteration:
            self._u = iter(self._gen.random(_BLOCK).tolist())
            return next(self._u)

    def normal(self) -> float:
        try:
            return next(self._n)
        except StopIteration:
            self._n = iter(self._gen.standard_normal(_BLOCK).tolist())
            return next(self._n)

    def chance(self, p: float) -> bool:
        try:
            return next(self._u) < p
        except StopIteration:
            return self.random() < p

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def integers(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi] (both ends included)."""
        return lo + int(self.random() * (hi - lo + 1))

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.random())

    def poisson(self, lam: float) -> int:
        return int(self._gen.poisson(lam)) if lam > 0 else 0

    def choice(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def weighted(self, cum: Sequence[float]) -> int:
        """Index drawn with probabilities given as cumulative weights (see :func:`cumulative`)."""
        return bisect_right(cum, self.random() * cum[-1])

    def hex64(self) -> str:
        """16 hex digits, used for opaque hashes such as ``ip_hash``."""
        hi = int(self.random() * 2**32)
        lo = int(self.random() * 2**32)
        return f"{hi:08x}{lo:08x}"

    def permutation(self, n: int) -> np.ndarray:
        return self._gen.permutation(n)


def cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


class Choices(Generic[T]):
    """A fixed vocabulary with weights, for repeated weighted picks."""

    __slots__ = ("cum", "values")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.values = tuple(v for v, _ in pairs)
        self.cum = cumulative([w for _, w in pairs])

    def stratified(self, draw: Draw, n: int) -> list[T]:
        """``n`` values in exact proportion to the weights (largest remainder), shuffled.

        Used where the count per value drives dataset size: independent picks would add
        binomial noise that no later step averages out.
        """
        total = self.cum[-1]
        weights = [b - a for a, b in zip([0.0, *self.cum[:-1]], self.cum, strict=True)]
        exact = [n * w / total for w in weights]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
        for i in by_remainder[: n - sum(counts)]:
            counts[i] += 1
        values = [v for v, c in zip(self.values, counts, strict=True) for _ in range(c)]
        return [values[i] for i in draw.permutation(n).tolist()]

    def pick(self, draw: Draw) -> T:
        return self.values[draw.weighted(self.cum)]
