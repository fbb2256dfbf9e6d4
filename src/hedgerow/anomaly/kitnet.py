"""An ensemble of small autoencoders over correlated feature groups (KitNET's idea), in numba.

Learning has two phases, both online and batch by batch (river's ``learn``/``score`` contract,
over matrices instead of single rows):

1. **mapping** — the first ``mapping_rows`` rows accumulate the feature correlation matrix; the
   features are then clustered (hierarchical clustering on ``1 - correlation``) into groups of
   at most ``max_group`` features;
2. **training** — each group gets a tiny tied-weight autoencoder (hidden size
   ``ceil(hidden_ratio · k)``) trained by SGD on its 0–1 normalised inputs (running min/max), and
   an output autoencoder learns the vector of the groups' reconstruction errors (RMSEs).

The squashing function is the "fast sigmoid" ``s(a) = ½ + ½·a / (1 + |a|)`` rather than the
logistic: the same S-shape onto ``(0, 1)``, but it needs no ``exp`` and vectorises, which makes
batch scoring several times faster (and its slower saturation keeps far-out inputs far out).

The anomaly score of a row is the output autoencoder's RMSE: high when the groups' errors are
jointly unusual. Initial weights come from ``seed``; the same rows in the same order always give
the same model.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(size=(4000, 3))
    >>> X = np.hstack([base, base * 2 + 0.01 * rng.normal(size=(4000, 3))]).astype(np.float32)
    >>> model = AutoencoderEnsemble(max_group=3, mapping_rows=1000, seed=1).learn(X)
    >>> len(model.groups) >= 2
    True
    >>> normal, odd = model.score(X[:100]).mean(), model.score(X[:100] * 5).mean()
    >>> bool(odd > normal)
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.cluster.hierarchy import linkage, to_tree

_EPS = 1e-16
# Scoring scales each input by its learned range, but never by less than this: a feature that
# (almost) did not move while learning would otherwise turn any later value into ~1e16 and one
# such row into an unbounded score. 0.1 is a tenth of a log unit of the log1p statistics (about
# 10% of the statistic) or a twentieth of a correlation's range.
MIN_SPAN = 0.1


@njit(cache=True, inline="always")
def _squash(a: float) -> float:  # pragma: no cover - compiled
    return 0.5 + 0.5 * a / (1.0 + abs(a))


@njit(cache=True, fastmath=True)
def _ae_train_step(
    x: npt.NDArray[np.float64],
    W: npt.NDArray[np.float64],
    hb: npt.NDArray[np.float64],
    vb: npt.NDArray[np.float64],
    mn: npt.NDArray[np.float64],
    mx: npt.NDArray[np.float64],
    lr: float,
) -> float:  # pragma: no cover - compiled
    """One SGD step of a tied-weight autoencoder on ``x`` (squared error); returns its RMSE."""
    k, h = W.shape
    xn = np.empty(k)
    for i in range(k):
        if x[i] > mx[i]:
            mx[i] = x[i]
        if x[i] < mn[i]:
            mn[i] = x[i]
        xn[i] = (x[i] - mn[i]) / (mx[i] - mn[i] + _EPS)
    y = np.empty(h)
    gy = np.empty(h)
    for j in range(h):
        a = hb[j]
        for i in range(k):
            a += xn[i] * W[i, j]
        y[j] = _squash(a)
        gy[j] = 0.5 / (1.0 + abs(a)) ** 2
    err = np.empty(k)
    sq = 0.0
    for i in range(k):
        a = vb[i]
        for j in range(h):
            a += y[j] * W[i, j]
        e = xn[i] - _squash(a)
        sq += e * e
        err[i] = e * 0.5 / (1.0 + abs(a)) ** 2
    dh = np.empty(h)
    for j in range(h):
        a = 0.0
        for i in range(k):
            a += err[i] * W[i, j]
        dh[j] = a * gy[j]
    for i in range(k):
        for j in range(h):
            W[i, j] += lr * (xn[i] * dh[j] + err[i] * y[j])
        vb[i] += lr * err[i]
    for j in range(h):
        hb[j] += lr * dh[j]
    return math.sqrt(sq / k)


@njit(cache=True)
def _train_rows(
    X: npt.NDArray[np.float32],
    order: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    Ws: Any,
    hbs: Any,
    vbs: Any,
    mns: Any,
    mxs: Any,
    lr: float,
) -> None:  # pragma: no cover - compiled
    """Train every group autoencoder and then the output one on each row, in order.

    ``order`` lists feature columns group by group (group ``g`` is
    ``order[starts[g]:starts[g+1]]``); the last entries of the typed lists are the output layer.
    """
    G = starts.shape[0] - 1
    rm = np.empty(G)
    for r in range(X.shape[0]):
        for g in range(G):
            cols = order[starts[g] : starts[g + 1]]
            x = np.empty(cols.shape[0])
            for i in range(cols.shape[0]):
                x[i] = X[r, cols[i]]
            rm[g] = _ae_train_step(x, Ws[g], hbs[g], vbs[g], mns[g], mxs[g], lr)
        _ae_train_step(rm, Ws[G], hbs[G], vbs[G], mns[G], mxs[G], lr)


def _clusters(corr_dist: npt.NDArray[np.float64], max_group: int) -> list[list[int]]:
    """Split the single-linkage dendrogram until every cluster has at most ``max_group`` leaves."""
    n = corr_dist.shape[0]
    if n <= max_group:
        return [list(range(n))]
    Z = linkage(corr_dist[np.triu_indices(n, 1)])
    out: list[list[int]] = []
    stack = [to_tree(Z)]
    while stack:
        node = stack.pop()
        if node.count <= max_group:
            out.append(sorted(node.pre_order()))
        else:
            stack.extend([node.get_right(), node.get_left()])
    return out


@njit(cache=True, fastmath=True, error_model="numpy")  # no zero-division branch: SIMD
def _block_rmse(
    X: npt.NDArray[np.float32],
    order: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    hsize: npt.NDArray[np.int64],
    woff: npt.NDArray[np.int64],
    hoff: npt.NDArray[np.int64],
    Wf: npt.NDArray[np.float32],
    hbf: npt.NDArray[np.float32],
    vbf: npt.NDArray[np.float32],
    mn: npt.NDArray[np.float32],
    span: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:  # pragma: no cover - compiled
    """Reconstruction RMSE of every group autoencoder for every row (``n × groups``).

    Rows are processed in blocks of 64, group by group: the group's ``k`` columns of the block
    are scaled into a small transposed buffer (``k × 64``, stays in L1) so that the innermost
    loops run over rows and vectorise. Group ``g`` reads columns ``order[starts[g]:starts[g+1]]``;
    its weights are ``Wf[woff[g]:]`` (``k × h``, row-major), hidden biases ``hbf[hoff[g]:]``,
    visible biases and the min/span scaling at the group's positions in ``order``.
    """
    n = X.shape[0]
    G = starts.shape[0] - 1
    B = 64
    kmax = 1
    for g in range(G):
        kmax = max(kmax, starts[g + 1] - starts[g])
    out = np.empty((n, G), dtype=np.float32)
    xt = np.empty((kmax, B), dtype=np.float32)
    hid = np.empty((max(1, hsize.max()), B), dtype=np.float32)
    acc = np.empty(B, dtype=np.float32)
    err = np.empty(B, dtype=np.float32)
    half = np.float32(0.5)  # float32 constants: a float64 literal would make the loops scalar
    one = np.float32(1.0)
    for r0 in range(0, n, B):
        m = min(B, n - r0)
        for g in range(G):
            s = starts[g]
            k = starts[g + 1] - s
            h = hsize[g]
            wo = woff[g]
            ho = hoff[g]
            for i in range(k):
                col = order[s + i]
                lo = mn[s + i]
                sp = span[s + i]
                xi = xt[i]
                for r in range(m):
                    xi[r] = (X[r0 + r, col] - lo) / sp
            for j in range(h):
                bias = hbf[ho + j]
                for r in range(m):
                    acc[r] = bias
                for i in range(k):
                    w = Wf[wo + i * h + j]
                    for r in range(m):
                        acc[r] += w * xt[i, r]
                hj = hid[j]
                for r in range(m):
                    hj[r] = half + half * acc[r] / (one + abs(acc[r]))
            err[:m] = 0.0
            for i in range(k):
                bias = vbf[s + i]
                for r in range(m):
                    acc[r] = bias
                for j in range(h):
                    w = Wf[wo + i * h + j]
                    for r in range(m):
                        acc[r] += w * hid[j, r]
                xi = xt[i]
                for r in range(m):
                    delta = xi[r] - (half + half * acc[r] / (one + abs(acc[r])))
                    err[r] += delta * delta
            inv_k = one / np.float32(k)
            for r in range(m):
                out[r0 + r, g] = np.sqrt(err[r] * inv_k)
    return out


def _pack(
    layers: list[dict[str, npt.NDArray[np.float64]]], groups: list[list[int]]
) -> tuple[npt.NDArray[Any], ...]:
    """Flat float32 arrays of ``layers`` for :func:`_block_rmse` (min/max made finite)."""
    order = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    starts = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    hsize = np.array([layer["W"].shape[1] for layer in layers], dtype=np.int64)
    wsize = np.array([layer["W"].size for layer in layers], dtype=np.int64)
    woff = np.concatenate([[0], np.cumsum(wsize)[:-1]]).astype(np.int64)
    hoff = np.concatenate([[0], np.cumsum(hsize)[:-1]]).astype(np.int64)
    mn = np.concatenate([layer["mn"] for layer in layers])
    mx = np.concatenate([layer["mx"] for layer in layers])
    mn = np.where(np.isfinite(mn), mn, 0.0)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    f32 = np.float32
    return (
        order, starts, hsize, woff, hoff,
        np.concatenate([layer["W"].ravel() for layer in layers]).astype(f32),
        np.concatenate([layer["hb"] for layer in layers]).astype(f32),
        np.concatenate([layer["vb"] for layer in layers]).astype(f32),
        mn.astype(f32), np.maximum(mx - mn, MIN_SPAN).astype(f32),
    )  # fmt: skip


class AutoencoderEnsemble:
    """KitNET-style ensemble: correlated feature groups → tiny autoencoders → output autoencoder."""

    def __init__(
        self,
        max_group: int = 10,
        hidden_ratio: float = 0.75,
        learning_rate: float = 0.1,
        mapping_rows: int = 5000,
        seed: int = 0,
    ) -> None:
        self.max_group = max_group
        self.hidden_ratio = hidden_ratio
        self.learning_rate = learning_rate
        self.mapping_rows = mapping_rows
        self.seed = seed
        self.groups: list[list[int]] = []
        self.rows_learned = 0
        self._sum: npt.NDArray[np.float64] | None = None
        self._outer: npt.NDArray[np.float64] | None = None
        self._n_map = 0
        self._layers: list[dict[str, npt.NDArray[np.float64]]] = []

    @property
    def ready(self) -> bool:
        """True once the feature mapping exists and the autoencoders are being trained."""
        return bool(self._layers)

    def learn(self, X: npt.NDArray[np.float32]) -> AutoencoderEnsemble:
        """Learn from rows of ``X`` (in order): mapping rows first, then autoencoder training."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        start = 0
        if not self.ready:
            start = min(X.shape[0], self.mapping_rows - self._n_map)
            self._accumulate(X[:start])
            if self._n_map >= self.mapping_rows:
                self._build(X.shape[1])
        if self.ready and start < X.shape[0]:
            self._train(X[start:])
        self.rows_learned += X.shape[0]
        return self

    def finish(self) -> AutoencoderEnsemble:
        """Build the mapping from the rows seen so far if fewer than ``mapping_rows`` came."""
        if not self.ready:
            if self._sum is None:
                raise ValueError("no rows learned: the ensemble needs training data")
            self._build(self._sum.shape[0])
        return self

    def score(self, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Anomaly score per row (output-layer RMSE); higher = more anomalous."""
        return self._score_layers(X)[1]

    def group_errors(self, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Reconstruction RMSE of each group autoencoder per row (``n × len(groups)``)."""
        return self._score_layers(X)[0]

    def _score_layers(
        self, X: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        if not self.ready:
            raise ValueError("the ensemble has not been trained")
        X = np.ascontiguousarray(X, dtype=np.float32)
        R = _block_rmse(X, *self._packed[0])
        return R, _block_rmse(R, *self._packed[1])[:, 0]

    def _accumulate(self, X: npt.NDArray[np.float32]) -> None:
        if X.shape[0] == 0:
            return
        X64 = X.astype(np.float64)
        if self._sum is None:
            self._sum = np.zeros(X.shape[1])
            self._outer = np.zeros((X.shape[1], X.shape[1]))
        assert self._outer is not None
        self._sum += X64.sum(axis=0)
        self._outer += X64.T @ X64
        self._n_map += X.shape[0]

    def _build(self, n_features: int) -> None:
        assert self._sum is not None and self._outer is not None
        n = max(self._n_map, 1)
        mean = self._sum / n
        cov = self._outer / n - np.outer(mean, mean)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        denom = np.outer(sd, sd)
        corr = np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 1e-12)
        dist = np.clip(1.0 - corr, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        self.groups = _clusters(dist, self.max_group)
        rng = np.random.default_rng(self.seed)
        sizes = [len(g) for g in self.groups] + [len(self.groups)]
        self._layers = []
        for k in sizes:
            h = max(1, math.ceil(k * self.hidden_ratio))
            self._layers.append(
                {
                    "W": rng.uniform(-1.0 / k, 1.0 / k, size=(k, h)),
                    "hb": np.zeros(h),
                    "vb": np.zeros(k),
                    "mn": np.full(k, np.inf),
                    "mx": np.full(k, -np.inf),
                }
            )
        self._sum = self._outer = None
        self._refresh()

    def _train(self, X: npt.NDArray[np.float32]) -> None:
        from numba.typed import List

        order = np.concatenate([np.asarray(g, dtype=np.int64) for g in self.groups])
        starts = np.cumsum([0] + [len(g) for g in self.groups]).astype(np.int64)
        lists = [List([layer[key] for layer in self._layers]) for key in ("W", "hb", "vb")]
        bounds = [List([layer[key] for layer in self._layers]) for key in ("mn", "mx")]
        _train_rows(X, order, starts, *lists, *bounds, self.learning_rate)  # type: ignore[call-arg]
        self._refresh()

    def _refresh(self) -> None:
        """Packed float32 copies of the layers for fast batch scoring."""
        G = len(self.groups)
        self._packed = (
            _pack(self._layers[:G], self.groups),
            _pack(self._layers[G:], [list(range(G))]),
        )

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """(JSON-able parameters, named arrays) for a baseline file."""
        params = {
            "max_group": self.max_group,
            "hidden_ratio": self.hidden_ratio,
            "learning_rate": self.learning_rate,
            "mapping_rows": self.mapping_rows,
            "seed": self.seed,
            "rows_learned": self.rows_learned,
            "groups": self.groups,
        }
        arrays = {
            f"layer{i}_{key}": value
            for i, layer in enumerate(self._layers)
            for key, value in layer.items()
        }
        return params, arrays

    @classmethod
    def from_arrays(
        cls, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> AutoencoderEnsemble:
        model = cls(
            max_group=int(params["max_group"]),
            hidden_ratio=float(params["hidden_ratio"]),
            learning_rate=float(params["learning_rate"]),
            mapping_rows=int(params["mapping_rows"]),
            seed=int(params["seed"]),
        )
        model.rows_learned = int(params["rows_learned"])
        model.groups = [list(map(int, g)) for g in params["groups"]]
        model._layers = [
            {key: arrays[f"layer{i}_{key}"] for key in ("W", "hb", "vb", "mn", "mx")}
            for i in range(len(model.groups) + 1)
        ]
        model._refresh()
        return model
