"""The suppression rules on their own: which cells are withheld, which rows are pooled."""

from __future__ import annotations

from hedgerow.hub.suppression import Tally, covers, pool, safe, withhold_partition


def small(count: int, *ids: int) -> Tally:
    return Tally(count, len(ids), frozenset(ids))


def test_safe_needs_the_cell_and_the_rest_of_its_total() -> None:
    assert safe(Tally(10, 5), 5) and safe(Tally(0, 0), 5)
    assert not safe(Tally(10, 4), 5)
    assert safe(Tally(10, 5, rest=0), 5) and safe(Tally(10, 5, rest=5), 5)
    assert not safe(Tally(10, 5, rest=4), 5)


def test_withheld_cells_that_together_cover_k_need_no_complement() -> None:
    cells = {"a": small(2, 1, 2), "b": small(1, 3), "c": Tally(40, 9)}
    assert withhold_partition(cells, 3) == {"a", "b"}


def test_overlapping_withheld_cells_take_the_smallest_published_one() -> None:
    cells = {"a": small(2, 1, 2), "b": small(1, 2), "c": Tally(40, 9), "d": Tally(30, 7),
             "e": Tally(0, 0)}
    assert withhold_partition(cells, 3) == {"a", "b", "d"}


def test_nothing_withheld_when_every_cell_is_large_or_empty() -> None:
    assert withhold_partition({"a": Tally(40, 9), "b": Tally(0, 0)}, 3) == set()


def test_all_cells_small_are_all_withheld() -> None:
    assert withhold_partition({"a": small(2, 1), "b": small(1, 1)}, 3) == {"a", "b"}


def test_covers_counts_distinct_participants() -> None:
    assert not covers([small(5, 1, 2), small(5, 2)], 3)
    assert covers([small(5, 1, 2), small(5, 3)], 3)
    assert covers([small(5, 1), Tally(1, 3)], 3)


def test_pool_keeps_large_rows_and_pools_small_ones_per_model_then_vendor() -> None:
    rows = {("A", "cam", "1"): Tally(9, 4), ("A", "cam", "2"): small(1, 1),
            ("A", "cam", "3"): small(1, 2), ("A", "plug", "1"): small(1, 3),
            ("A", "hub", "1"): small(4, 3, 4), ("B", "x", "1"): Tally(8, 3)}
    placed = pool(rows, 3)
    assert placed[("A", "cam", "1")] == ("A", "cam", "1")
    # cam 2+3: two households, too few for the model: with plug and hub, four for vendor A.
    assert {placed[r] for r in [("A", "cam", "2"), ("A", "cam", "3"), ("A", "plug", "1"),
                                ("A", "hub", "1")]} == {("A", None, None)}
    assert placed[("B", "x", "1")] == ("B", "x", "1")


def test_pool_remainder_below_k_takes_the_smallest_listed_row() -> None:
    rows = {("A", "cam", "1"): Tally(9, 4), ("B", "x", "1"): Tally(5, 3),
            ("C", "y", "1"): small(2, 1)}
    placed = pool(rows, 3)
    assert placed == {("A", "cam", "1"): ("A", "cam", "1"), ("B", "x", "1"): (None, None, None),
                      ("C", "y", "1"): (None, None, None)}


def test_pool_withholds_everything_below_k_in_all() -> None:
    rows = {("A", "cam", "1"): small(3, 1), ("A", "cam", "2"): small(1, 1, 2)}
    assert pool(rows, 3) == {("A", "cam", "1"): None, ("A", "cam", "2"): None}
    assert pool({}, 3) == {}
