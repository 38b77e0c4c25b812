"""Readers: exact counts on the real files, level-set round trips, one-line errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conv4rec.data import DataError, from_arrays, read_table


# --------------------------------------------------------------------------- real files
def test_ml100k_udata_counts(shared_data: Path) -> None:
    data, labels = read_table(shared_data / "ml-100k" / "u.data", timestamp_col=3)
    assert labels is None
    assert (data.n_observed, data.n_users, data.n_items) == (100_000, 943, 1682)
    assert data.levels.tolist() == [1, 2, 3, 4, 5]
    assert np.bincount(data.level).tolist() == [6110, 11370, 27145, 34174, 21201]
    assert data.user_ids.tolist() == list(range(1, 944))  # numeric ids, numeric order
    assert (data.timestamp.min(), data.timestamp.max()) == (874_724_710, 893_286_638)
    # rows keep file order: the first line of u.data is "196 242 3 881250949"
    first = (data.user_ids[data.user[0]], data.item_ids[data.item[0]], data.rating[0])
    assert first == (196, 242, 3)


def test_ml_latest_small_counts(shared_data: Path) -> None:
    path = shared_data / "ml-latest-small" / "ratings.csv"
    data, _ = read_table(path, user_col="userId", item_col="movieId", rating_col="rating",
                         timestamp_col="timestamp")
    assert (data.n_observed, data.n_users, data.n_items) == (100_004, 671, 9066)
    assert data.levels.tolist() == (np.arange(1, 11) / 2).tolist()
    assert np.bincount(data.level).tolist() == [1101, 3326, 1687, 7271, 4449, 20064, 10538,
                                                28750, 7723, 15095]
    assert (data.timestamp.min(), data.timestamp.max()) == (789_652_009, 1_476_640_644)


def test_ml1m_standin_is_read_fast(shared_data: Path) -> None:
    start = time.perf_counter()
    data, labels = read_table(shared_data / "ml-1m-bpmf" / "ratings.csv", split_col="split")
    seconds = time.perf_counter() - start
    assert (data.n_observed, data.n_users, data.n_items) == (1_000_203, 6040, 3706)
    assert np.bincount(data.level).tolist() == [56174, 107557, 261195, 348969, 226308]
    assert (labels == "train").sum() == 900_000 and (labels == "test").sum() == 100_203
    assert seconds < 10, f"1M rows took {seconds:.1f} s"  # ~2 s here; generous for slow CI


# --------------------------------------------------------------------------- round trips
LEVEL_SETS = st.one_of(
    st.just([1.0]),
    st.just([0.5 * k for k in range(1, 11)]),
    st.lists(st.integers(1, 100), min_size=1, max_size=30, unique=True)
      .map(lambda v: sorted(float(x) for x in v)),
    st.lists(st.sampled_from([0.5 * k for k in range(-4, 21)]), min_size=1, max_size=8,
             unique=True).map(sorted),
)
DELIMITERS = st.sampled_from([",", "\t", "::", ";", " ", "|"])


def _rating_text(v: float, style: str) -> str:
    return repr(float(v)) if style == "repr" else f"{v:g}"


@st.composite
def tables(draw):
    """(levels, user ids, item ids, ratings): unique pairs, every level used at least once."""
    levels = draw(LEVEL_SETS)
    n_users = draw(st.integers(1, 6))
    n_items = max(draw(st.integers(1, 6)), -(-len(levels) // n_users))
    n = draw(st.integers(len(levels), n_users * n_items))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pairs = rng.permutation(n_users * n_items)[:n]
    users, items = pairs // n_items, pairs % n_items
    rating = np.array(levels)[rng.permutation(np.resize(np.arange(len(levels)), n))]
    if draw(st.booleans()):
        return levels, [f"u{u}" for u in users], [f"i{i}" for i in items], rating
    return levels, users.tolist(), (items * 7 + 3).tolist(), rating


def _triples(data) -> set:
    return set(zip(data.user_ids[data.user].tolist(), data.item_ids[data.item].tolist(),
                   data.rating.tolist()))


@given(tables(), DELIMITERS, st.booleans(), st.booleans(), st.sampled_from(["g", "repr"]),
       st.booleans())
def test_level_sets_round_trip_through_a_file(tmp_path_factory, table, delimiter, explicit,
                                              header, style, declare) -> None:
    levels, users, items, rating = table
    path = tmp_path_factory.mktemp("rt") / "ratings.txt"
    lines = ([delimiter.join(["user", "item", "rating"])] if header else []) + [
        delimiter.join([str(u), str(i), _rating_text(r, style)])
        for u, i, r in zip(users, items, rating)]
    path.write_text("\n".join(lines) + "\n")
    data, _ = read_table(path, delimiter=delimiter if explicit else None,
                         levels=levels if declare else None)
    assert data.levels.tolist() == levels  # every level is used, so both agree
    assert data.n_levels == len(levels)
    assert _triples(data) == set(zip(users, items, rating.tolist()))
    assert data.n_observed == len(users)


@given(tables())
def test_level_sets_round_trip_from_arrays(table) -> None:
    levels, users, items, rating = table
    data = from_arrays(users, items, rating)
    assert data.levels.tolist() == levels
    assert _triples(data) == set(zip(users, items, rating.tolist()))
    declared = from_arrays(users, items, rating, levels=levels + [1000.0])
    assert declared.levels.tolist() == levels + [1000.0]
    assert np.array_equal(declared.rating, data.rating)


def test_numeric_ids_sort_numerically_and_strings_lexically() -> None:
    data = from_arrays(["10", "9", "100"], ["b", "a", "c"], [1, 2, 3])
    assert data.user_ids.tolist() == [9, 10, 100]
    assert data.item_ids.tolist() == ["a", "b", "c"]
    assert data.user.tolist() == [1, 0, 2]


def test_implicit_data_has_one_level(tmp_path: Path) -> None:
    path = tmp_path / "clicks.csv"
    path.write_text("user,item\n1,5\n1,6\n2,5\n")
    data, _ = read_table(path, rating_col=None)
    assert data.levels.tolist() == [1.0] and data.n_observed == 3
    assert from_arrays([1, 2], [3, 3], None).levels.tolist() == [1.0]


def test_columns_by_name_position_and_split_labels(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("ts\tSPLIT\tmovie\tscore\twho\n5\ttrain\t7\t4.5\tann\n"
                    "6\ttest\t8\t3\tbob\n")
    data, labels = read_table(path, user_col="who", item_col=2, rating_col="Score",
                              timestamp_col=0, split_col="split")
    assert data.user_ids.tolist() == ["ann", "bob"]
    assert data.rating.tolist() == [4.5, 3.0]
    assert data.timestamp.tolist() == [5, 6]
    assert labels.tolist() == ["train", "test"]


def test_crlf_padding_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"user, item, rating\r\n1, 2, 3\r\n\r\n 2 ,3, 4 \r\n")
    data, _ = read_table(path)
    assert _triples(data) == {(1, 2, 3.0), (2, 3, 4.0)}
    path.write_bytes(b"1,2,3\n\n\n2,3,x\n")
    with pytest.raises(DataError, match=r"r\.csv, line 4: rating 'x' is not a number"):
        read_table(path)


def test_keep_last_and_keep_first(tmp_path: Path) -> None:
    path = tmp_path / "dup.dat"
    path.write_text("1::2::3::10\n2::2::4::11\n1::2::5::12\n")
    data, _ = read_table(path, timestamp_col=3, duplicates="keep-last")
    assert _triples(data) == {(1, 2, 5.0), (2, 2, 4.0)}
    assert data.timestamp.tolist() == [11, 12]  # input order kept
    data, _ = read_table(path, timestamp_col=3, duplicates="keep-first")
    assert _triples(data) == {(1, 2, 3.0), (2, 2, 4.0)}


# --------------------------------------------------------------------------- bad input
BAD_FILES = [
    ("nan.csv", "user,item,rating\n1,2,3\n1,3,nan\n", {}, r"nan\.csv, line 3: rating 'nan' is NaN"),
    ("inf.csv", "1,2,inf\n", {}, r"inf\.csv, line 1: rating 'inf' is not finite"),
    ("text.csv", "1,2,3\n1,3,good\n", {}, r"text\.csv, line 2: rating 'good' is not a number"),
    ("off.tsv", "1\t2\t3\n1\t3\t6\n", {"levels": [1, 2, 3, 4, 5]},
     r"off\.tsv, line 2: rating '6' is not on the scale \[1, 2, 3, 4, 5\]"),
    ("half.csv", "1,2,3.5\n", {"levels": [1, 2, 3, 4, 5]}, r"line 1: rating '3.5' is not on"),
    ("dup.csv", "1,2,3\n2,2,4\n1,2,5\n", {},
     r"dup\.csv, line 3: duplicate \(user, item\) pair \('1', '2'\), first seen at line 1"),
    ("empty.csv", "", {}, r"empty\.csv: empty file"),
    ("blank.csv", "\n  \n", {}, r"blank\.csv: empty file"),
    ("header.csv", "user,item,rating\n", {}, r"header\.csv: no data rows"),
    ("trunc.csv", "1,2,3\n1,3\n2,2,4\n", {},
     r"trunc\.csv, line 2: expected 3 fields, got 2 .*'1,3'"),
    ("long.tsv", "1\t2\t3\n1\t3\t4\t9\n2\t2\t4\n", {},
     r"long\.tsv, line 2: expected 3 fields, got 4"),
    ("noid.csv", "1,2,3\n,3,4\n", {}, r"noid\.csv, line 2: empty user id"),
    ("badts.csv", "1,2,3,x\n", {"timestamp_col": 3},
     r"badts\.csv, line 1: timestamp 'x' is not a number"),
    ("cols.csv", "1,2\n", {}, r"cols\.csv: column 2 does not exist .* rating_col=None"),
    ("name.csv", "u,i,r\n1,2,3\n", {"user_col": "user"}, r"name\.csv: no column named 'user'"),
]


@pytest.mark.parametrize("name, content, options, message", BAD_FILES,
                         ids=[b[0] for b in BAD_FILES])
def test_bad_files_give_one_line_errors(tmp_path: Path, name, content, options, message) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path, **options)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ratings.csv"
    with pytest.raises(DataError, match=r"nowhere/ratings\.csv: no such file"):
        read_table(path)


@pytest.mark.parametrize("args, kwargs, message", [
    (([1, 2], [1, 1], [np.nan, 2]), {}, r"<memory>, row 0: rating nan is NaN"),
    (([1, 2], [1, 1], [1, 7]), {"levels": [1, 2], "line_numbers": [5, 9], "source": "x.csv"},
     r"x\.csv, line 9: rating 7 is not on the scale \[1, 2\]"),
    (([1, 1], [1, 1], [1, 2]), {"line_numbers": [3, 8], "source": "y"},
     r"y, line 8: duplicate \(user, item\) pair \(1, 1\), first seen at line 3"),
    (([], [], []), {}, r"<memory>: no interactions \(empty data\)"),
    (([1, 2], [1], [1, 2]), {}, r"<memory>: columns differ in length"),
])
def test_from_arrays_errors(args, kwargs, message) -> None:
    with pytest.raises(DataError, match=message) as info:
        from_arrays(*args, **kwargs)
    assert "\n" not in str(info.value)
