"""Named datasets give the counts their READMEs state; paths and errors behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conv4rec.data import DataError, Split, cache_dir, data_root, list_datasets, load_dataset


def _sizes(split: Split) -> tuple[int, int, int, int, int]:
    return (split.train.n_observed, split.test.n_observed, split.train.n_users,
            split.train.n_items, split.train.n_levels)


def _pairs(data) -> set:
    return set(zip(data.user_ids[data.user].tolist(), data.item_ids[data.item].tolist()))


# --------------------------------------------------------------------------- the real datasets
@pytest.mark.parametrize("name, split, expected", [
    ("ml-100k", None, (80_000, 20_000, 943, 1682, 5)),
    ("ml-100k", "ua", (90_570, 9_430, 943, 1682, 5)),
    ("ml-100k", "ub", (90_570, 9_430, 943, 1682, 5)),
    ("ml-latest-small", None, (90_004, 10_000, 671, 9066, 10)),
    ("douban", None, (123_202, 13_689, 2999, 3000, 5)),
    ("flixster", None, (23_556, 2_617, 2341, 2956, 10)),
])
def test_named_dataset_counts(shared_data: Path, name, split, expected) -> None:
    loaded = load_dataset(name, split, root=shared_data)
    assert _sizes(loaded) == expected
    assert loaded.train.user_ids is loaded.test.user_ids


def test_ml1m_standin_counts(shared_data: Path) -> None:
    split = load_dataset("ml-1m", root=shared_data)
    assert split.name == "fixed"
    assert _sizes(split) == (900_000, 100_203, 6040, 3706, 5)
    assert len(_pairs(split.train) & _pairs(split.test)) == 0


def test_ml100k_folds_partition_udata(shared_data: Path) -> None:
    folds = [load_dataset("ml-100k", f"u{k}", root=shared_data) for k in range(1, 6)]
    tests = [_pairs(f.test) for f in folds]
    assert all(len(t) == 20_000 for t in tests)
    assert len(set().union(*tests)) == 100_000  # disjoint, and together all of u.data
    for f in folds:
        assert len(_pairs(f.train) & _pairs(f.test)) == 0
        assert f.train.timestamp is not None and f.train.levels.tolist() == [1, 2, 3, 4, 5]
    ua = load_dataset("ml-100k", "ua", root=shared_data)
    assert np.all(ua.test.counts_per_user() == 10)  # exactly 10 test ratings per user


def test_ml_latest_small_splits(shared_data: Path) -> None:
    a = load_dataset("ml-latest-small", root=shared_data)
    b = load_dataset("ml-latest-small", "random", root=shared_data)
    assert a.name == "random" and np.array_equal(a.test.user, b.test.user)
    c = load_dataset("ml-latest-small", "random-1", root=shared_data)
    assert c.test.n_observed == 10_000 and not np.array_equal(a.test.item, c.test.item)
    t = load_dataset("ml-latest-small", "temporal", root=shared_data)
    assert t.train.timestamp.max() <= t.test.timestamp.min()
    assert t.train.n_observed + t.test.n_observed == 100_004


def test_paths_load_like_names(shared_data: Path) -> None:
    folder = load_dataset(shared_data / "ml-100k", "ua")
    assert _sizes(folder) == (90_570, 9_430, 943, 1682, 5)
    csv = load_dataset(str(shared_data / "flixster" / "ratings.csv"))
    assert csv.name == "fixed" and _sizes(csv)[:2] == (23_556, 2_617)
    tsv = load_dataset(shared_data / "ml-100k" / "u.data")  # no split column: random 90/10
    assert tsv.name == "random" and _sizes(tsv)[:2] == (90_000, 10_000)
    assert tsv.train.timestamp is not None


def test_env_var_points_at_the_data(shared_data: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONV4REC_DATA", str(shared_data))
    assert data_root() == shared_data
    assert load_dataset("flixster").test.n_observed == 2_617


# --------------------------------------------------------------------------- synthetic layouts
def test_ml100k_style_folder_and_ml1m_dat(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    rows = [f"{u}\t{i}\t{rng.integers(1, 6)}\t{1000 + 10 * u + i}"
            for u in range(1, 11) for i in range(1, 9)]
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    (folder / "u1.base").write_text("\n".join(rows[:60]) + "\n")
    (folder / "u1.test").write_text("\n".join(rows[60:]) + "\n")
    split = load_dataset(folder)
    assert split.name == "u1" and _sizes(split)[:3] == (60, 20, 10)
    with pytest.raises(DataError, match=r"split 'u2' needs u2\.base and u2\.test"):
        load_dataset(folder, "u2")
    assert load_dataset(folder, "temporal").test.n_observed == 16

    ml1m = tmp_path / "ml-1m"
    ml1m.mkdir()
    (ml1m / "ratings.dat").write_text("\n".join(r.replace("\t", "::") for r in rows) + "\n")
    monkeypatch.setenv("CONV4REC_DATA", str(tmp_path))
    split = load_dataset("ml-1m")  # only the canonical file: seeded random 90/10
    assert split.name == "random" and _sizes(split)[:2] == (72, 8)
    assert split.train.timestamp is not None


def test_csv_without_split_column_gets_seeded_random_split(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("userId,movieId,rating\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(20) for i in range(10)))
    a, b = load_dataset(path), load_dataset(path, "random")
    assert a.name == "random" and _sizes(a)[:2] == (180, 20)
    assert np.array_equal(a.test.item, b.test.item)
    with pytest.raises(DataError, match=r"unknown split 'fixed'; choose from random, random-K$"):
        load_dataset(path, "fixed")


# --------------------------------------------------------------------------- errors
def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match=r"unknown dataset 'ml-10k': known datasets are "
                                        r"ml-100k, ml-latest-small, ml-1m, douban, flixster"):
        load_dataset("ml-10k")
    assert list_datasets() == ["ml-100k", "ml-latest-small", "ml-1m", "douban", "flixster"]


def test_unknown_split_lists_the_valid_ones(shared_data: Path) -> None:
    with pytest.raises(DataError, match=r"unknown split 'u9'; choose from u1, u2, u3, u4, u5, "
                                        r"ua, ub, random, random-K, temporal"):
        load_dataset("ml-100k", "u9", root=shared_data)
    with pytest.raises(DataError, match=r"unknown split 'temporal'; choose from fixed"):
        load_dataset("douban", "temporal", root=shared_data)


def test_missing_data_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CONV4REC_DATA", raising=False)
    monkeypatch.setenv("CONV4REC_CACHE", str(tmp_path / "cache"))
    assert data_root() == cache_dir() == tmp_path / "cache"
    with pytest.raises(DataError, match=r"dataset 'ml-100k' not found under .*cache: run "
                                        r"`python -m conv4rec fetch ml-100k` or set CONV4REC_DATA"):
        load_dataset("ml-100k")
    with pytest.raises(DataError, match=r"'douban' not found .* set CONV4REC_DATA"):
        load_dataset("douban", root=tmp_path)
    with pytest.raises(DataError, match=r"no such file or folder"):
        load_dataset(tmp_path / "absent.csv")


def test_default_cache_dir(monkeypatch) -> None:
    monkeypatch.delenv("CONV4REC_DATA", raising=False)
    monkeypatch.delenv("CONV4REC_CACHE", raising=False)
    assert data_root() == Path.home() / ".cache" / "conv4rec"
