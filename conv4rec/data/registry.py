"""Named datasets and :func:`load_dataset` (SPEC §1, §5).

A named dataset is looked up, by its folder name, under each data root in turn:
``$CONV4REC_DATA`` when set, then the fetch cache (``$CONV4REC_CACHE`` or
``~/.cache/conv4rec``), where ``python -m conv4rec fetch NAME`` unpacks the publisher's archive.

=================== ================================================ =========================
name                files (under a data root)                        splits (default first)
=================== ================================================ =========================
``ml-100k``         ``ml-100k/u.data``, ``u1..u5``, ``ua``, ``ub``   u1..u5, ua, ub, random[-K],
                                                                     temporal
``ml-latest-small`` ``ml-latest-small/ratings.csv`` (half stars)     random[-K], temporal
``ml-1m``           ``ml-1m-bpmf/ratings.csv`` (the stand-in with a  fixed, random[-K];
                    fixed 90/10 split column), else a fetched        canonical: random[-K],
                    ``ml-1m/ratings.dat``                            temporal
``douban``          ``douban/ratings.csv`` (user,item,rating,split)  fixed, random[-K]
``flixster``        ``flixster/ratings.csv`` (half stars)            fixed, random[-K]
=================== ================================================ =========================

``random`` is a seeded per-interaction 90/10 split with seed 0, ``random-K`` the same with
seed K; ``temporal`` is a global cut at the 0.8 quantile of the timestamps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conv4rec.data.interactions import DataError, Interactions, Split
from conv4rec.data.readers import (
    _build_from_columns,
    _is_number,
    _looks_like_header,
    _peek,
    _read_columns,
)
from conv4rec.data.splits import fixed_split, random_split, temporal_split

__all__ = ["DATASETS", "cache_dir", "data_root", "list_datasets", "load_dataset",
           "locate_dataset"]

_INT_STARS = (1.0, 2.0, 3.0, 4.0, 5.0)
_HALF_STARS = tuple(np.arange(1, 11) / 2.0)
_TEST_FRACTION = 0.1
_TEMPORAL_QUANTILE = 0.8
_RANDOM = re.compile(r"random(?:-(\d+))?")
_ML100K_FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def cache_dir() -> Path:
    """The fetch cache: ``$CONV4REC_CACHE``, else ``~/.cache/conv4rec``."""
    env = os.environ.get("CONV4REC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "conv4rec"


def data_root() -> Path:
    """Where named datasets are looked up first: ``$CONV4REC_DATA``, else :func:`cache_dir`."""
    env = os.environ.get("CONV4REC_DATA")
    return Path(env).expanduser() if env else cache_dir()


def _roots(root: str | Path | None) -> list[Path]:
    if root is not None:
        return [Path(root).expanduser()]
    roots = [data_root()]
    if cache_dir() != roots[0]:
        roots.append(cache_dir())
    return roots


# --------------------------------------------------------------------------- generic splits
def _generic_split(data: Interactions, split: str, source: str,
                   choices: list[str]) -> Split:
    """``random``, ``random-K`` or ``temporal`` of the whole data."""
    m = _RANDOM.fullmatch(split)
    if m:
        seed = int(m.group(1) or 0)
        return random_split(data, test_fraction=_TEST_FRACTION, seed=seed, name=split)
    if split == "temporal" and data.timestamp is not None:
        return temporal_split(data, quantile=_TEMPORAL_QUANTILE, name=split)
    raise DataError(f"{source}: unknown split {split!r}; choose from {', '.join(choices)}")


def _split_choices(fixed: list[str], timestamps: bool) -> list[str]:
    return fixed + ["random", "random-K"] + (["temporal"] if timestamps else [])


# --------------------------------------------------------------------------- file layouts
def _load_ml100k_folder(folder: Path, split: str | None) -> Split:
    """An ml-100k folder: ``u.data`` plus the ``uN.base``/``uN.test`` fold files."""
    folds = [f for f in _ML100K_FOLDS
             if (folder / f"{f}.base").is_file() and (folder / f"{f}.test").is_file()]
    split = split or (folds[0] if folds else "random")
    columns = {"delimiter": "\t", "header": False, "user_col": 0, "item_col": 1,
               "rating_col": 2, "timestamp_col": 3}
    if split in folds:
        parts = [_read_columns(folder / f"{split}.{part}", **columns) for part in ("base", "test")]
        data, part, _ = _build_from_columns(parts, levels=_INT_STARS, duplicates="error",
                                            source=f"{folder / split}.base+{split}.test")
        return fixed_split(data, np.where(part == 0, "train", "test"), name=split)
    if split in _ML100K_FOLDS:
        raise DataError(f"{folder}: split {split!r} needs {split}.base and {split}.test, "
                        f"which are not there")
    data, _, _ = _build_from_columns([_read_columns(folder / "u.data", **columns)],
                                     levels=_INT_STARS, duplicates="error",
                                     source=str(folder / "u.data"))
    return _generic_split(data, split, str(folder), _split_choices(folds, True))


def _load_ml1m_dat(path: Path, split: str | None) -> Split:
    """The canonical ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header."""
    cols = _read_columns(path, delimiter="::", header=False, user_col=0, item_col=1,
                         rating_col=2, timestamp_col=3)
    data, _, _ = _build_from_columns([cols], levels=_INT_STARS, duplicates="error")
    return _generic_split(data, split or "random", str(path), _split_choices([], True))


_ALIASES = {
    "user": ("user", "userid", "user_id", "uid", "user id"),
    "item": ("item", "itemid", "item_id", "iid", "movieid", "movie_id", "movie", "item id"),
    "rating": ("rating", "ratings", "score", "value", "stars"),
    "timestamp": ("timestamp", "time", "ts", "date", "datetime"),
    "split": ("split", "fold", "set", "part"),
}


def _guess_columns(path: Path, header: list[str] | None, n_cols: int) -> dict:
    """Column options for a file of unknown layout.

    With a header, columns are found by usual names (``userId``, ``movieId``, ``rating``,
    ``timestamp``, ``split``, ...); without one, positions 0, 1, 2 are user, item and rating,
    and a fourth column is a timestamp when numeric, else a split label.
    """
    if header is not None:
        lowered = [h.strip().lower() for h in header]
        found = {}
        for role, names in _ALIASES.items():
            hit = next((lowered.index(n) for n in names if n in lowered), None)
            found[role] = hit
        if found["user"] is None or found["item"] is None:
            raise DataError(f"{path}: cannot tell the user and item columns from the header "
                            f"{header}; use read_table with user_col=, item_col=")
        return {"header": True, "user_col": found["user"], "item_col": found["item"],
                "rating_col": found["rating"], "timestamp_col": found["timestamp"],
                "split_col": found["split"]}
    return {"header": False, "user_col": 0, "item_col": 1,
            "rating_col": 2 if n_cols > 2 else None}


def _load_table(path: Path, split: str | None, *, levels: tuple | None = None,
                columns: dict | None = None) -> Split:
    """A CSV/TSV file: a ``split`` column gives the fixed split; else a seeded random 90/10."""
    if columns is None:
        columns = _sniff_columns(path)
    cols = _read_columns(path, **columns)
    data, _, keep = _build_from_columns([cols], levels=levels, duplicates="error",
                                        source=str(path))
    fixed = ["fixed"] if cols.split is not None else []
    choices = _split_choices(fixed, data.timestamp is not None)
    if split is None:
        split = choices[0]
    if split == "fixed" and cols.split is not None:
        return fixed_split(data, cols.split[keep].astype(str), name="fixed")
    return _generic_split(data, split, str(path), choices)


def _sniff_columns(path: Path) -> dict:
    """Read options for a CSV/TSV of unknown layout (see :func:`_guess_columns`)."""
    delim, rows = _peek(path)
    header = rows[0] if _looks_like_header(rows) else None
    n_cols = len(rows[0])
    options = _guess_columns(path, header, n_cols)
    if header is None and n_cols >= 4:
        options["timestamp_col" if _is_number(rows[0][3]) else "split_col"] = 3
    options["delimiter"] = delim
    return options


def _load_path(path: Path, split: str | None) -> Split:
    if path.is_dir():
        if (path / "u.data").is_file():
            return _load_ml100k_folder(path, split)
        if (path / "ratings.csv").is_file():
            return _load_table(path / "ratings.csv", split)
        if (path / "ratings.dat").is_file():
            return _load_ml1m_dat(path / "ratings.dat", split)
        raise DataError(f"{path}: a folder without u.data, ratings.csv or ratings.dat")
    return _load_table(path, split)


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class _Dataset:
    """A named dataset: candidate files (relative to a data root), each with its loader."""

    description: str
    candidates: tuple[tuple[str, Callable[[Path, str | None], Split]], ...]
    fetchable: bool = True

    def locate(self, roots: list[Path]) -> tuple[Path, Callable[[Path, str | None], Split]] | None:
        for root in roots:
            for rel, loader in self.candidates:
                if (root / rel).exists():
                    return root / rel, loader
        return None


_CSV_SPLIT = {"delimiter": ",", "header": True, "user_col": "user", "item_col": "item",
              "rating_col": "rating", "split_col": "split"}
_ML_LATEST = {"delimiter": ",", "header": True, "user_col": "userId", "item_col": "movieId",
              "rating_col": "rating", "timestamp_col": "timestamp"}


def _ml100k(path: Path, split: str | None) -> Split:
    return _load_ml100k_folder(path.parent, split)


def _benchmark(levels: tuple) -> Callable[[Path, str | None], Split]:
    def load(path: Path, split: str | None) -> Split:
        return _load_table(path, split, levels=levels, columns=_CSV_SPLIT)
    return load


def _ml_latest(path: Path, split: str | None) -> Split:
    return _load_table(path, split, levels=_HALF_STARS, columns=_ML_LATEST)


#: The named datasets: name -> description, candidate files and loaders.
DATASETS: dict[str, _Dataset] = {
    "ml-100k": _Dataset(
        "MovieLens 100K: 100,000 ratings 1-5, 943 users x 1,682 items; folds u1..u5, ua, ub",
        (("ml-100k/u.data", _ml100k),)),
    "ml-latest-small": _Dataset(
        "MovieLens latest-small: ~100,000 half-star ratings 0.5-5 with timestamps; "
        "seeded random 90/10 or temporal",
        (("ml-latest-small/ratings.csv", _ml_latest),)),
    "ml-1m": _Dataset(
        "MovieLens 1M: ~1,000,000 ratings 1-5, 6,040 users; the ml-1m-bpmf stand-in with its "
        "fixed 90/10 split, else a fetched ratings.dat with a seeded 90/10",
        (("ml-1m-bpmf/ratings.csv", _benchmark(_INT_STARS)),
         ("ml-1m/ratings.dat", _load_ml1m_dat))),
    "douban": _Dataset(
        "Douban 3000x3000 (Monti et al. 2017): 136,891 ratings 1-5, fixed 90/10 split",
        (("douban/ratings.csv", _benchmark(_INT_STARS)),), fetchable=False),
    "flixster": _Dataset(
        "Flixster 3000x3000 (Monti et al. 2017): 26,173 half-star ratings, fixed 90/10 split",
        (("flixster/ratings.csv", _benchmark(_HALF_STARS)),), fetchable=False),
}


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`, in the order of :data:`DATASETS`."""
    return list(DATASETS)


