"""Half-space trees (Tan, Ting & Liu, IJCAI 2011): a second, tree-based model family, in numba.

Each tree splits a random feature at the middle of a randomly perturbed work range, down to a fixed
depth; learning counts how many training rows reach every node (the "mass"). A row that lands in
nodes few training rows reached is anomalous. Inputs are scaled to ``[0, 1]`` with the training
min/max (values outside that range land in the outermost nodes). Seeded and deterministic.

Score: ``(n + 1) / (mean over trees of mass(node) · 2^depth(node) + 1)`` where ``node`` is
the deepest node reached that holds at least ``size_limit`` training rows; higher = more
anomalous.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(5000, 4)).astype(np.float32)
    >>> hst = HalfSpaceTrees(n_trees=10, depth=8, seed=3).learn(X)
    >>> bool(hst.score(X[:50] + 6).mean() > hst.score(X[:50]).mean())
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True)
def _learn(
    X: npt.NDArray[np.float32],
    lo: npt.NDArray[np.float64],
    span: npt.NDArray[np.float64],
    dims: npt.NDArray[np.int64],
    splits: npt.NDArray[np.float64],
    mass: npt.NDArray[np.float64],
    depth: int,
) -> None:  # pragma: no cover - compiled
    x = np.empty(X.shape[1])
    for r in range(X.shape[0]):
        for j in range(X.shape[1]):
            x[j] = (X[r, j] - lo[j]) / span[j]
        for t in range(dims.shape[0]):
            node = 0
            mass[t, 0] += 1.0
            for _ in range(depth):
                node = 2 * node + (1 if x[dims[t, node]] < splits[t, node] else 2)
                mass[t, node] += 1.0


@njit(cache=True, fastmath=True)
def _score(
    X: npt.NDArray[np.float32],
    dims: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.float32],
    mass: npt.NDArray[np.float32],
    depth: int,
    size_limit: float,
    n_learned: float,
) -> npt.NDArray[np.float32]:  # pragma: no cover - compiled
    """Scores with the splits mapped back to raw feature units (``cuts``): no scaling per row."""
    n_trees = dims.shape[0]
    n = X.shape[0]
    out = np.empty(n, dtype=np.float32)
    total = np.zeros(256)
    node = np.zeros(256, dtype=np.int64)
    level = np.zeros(256, dtype=np.int64)
    go = np.zeros(256, dtype=np.int64)
    scale = 2.0 ** np.arange(depth + 1)  # 2^level, looked up rather than a pow() per row
    for r0 in range(0, n, 256):
        m = min(256, n - r0)
        total[:] = 0.0
        for t in range(n_trees):  # one tree at a time over a block of rows: the tree stays cached
            dim_t = dims[t]
            cut_t = cuts[t]
            mass_t = mass[t]
            node[:] = 0
            level[:] = 0
            go[:] = 1
            for _ in range(depth):  # level by level over the block: independent walks overlap
                for r in range(m):
                    nd = node[r]
                    child = 2 * nd + 2 - np.int64(X[r0 + r, dim_t[nd]] < cut_t[nd])
                    ok = go[r] & np.int64(mass_t[child] >= size_limit)
                    go[r] = ok
                    node[r] = child if ok else nd
                    level[r] += ok
            for r in range(m):
                total[r] += mass_t[node[r]] * scale[level[r]]
        for r in range(m):
            out[r0 + r] = (n_learned + 1.0) / (total[r] / n_trees + 1.0)
    return out


class HalfSpaceTrees:
    """Mass-based anomaly scores from random half-space trees over min/max-scaled features."""

    def __init__(
        self, n_trees: int = 20, depth: int = 10, size_limit: float = 2.0, seed: int = 0
    ) -> None:
        self.n_trees = n_trees
        self.depth = depth
        self.size_limit = size_limit
        self.seed = seed
        self.n_learned = 0
        self._arrays: dict[str, npt.NDArray[Any]] = {}
        self._fast: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None

    def learn(self, X: npt.NDArray[np.float32]) -> HalfSpaceTrees:
        """Learn node masses from ``X`` (the first call also fixes scaling and the trees)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not self._arrays:
            self._grow(X)
        a = self._arrays
        _learn(X, a["lo"], a["span"], a["dims"], a["splits"], a["mass"], self.depth)
        self.n_learned += X.shape[0]
        self._fast = None
        return self

    def score(self, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Anomaly score per row; higher = more anomalous."""
        if not self._arrays:
            raise ValueError("the half-space trees have not been trained")
        a = self._arrays
        if self._fast is None:
            cuts = a["lo"][a["dims"]] + a["splits"] * a["span"][a["dims"]]
            self._fast = (cuts.astype(np.float32), a["mass"].astype(np.float32))
        cuts, mass = self._fast
        return _score(
            np.ascontiguousarray(X, dtype=np.float32), a["dims"], cuts, mass,
            self.depth, float(self.size_limit), float(self.n_learned),
        )  # fmt: skip

    def _grow(self, X: npt.NDArray[np.float32]) -> None:
        rng = np.random.default_rng(self.seed)
        d = X.shape[1]
        lo = X.min(axis=0).astype(np.float64)
        span = X.max(axis=0).astype(np.float64) - lo
        span[span <= 0.0] = 1.0
        nodes = 2 ** (self.depth + 1) - 1
        inner = 2**self.depth - 1
        dims = np.zeros((self.n_trees, nodes), dtype=np.int64)
        splits = np.zeros((self.n_trees, nodes), dtype=np.float64)
        for t in range(self.n_trees):
            # Work range per dimension: [s - w, s + w] with w = 2·max(s, 1 - s), s ~ U(0, 1).
            s = rng.uniform(0.0, 1.0, size=d)
            w = 2.0 * np.maximum(s, 1.0 - s)
            low, high = s - w, s + w
            self._split(t, 0, 0, low.copy(), high.copy(), rng, dims, splits, inner)
        self._arrays = {
            "lo": lo, "span": span, "dims": dims, "splits": splits,
            "mass": np.zeros((self.n_trees, nodes), dtype=np.float64),
        }  # fmt: skip

    def _split(
        self,
        t: int,
        node: int,
        level: int,
        low: npt.NDArray[np.float64],
        high: npt.NDArray[np.float64],
        rng: np.random.Generator,
        dims: npt.NDArray[np.int64],
        splits: npt.NDArray[np.float64],
        inner: int,
    ) -> None:
        if node >= inner:
            return
        j = int(rng.integers(low.shape[0]))
        mid = (low[j] + high[j]) / 2.0
        dims[t, node], splits[t, node] = j, mid
        left_high = high.copy()
        left_high[j] = mid
        self._split(t, 2 * node + 1, level + 1, low, left_high, rng, dims, splits, inner)
        right_low = low.copy()
        right_low[j] = mid
        self._split(t, 2 * node + 2, level + 1, right_low, high, rng, dims, splits, inner)

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        params = {
            "n_trees": self.n_trees, "depth": self.depth, "size_limit": self.size_limit,
            "seed": self.seed, "n_learned": self.n_learned,
        }  # fmt: skip
        return params, dict(self._arrays)

    @classmethod
    def from_arrays(
        cls, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> HalfSpaceTrees:
        model = cls(
            n_trees=int(params["n_trees"]), depth=int(params["depth"]),
            size_limit=float(params["size_limit"]), seed=int(params["seed"]),
        )  # fmt: skip
        model.n_learned = int(params["n_learned"])
        model._arrays = {k: arrays[k] for k in ("lo", "span", "dims", "splits", "mass")}
        return model
