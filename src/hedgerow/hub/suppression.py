"""Small-cell suppression for the manufacturer and regulator reports.

Every published count (a *cell*) must come from at least ``k`` distinct participants
(households or organisations; ``HubSettings.report_min_participants``, 5 by default) or from
none; otherwise it is withheld (published as null), and so is any cell it could be recovered
from:

* **primary**: a cell built from 1 to k-1 participants is withheld;
* **rest of a total**: a cell that is part of a published total (the failing devices of a
  model whose devices seen are published, of the fleet's assessed devices) is withheld when
  the rest, total minus cell, comes from 1 to k-1 participants;
* **nesting**: a UK PSTI requirement is the union of its ETSI provisions and of findings that
  state it; a published provision is withheld when requirement minus provision comes from 1
  to k-1 participants (:func:`nested_ok`);
* **partition** (secondary suppression): when cells add up to a published total (the daily
  alert counts of one direction add up to the fleet's total), more cells are withheld,
  smallest first, until the withheld ones are known to come from at least k participants
  together, so total minus the published cells belongs to no fewer than k
  (:func:`withhold_partition`; the daily counts do not fetch participant ids, so one
  published day, which alone covers k, joins any withheld ones);
* **pooling** (manufacturer rows): a (vendor, model, firmware) row from fewer than k
  participants is not listed on its own; such rows are pooled into one row per model
  (firmware null), else per vendor (model null), else into one row for all (vendor null),
  each listed once it covers k participants; a remainder below k takes the smallest listed
  row with it, so the total devices still say nothing about fewer than k (:func:`pool`).

Example:
    >>> one = Tally(count=3, participants=1, ids=frozenset({7}))
    >>> safe(one, 5), safe(Tally(count=40, participants=12), 5), safe(Tally(0, 0), 5)
    (False, True, True)
    >>> days = {"mon": one, "tue": Tally(30, 9), "wed": Tally(2, 2, frozenset({7, 8})),
    ...         "thu": Tally(50, 20)}
    >>> sorted(withhold_partition(days, 5))   # mon+wed: 2 participants; tue joins them
    ['mon', 'tue', 'wed']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", str, int, tuple[str, str])
Row = tuple[str, str, str]
Display = tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class Tally:
    """A cell as the database counted it.

    ``count`` is what would be published (devices, finding rows or alerts), ``participants``
    the distinct participants it comes from, ``ids`` their tenant ids where known (only
    fewer than k are ever fetched; unknown ids count as overlapping), and ``rest`` the
    participants of the rest of the total the cell is part of, exact when below k, else a
    bound of at least k (None: not part of a total).
    """

    count: int
    participants: int
    ids: frozenset[int] = frozenset()
    rest: int | None = None


def enough(participants: int, k: int) -> bool:
    """A count from ``participants`` may be published: none, or at least ``k``."""
    return participants == 0 or participants >= k


def safe(cell: Tally, k: int) -> bool:
    """Primary and rest-of-total rules: the cell and, if any, the rest of its total."""
    return enough(cell.participants, k) and (cell.rest is None or enough(cell.rest, k))


def nested_ok(difference: Tally | None, k: int) -> bool:
    """Whether a part may be published beside its published whole: ``difference`` counts the
    devices in the whole but not in the part (None: there are none).

    >>> nested_ok(Tally(1, 1, frozenset({3})), 5), nested_ok(None, 5)
    (False, True)
    """
    return difference is None or enough(difference.participants, k)


def covers(cells: Iterable[Tally], k: int) -> bool:
    """Whether the cells together come from at least ``k`` distinct participants.

    >>> covers([Tally(1, 1, frozenset({1})), Tally(2, 1, frozenset({1}))], 2)
    False
    >>> covers([Tally(1, 1, frozenset({1})), Tally(2, 1, frozenset({2}))], 2)
    True
    """
    ids: set[int] = set()
    for cell in cells:
        if cell.participants >= k:
            return True
        ids |= cell.ids
    return len(ids) >= k


def withhold_partition(cells: Mapping[K, Tally], k: int) -> set[K]:
    """Keys of the cells to withhold among cells that add up to a published total.

    The primary rule first; then, while the withheld cells together come from fewer than
    ``k`` participants, the smallest published cell (fewest counted, then key) joins them.
    When every cell ends up withheld the total comes from fewer than ``k`` participants too,
    and the primary rule withholds it as well."""
    withheld = {key for key, cell in cells.items() if not enough(cell.participants, k)}
    while withheld and not covers([cells[key] for key in withheld], k):
        rest = [key for key, cell in cells.items() if key not in withheld and cell.count > 0]
        if not rest:
            break
        withheld.add(min(rest, key=lambda key: (cells[key].count, key)))
    return withheld


def pool(rows: Mapping[Row, Tally], k: int) -> dict[Row, Display | None]:
    """Where each (vendor, model, firmware) row's devices are listed: under its own key, a
    pooled key (None for the pooled parts) or nowhere (None: the vendors' devices come from
    fewer than ``k`` participants in all).

    >>> rows = {("Acme", "cam", "1.0"): Tally(40, 9),
    ...         ("Acme", "cam", "1.1"): Tally(2, 1, frozenset({4})),
    ...         ("Acme", "cam", "1.2"): Tally(3, 2, frozenset({5, 6}))}
    >>> placed = pool(rows, 3)
    >>> placed[("Acme", "cam", "1.0")], placed[("Acme", "cam", "1.1")]
    (('Acme', 'cam', '1.0'), ('Acme', 'cam', None))
    """
    placed: dict[Row, Display | None] = {}
    left: list[Row] = []
    for key, cell in rows.items():
        if cell.participants >= k:
            placed[key] = key
        else:
            left.append(key)
    for depth in (2, 1, 0):
        buckets: dict[tuple[str, ...], list[Row]] = defaultdict(list)
        for key in left:
            buckets[key[:depth]].append(key)
        left = []
        for prefix, keys in buckets.items():
            if covers([rows[key] for key in keys], k):
                parts: list[str | None] = [*prefix, None, None, None]
                placed.update(dict.fromkeys(keys, (parts[0], parts[1], parts[2])))
            else:
                left.extend(keys)
    if not left:
        return placed
    if not placed:
        return dict.fromkeys(rows)
    # The remainder comes from fewer than k participants, and total minus the listed rows
    # would count it: pool it with the smallest listed row (which alone covers k).
    sizes: dict[Display, int] = defaultdict(int)
    for key, shown in placed.items():
        if shown is not None:
            sizes[shown] += rows[key].count
    smallest = min(sizes, key=lambda shown: (sizes[shown], display_order(shown)))
    everything: Display = (None, None, None)
    for key, shown in placed.items():
        if shown == smallest:
            placed[key] = everything
    placed.update(dict.fromkeys(left, everything))
    return placed


def display_order(display: Display) -> tuple[tuple[bool, str], ...]:
    """Sort key of listed rows: by vendor, model, firmware, pooled parts after named ones."""
    return tuple((part is None, part or "") for part in display)
