"""Group-bys over a batch's rows in numpy: one stable sort, then per-group reductions.

The inventory aggregates every packet batch by device (and by peer or port); a sort-based
group-by over the few columns it needs costs less than building a dataframe per batch.
Groups come out in ascending key order, the rows of a group in row order.

Example:
    >>> import numpy as np
    >>> mac = np.array([7, 3, 7, 3, 7], np.uint64)
    >>> ts = np.array([5.0, 1.0, 2.0, 9.0, 4.0])
    >>> g = Groups(mac)
    >>> g.key(0).tolist(), g.sizes.tolist(), g.min(ts).tolist(), g.max(ts).tolist()
    ([3, 7], [2, 3], [1.0, 2.0], [9.0, 5.0])
    >>> g.distinct_firsts(np.array([1, 1, 2, 2, 1], np.uint64), limit=2)
    [[1, 3], [0, 2]]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class Groups:
    """The rows of equal ``keys`` (arrays of one length; the first is the major key)."""

    def __init__(self, *keys: npt.NDArray[np.generic]) -> None:
        self.keys = keys
        n = keys[0].shape[0]
        if len(keys) == 1:
            self.order = np.argsort(keys[0], kind="stable")
        else:
            self.order = np.lexsort(keys[::-1])
        change = np.zeros(n, dtype=bool)
        if n:
            change[0] = True
            for key in keys:
                ordered = key[self.order]
                change[1:] |= ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(change)
        self.sizes = np.diff(np.append(self.starts, n))
        self.first_rows = self.order[self.starts]
        """The first row (in row order) of each group."""

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def key(self, i: int) -> npt.NDArray[np.generic]:
        """The ``i``-th key's value per group."""
        return self.key_values(self.keys[i])

    def ids(self) -> npt.NDArray[np.intp]:
        """Each row's group number."""
        out = np.empty(self.order.shape[0], dtype=np.intp)
        out[self.order] = np.repeat(np.arange(len(self)), self.sizes)
        return out

    def prefix_ids(self, k: int) -> npt.NDArray[np.intp]:
        """Per group, the number of its distinct first ``k`` keys (groups are sorted by key,
        so the groups of one prefix are consecutive)."""
        change = np.zeros(len(self), dtype=bool)
        for key in self.keys[:k]:
            values = self.key_values(key)
            change[1:] |= values[1:] != values[:-1]
        return np.cumsum(change)

    def key_values(self, key: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        """A per-row array's value at each group's first row."""
        return key[self.first_rows]

    def min(self, values: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        if not len(self):
            return values[:0]
        return np.minimum.reduceat(values[self.order], self.starts)

    def max(self, values: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        if not len(self):
            return values[:0]
        return np.maximum.reduceat(values[self.order], self.starts)

    def distinct_firsts(
        self, *values: npt.NDArray[np.generic], limit: int
    ) -> list[list[int]]:
        """Per group, the first row of each distinct ``values`` tuple, in order of first
        appearance, at most ``limit`` of them (polars' ``unique(maintain_order=True).head``)."""
        if not len(self):
            return []
        group = self.ids()
        rows = Groups(group, *values).first_rows
        owner = group[rows]
        by_owner = np.lexsort((rows, owner))
        rows, owner = rows[by_owner], owner[by_owner]
        rank = _rank_in_runs(owner)
        keep = rank < limit
        rows, owner = rows[keep], owner[keep]
        counts = np.bincount(owner, minlength=len(self))
        flat = rows.tolist()
        bounds = np.concatenate(([0], np.cumsum(counts))).tolist()
        return [flat[bounds[g] : bounds[g + 1]] for g in range(len(self))]


def top_per(
    owner: npt.NDArray[np.intp], order: npt.NDArray[np.intp], keep: int
) -> npt.NDArray[np.intp]:
    """Of ``order`` (indices, best first), the first ``keep`` of each ``owner[index]``.

    >>> top_per(np.array([0, 0, 1, 0]), np.array([3, 2, 1, 0]), keep=2).tolist()
    [3, 2, 1]
    """
    owners = owner[order]
    by_owner = np.argsort(owners, kind="stable")
    rank = np.empty(order.shape[0], dtype=np.intp)
    rank[by_owner] = _rank_in_runs(owners[by_owner])
    return order[rank < keep]


def _rank_in_runs(values: npt.NDArray[np.generic]) -> npt.NDArray[np.intp]:
    """Each element's position within its run of equal consecutive values."""
    n = values.shape[0]
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1]))) if n \
        else np.zeros(0, int)
    return np.arange(n) - np.repeat(starts, np.diff(starts, append=n))


__all__ = ["Groups", "top_per"]