def locate_dataset(name: str, *, root: str | Path | None = None) -> Path | None:
    """The file of a named dataset under the data roots, or None when it is not there."""
    found = DATASETS[name].locate(_roots(root)) if name in DATASETS else None
    return None if found is None else found[0]


def _missing(name: str, roots: list[Path]) -> DataError:
    where = ", ".join(str(r) for r in roots)
    first = DATASETS[name].candidates[0][0].split("/")[0]
    if DATASETS[name].fetchable:
        how = (f"run `python -m conv4rec fetch {name}` or set CONV4REC_DATA to a folder "
               f"holding {first}/")
    else:
        how = (f"set CONV4REC_DATA to a folder holding {DATASETS[name].candidates[0][0]} "
               f"(`python -m conv4rec fetch {name}` says where it comes from)")
    return DataError(f"dataset {name!r} not found under {where}: {how}")


def load_dataset(name_or_path: str | Path, split: str | None = None, *,
                 root: str | Path | None = None) -> Split:
    """Load a named dataset, an ml-100k-style folder or a CSV/TSV file, as a train/test split.

    Parameters
    ----------
    name_or_path : str or Path
        One of :func:`list_datasets`, or a path: a folder holding ``u.data`` (ml-100k layout),
        ``ratings.csv`` or ``ratings.dat``; or a CSV/TSV file (columns found by header name,
        else user, item, rating[, timestamp or split] by position).
    split : str, optional
        ``u1``..``u5``, ``ua``, ``ub`` (ml-100k layout), ``fixed`` (a file's ``split``
        column), ``random`` / ``random-K`` (seeded per-interaction 90/10 with seed 0 / K),
        ``temporal`` (timestamps only). Default: the dataset's standard split (``u1``;
        ``fixed`` when the file has a split column; else ``random``).
    root : str or Path, optional
        Folder to look in for a named dataset instead of ``$CONV4REC_DATA`` and the cache.

    Returns
    -------
    Split
        ``train`` and ``test`` share the id maps and the levels of the whole dataset.

    Raises
    ------
    DataError
        An unknown name (listing the known ones), an unknown split (listing the valid ones),
        missing data (saying how to fetch it), or any bad input in the files.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in DATASETS:
        roots = _roots(root)
        found = DATASETS[text].locate(roots)
        if found is None:
            raise _missing(text, roots)
        path, loader = found
        return loader(path, split)
    path = Path(text).expanduser()
    if path.exists():
        return _load_path(path, split)
    if isinstance(name_or_path, Path) or os.sep in text or "/" in text or path.suffix:
        raise DataError(f"{text}: no such file or folder")
    raise DataError(f"unknown dataset {text!r}: known datasets are {', '.join(DATASETS)}; "
                    f"or pass a path to a CSV/TSV file or an ml-100k-style folder")
