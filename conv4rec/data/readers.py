"""Readers: (user, item, rating[, timestamp]) arrays and text tables into :class:`Interactions`.

Every reader ends in :func:`from_arrays`, which owns the validation (one-line
:class:`~conv4rec.data.interactions.DataError` messages naming the file, line and value) and the
index maps (sorted unique raw ids; numeric ids sort numerically).

Parsing is vectorised: a table is split into fields with one ``str.split`` over the whole
text, field counts per line come from byte positions (``numpy.searchsorted``), and columns are
converted with ``ndarray.astype``. Python-level work per row happens only on error paths (to
locate the offending line) and for files with quoted fields (``csv`` module).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conv4rec.data.interactions import DataError, Interactions

__all__ = ["DUPLICATE_POLICIES", "from_arrays", "read_table"]

#: What to do with repeated (user, item) pairs.
DUPLICATE_POLICIES = ("error", "keep-last", "keep-first")

_SNIFF_ORDER = ("\t", "::", ",", ";", "|")  # tried in this order; else runs of whitespace
_WHITESPACE = "whitespace"
_SEP = "\x1f"  # ASCII unit separator: multi-character/whitespace delimiters are mapped to it
_LEVEL_RTOL = 1e-9  # a rating matches a declared level up to float round-off


# --------------------------------------------------------------------------- locations
class _Where:
    """Turns a row position into ``"<file>, line N"`` (or ``row N`` when lines are unknown).

    Several tables (e.g. ``u1.base`` + ``u1.test``) can be concatenated: ``offsets[t]`` is the
    first row of table ``t``.
    """

    def __init__(self, sources: Sequence[str], lines: Sequence[np.ndarray | None],
                 offsets: Sequence[int]) -> None:
        self.sources, self.lines, self.offsets = list(sources), list(lines), np.asarray(offsets)

    @classmethod
    def single(cls, source: str, lines: np.ndarray | None = None) -> _Where:
        return cls([source], [lines], [0])

    def _resolve(self, k: int) -> tuple[int, str]:
        t = int(np.searchsorted(self.offsets, k, side="right")) - 1
        lines = self.lines[t]
        r = k - int(self.offsets[t])
        return t, (f"line {int(lines[r])}" if lines is not None else f"row {r}")

    def __call__(self, k: int) -> str:
        t, loc = self._resolve(int(k))
        return f"{self.sources[t]}, {loc}"

    def short(self, k: int, relative_to: int) -> str:
        """Location of row ``k`` without the file name when it is in the same file as
        ``relative_to``."""
        t, loc = self._resolve(int(k))
        t0, _ = self._resolve(int(relative_to))
        return loc if t == t0 else f"{self.sources[t]}, {loc}"


def _show(value: object) -> str:
    """A value as it appears in an error message: the raw text for strings, else its repr."""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode(errors="replace")
    if isinstance(value, (str, np.str_)):
        return repr(str(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    return repr(value)


def _format_levels(levels: np.ndarray) -> str:
    shown = [f"{v:g}" for v in levels]
    if len(shown) > 12:
        return f"[{', '.join(shown[:3])}, ..., {shown[-1]}] ({len(shown)} levels)"
    return f"[{', '.join(shown)}]"


# --------------------------------------------------------------------------- conversions
def _is_text(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "OUS"


def _first_bad(arr: np.ndarray, convert: Callable[[object], object]) -> int:
    """Position of the first element ``convert`` rejects (error path only)."""
    for k, value in enumerate(arr.tolist()):
        try:
            convert(value)
        except (TypeError, ValueError, OverflowError):
            return k
    return -1


def _to_float(raw: np.ndarray, what: str, where: _Where) -> np.ndarray:
    """Float64 values of ``raw``; DataError at the first value that is not a number."""
    if raw.dtype.kind == "S":
        raw = raw.astype(str)
    try:
        values = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        k = _first_bad(raw, float)
        raise DataError(f"{where(k)}: {what} {_show(raw[k])} is not a number") from None
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        problem = "is NaN" if np.isnan(values[k]) else "is not finite"
        raise DataError(f"{where(k)}: {what} {_show(raw[k])} {problem}")
    return values


def _to_int(raw: np.ndarray, what: str, where: _Where) -> np.ndarray:
    """Int64 values of ``raw`` (non-integral numbers are floored); DataError if not numeric."""
    if raw.dtype.kind in "iub":
        return raw.astype(np.int64)
    if _is_text(raw):
        try:
            return raw.astype(np.int64)
        except (TypeError, ValueError, OverflowError):
            pass
    return np.floor(_to_float(raw, what, where)).astype(np.int64)


def _index_ids(raw: np.ndarray, what: str, where: _Where) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique raw ids and the index of each element in them.

    Ids that all parse as integers (then as floats) are stored and sorted as numbers;
    any other ids are strings sorted lexicographically.
    """
    if raw.dtype.kind == "S":
        raw = raw.astype(str)
    if _is_text(raw):
        empty = raw == ""
        if np.any(empty):
            k = int(np.flatnonzero(empty)[0])
            raise DataError(f"{where(k)}: empty {what} id")
        ids = None
        for dtype in (np.int64, np.float64):
            try:
                ids = raw.astype(dtype)
            except (TypeError, ValueError, OverflowError):
                continue
            if dtype is np.int64 or np.all(np.isfinite(ids)):
                break
            ids = None
        if ids is None:
            ids = raw.astype(str)
    elif raw.dtype.kind == "f":
        bad = ~np.isfinite(raw)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where(k)}: {what} id {_show(raw[k])} is not a valid id")
        ids = raw.astype(np.int64) if np.all(raw == np.round(raw)) else raw
    elif raw.dtype.kind in "iub":
        ids = raw.astype(np.int64)
    else:
        raise DataError(f"{where(0)}: {what} ids of dtype {raw.dtype} are not supported")
    unique, index = np.unique(ids, return_inverse=True)
    return unique, index.reshape(-1)


def _match_levels(rating: np.ndarray, levels: np.ndarray, raw: np.ndarray,
                  where: _Where) -> np.ndarray:
    """Index of each rating in the declared ``levels``; DataError for a rating off the scale."""
    right = np.clip(np.searchsorted(levels, rating), 0, len(levels) - 1)
    left = np.clip(right - 1, 0, len(levels) - 1)
    nearest = np.where(np.abs(levels[left] - rating) <= np.abs(levels[right] - rating), left, right)
    tol = _LEVEL_RTOL * np.maximum(1.0, np.abs(rating))
    off = np.abs(levels[nearest] - rating) > tol
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise DataError(f"{where(k)}: rating {_show(raw[k])} is not on the scale "
                        f"{_format_levels(levels)}")
    return nearest


def _declared_levels(levels: Sequence[float] | np.ndarray, source: str) -> np.ndarray:
    lv = np.asarray(levels, dtype=np.float64).reshape(-1)
    if lv.size == 0 or not np.all(np.isfinite(lv)):
        raise DataError(f"{source}: levels must be a non-empty list of finite numbers, "
                        f"got {lv.tolist()}")
    lv = np.sort(lv)
    if np.any(np.diff(lv) <= 0):
        raise DataError(f"{source}: levels must be distinct, got {lv.tolist()}")
    return lv


def _build(user_raw: object, item_raw: object, rating: object | None, timestamp: object | None,
           *, levels: Sequence[float] | np.ndarray | None, source: str, duplicates: str,
           where: _Where) -> tuple[Interactions, np.ndarray]:
    """The validated :class:`Interactions` and the input positions of its rows."""
    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates={duplicates!r}: expected one of {DUPLICATE_POLICIES}")
    users, items = np.asarray(user_raw).reshape(-1), np.asarray(item_raw).reshape(-1)
    n = len(users)
    ratings_raw = np.ones(n) if rating is None else np.asarray(rating).reshape(-1)
    ts_raw = None if timestamp is None else np.asarray(timestamp).reshape(-1)
    lengths = {"user": n, "item": len(items), "rating": len(ratings_raw)}
    if ts_raw is not None:
        lengths["timestamp"] = len(ts_raw)
    if len(set(lengths.values())) != 1:
        raise DataError(f"{source}: columns differ in length "
                        f"({', '.join(f'{k}={v}' for k, v in lengths.items())})")
    if n == 0:
        raise DataError(f"{source}: no interactions (empty data)")

    rating_values = _to_float(ratings_raw, "rating", where)
    if levels is not None:
        lv = _declared_levels(levels, source)
        level = _match_levels(rating_values, lv, ratings_raw, where)
    else:
        lv, level = np.unique(rating_values, return_inverse=True)
    user_ids, user = _index_ids(users, "user", where)
    item_ids, item = _index_ids(items, "item", where)
    ts = None if ts_raw is None else _to_int(ts_raw, "timestamp", where)

    keep = np.arange(n)
    key = user * np.int64(len(item_ids)) + item
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    same = sorted_key[1:] == sorted_key[:-1]
    if same.any():
        if duplicates == "error":
            k = int(order[1:][same].min())  # the earliest line that repeats a pair
            first = int(np.flatnonzero(key == key[k])[0])
            raise DataError(
                f"{where(k)}: duplicate (user, item) pair ({_show(users[k])}, "
                f"{_show(items[k])}), first seen at {where.short(first, k)} "
                f"(pass duplicates='keep-last' to keep the last rating)")
        if duplicates == "keep-last":
            keep = np.sort(order[np.append(~same, True)])
        else:
            keep = np.sort(order[np.insert(~same, 0, True)])

    data = Interactions(user=user[keep], item=item[keep], level=level[keep], levels=lv,
                        user_ids=user_ids, item_ids=item_ids,
                        timestamp=None if ts is None else ts[keep], source=source)
    return data, keep


def from_arrays(user_raw: Sequence | np.ndarray, item_raw: Sequence | np.ndarray,
                rating: Sequence | np.ndarray | None,
                timestamp: Sequence | np.ndarray | None = None,
                *, levels: Sequence[float] | np.ndarray | None = None, source: str = "<memory>",
                duplicates: str = "error",
                line_numbers: Sequence[int] | np.ndarray | None = None) -> Interactions:
    """Build :class:`Interactions` from raw columns, validating every value.

    Parameters
    ----------
    user_raw, item_raw : array_like, shape (n,)
        Raw user and item ids (numbers or strings). The index maps are the sorted unique ids;
        ids that all parse as numbers are stored and sorted as numbers.
    rating : array_like of float or str, shape (n,), or None
        Rating values. ``None`` gives implicit data: one level, 1.0.
    timestamp : array_like of int, shape (n,), optional
        Unix seconds (or any integer clock); kept for temporal splits.
    levels : sequence of float, optional
        The declared rating scale. Default: the sorted distinct ratings. When given, a rating
        off the scale is an error.
    source : str
        The file or name used in error messages and stored on the result.
    duplicates : {"error", "keep-last", "keep-first"}
        Policy for repeated (user, item) pairs.
    line_numbers : array_like of int, shape (n,), optional
        1-based line of each row in ``source``, so errors can name it; else ``row k``.

    Returns
    -------
    Interactions
        Rows in input order (minus dropped duplicates).

    Raises
    ------
    DataError
        One line naming the source, line and value: a rating that is NaN, infinite, not a
        number or off the declared scale; a duplicate pair; an empty id; empty data.
    """
    lines = None if line_numbers is None else np.asarray(line_numbers, dtype=np.int64)
    data, _ = _build(user_raw, item_raw, rating, timestamp, levels=levels, source=source,
                     duplicates=duplicates, where=_Where.single(source, lines))
    return data


# --------------------------------------------------------------------------- text tables
@dataclass(frozen=True)
class _Table:
    """A text table split into fields: ``fields[r, c]`` is the text of data row ``r``."""

    source: str
    fields: np.ndarray  # object, shape (n_rows, n_cols)
    lines: np.ndarray  # int64, shape (n_rows,), 1-based
    header: list[str] | None


def _read_text(path: Path, limit: int = -1) -> str:
    """The file's text (UTF-8, else latin-1) with ``\n`` line ends; ``limit`` bytes at most."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a CSV/TSV file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if 0 < limit <= len(raw) and exc.start >= len(raw) - 3:  # a character cut by `limit`
            text = raw[:exc.start].decode("utf-8-sig")
        else:  # MovieLens metadata files are latin-1
            text = raw.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _sniff(text: str) -> str:
    """The first of tab, ``::``, comma, semicolon, ``|`` found on most of the first 20
    non-blank lines; else ``"whitespace"``."""
    head = text[:65536].split("\n")
    if len(text) > 65536 and len(head) > 1:
        head = head[:-1]  # the last line of the sample may be cut
    sample = [ln for ln in head if ln.strip()][:20]
    for delim in _SNIFF_ORDER:  # present on most lines (tolerates a truncated or quoted line)
        if 2 * sum(delim in ln for ln in sample) > len(sample):
            return delim
    return _WHITESPACE


def _normalise(text: str, delimiter: str, source: str) -> tuple[str, str]:
    """Text with fields separated by one character, no padding spaces; and that character."""
    if delimiter in (_WHITESPACE, " "):
        text = re.sub(r"[ \t]+", _SEP, text)
        if text.startswith(_SEP) or f"\n{_SEP}" in text:
            text = re.sub(rf"^{_SEP}", "", text, flags=re.MULTILINE)
        if text.endswith(_SEP) or f"{_SEP}\n" in text:
            text = re.sub(rf"{_SEP}$", "", text, flags=re.MULTILINE)
        return text, _SEP
    if not delimiter or "\n" in delimiter or '"' in delimiter:
        raise ValueError(f"delimiter={delimiter!r} is not usable")
    sep = delimiter
    if len(delimiter) > 1:
        if _SEP in text:
            raise DataError(f"{source}: contains the control character \\x1f; "
                            f"cannot split on {delimiter!r}")
        text, sep = text.replace(delimiter, _SEP), _SEP
    if '"' in text:  # quoted fields: spaces are stripped per field by _split_fields
        return text, sep
    if sep != " " and (f" {sep}" in text or f"{sep} " in text):
        text = re.sub(rf" *{re.escape(sep)} *", sep.replace("\\", "\\\\"), text)
    if text.startswith(" ") or "\n " in text:
        text = re.sub(r"^ +", "", text, flags=re.MULTILINE)
    if text.endswith(" ") or " \n" in text:
        text = re.sub(r" +$", "", text, flags=re.MULTILINE)
    return text, sep


def _split_fields(text: str, sep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All fields (object array), the number of fields of each line, and blank-line flags.

    ``tokens`` holds ``n_fields[j]`` consecutive entries for line ``j`` (a blank line has one
    empty field, or none when the csv module splits it).
    """
    if '"' in text:  # quoted fields: let the csv module handle quoting (rare for rating files)
        rows = list(csv.reader(text.split("\n"), delimiter=sep, skipinitialspace=True))
        n_fields = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        blank = n_fields == 0
        tokens = np.array([t.strip() for t in itertools.chain.from_iterable(rows)],
                          dtype=object)
        return tokens, n_fields, blank
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    ends = np.append(newlines, b.size)
    starts = np.concatenate(([0], newlines + 1))
    seps = np.flatnonzero(b == ord(sep))
    n_fields = np.diff(np.searchsorted(seps, ends), prepend=0) + 1
    blank = ends == starts
    tokens = np.array(text.replace("\n", sep).split(sep), dtype=object)
    return tokens, n_fields, blank


def _line_text(text: str, line: int, sep: str, delimiter: str) -> str:
    shown = text.split("\n", line)[line - 1] if line > 0 else ""
    shown = shown.replace(_SEP, "\t" if delimiter == _WHITESPACE else delimiter)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _tokenize(path: Path, delimiter: str | None, header: bool | str,
              wants_names: bool) -> _Table:
    source = str(path)
    text = _read_text(path)
    if not text.strip():
        raise DataError(f"{source}: empty file (no data rows)")
    delim = _sniff(text) if delimiter is None else delimiter
    norm, sep = _normalise(text, delim, source)
    tokens, n_fields, blank = _split_fields(norm, sep)
    data_lines = np.flatnonzero(~blank)
    counts = n_fields[data_lines]
    expected = int(np.bincount(counts).argmax())
    bad = data_lines[counts != expected]
    if bad.size:
        k = int(bad[0])
        raise DataError(f"{source}, line {k + 1}: expected {expected} fields, got {n_fields[k]} "
                        f"(truncated or malformed line): {_line_text(norm, k + 1, sep, delim)!r}")
    keep = ~blank[np.repeat(np.arange(len(n_fields)), n_fields)]
    fields = tokens[keep].reshape(-1, expected)
    lines = data_lines + 1

    if header == "infer":
        has_header = wants_names or _looks_like_header(fields)
    elif isinstance(header, bool):
        has_header = header
    else:
        raise ValueError(f"header={header!r}: expected True, False or 'infer'")
    if wants_names and not has_header:
        raise DataError(f"{source}: columns are given by name but the file has no header line")
    names = None
    if has_header:
        names = [str(f) for f in fields[0]]
        fields, lines = fields[1:], lines[1:]
    if len(fields) == 0:
        raise DataError(f"{source}: no data rows (empty file)")
    return _Table(source=source, fields=fields, lines=lines, header=names)


def _peek(path: Path, n_lines: int = 3) -> tuple[str, list[list[str]]]:
    """The sniffed delimiter and the fields of the first ``n_lines`` non-blank lines."""
    head = _read_text(path, 65536)
    if not head.strip():
        raise DataError(f"{path}: empty file (no data rows)")
    delim = _sniff(head)
    lines = [ln for ln in head.split("\n")[:-1 if len(head) == 65536 else None] if ln.strip()]
    norm, sep = _normalise("\n".join(lines[:n_lines]), delim, str(path))
    rows = list(csv.reader(norm.split("\n"), delimiter=sep))
    return delim, rows


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _looks_like_header(fields: np.ndarray | list[list[str]]) -> bool:
    """A first line is a header when none of its fields is a number but the next line has one."""
    first = [_is_number(f) for f in fields[0]]
    if any(first):
        return False
    return len(fields) == 1 or any(_is_number(f) for f in fields[1])


def _column(table: _Table, spec: int | str, role: str) -> int:
    n_cols = table.fields.shape[1]
    if isinstance(spec, str):
        assert table.header is not None
        if spec in table.header:
            return table.header.index(spec)
        lowered = [h.lower() for h in table.header]
        if spec.lower() in lowered:
            return lowered.index(spec.lower())
        raise DataError(f"{table.source}: no column named {spec!r} for the {role} "
                        f"(columns: {', '.join(table.header)})")
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if 0 <= spec < n_cols:
            return int(spec)
        extra = " (pass rating_col=None for implicit data)" if role == "rating" else ""
        raise DataError(f"{table.source}: column {spec} does not exist for the {role} "
                        f"(the file has {n_cols} columns){extra}")
    raise TypeError(f"{role}_col={spec!r}: expected a 0-based position or a column name")


@dataclass(frozen=True)
class _RawColumns:
    """The raw text columns of one file, before validation."""

    source: str
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray | None
    timestamp: np.ndarray | None
    split: np.ndarray | None
    lines: np.ndarray


def _read_columns(path: str | Path, *, delimiter: str | None = None, header: bool | str = "infer",
                  user_col: int | str = 0, item_col: int | str = 1,
                  rating_col: int | str | None = 2, timestamp_col: int | str | None = None,
                  split_col: int | str | None = None) -> _RawColumns:
    specs = {"user": user_col, "item": item_col, "rating": rating_col,
             "timestamp": timestamp_col, "split": split_col}
    wants_names = any(isinstance(s, str) for s in specs.values())
    table = _tokenize(Path(path), delimiter, header, wants_names)
    cols = {role: None if spec is None else table.fields[:, _column(table, spec, role)]
            for role, spec in specs.items()}
    return _RawColumns(source=table.source, lines=table.lines, **cols)


def _build_from_columns(parts: Sequence[_RawColumns], *, levels: Sequence[float] | None,
                        duplicates: str, source: str | None = None,
                        ) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """Interactions of one or more files read alike; also each row's file and input position."""
    def cat(role: str) -> np.ndarray | None:
        arrays = [getattr(p, role) for p in parts]
        if any(a is None for a in arrays):
            return None
        return np.concatenate(arrays)

    sizes = [len(p.lines) for p in parts]
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    where = _Where([p.source for p in parts], [p.lines for p in parts], offsets)
    name = source if source is not None else "+".join(p.source for p in parts)
    data, keep = _build(cat("user"), cat("item"), cat("rating"), cat("timestamp"), levels=levels,
                        source=name, duplicates=duplicates, where=where)
    part = np.repeat(np.arange(len(parts)), sizes)[keep]
    return data, part, keep


def read_table(path: str | Path, *, delimiter: str | None = None, header: bool | str = "infer",
               user_col: int | str = 0, item_col: int | str = 1,
               rating_col: int | str | None = 2, timestamp_col: int | str | None = None,
               split_col: int | str | None = None, levels: Sequence[float] | None = None,
               duplicates: str = "error") -> tuple[Interactions, np.ndarray | None]:
    """Read a CSV/TSV of (user, item, rating[, timestamp][, split]) rows.

    Parameters
    ----------
    path : str or Path
        The text file.
    delimiter : str, optional
        Field separator, any string (``","``, ``"\\t"``, ``"::"``); ``"whitespace"`` splits on
        runs of spaces and tabs. Default: sniffed from the first lines (tab, ``::``, comma,
        semicolon, ``|``, else whitespace).
    header : bool or "infer"
        Whether the first non-blank line names the columns. ``"infer"``: yes when columns are
        given by name, or when no field of the first line is a number but the next line has one.
    user_col, item_col, rating_col, timestamp_col, split_col : int or str
        0-based position or header name (case-insensitive fallback) of each column.
        ``rating_col=None`` reads implicit data (one level, 1.0).
    levels : sequence of float, optional
        The declared rating scale; a rating off it is an error. Default: the distinct ratings.
    duplicates : {"error", "keep-last", "keep-first"}
        Policy for repeated (user, item) pairs.

    Returns
    -------
    data : Interactions
        ``source`` is the file path.
    split_labels : ndarray of str, shape (data.n_observed,), or None
        The ``split_col`` value of each row of ``data`` (None without ``split_col``).

    Raises
    ------
    DataError
        One line naming the file (and line and value where there is one): missing file,
        empty file, a line with the wrong number of fields, a bad rating, id or timestamp,
        duplicates, unknown column.
    """
    cols = _read_columns(path, delimiter=delimiter, header=header, user_col=user_col,
                         item_col=item_col, rating_col=rating_col, timestamp_col=timestamp_col,
                         split_col=split_col)
    data, _, keep = _build_from_columns([cols], levels=levels, duplicates=duplicates,
                                        source=cols.source)
    labels = None if cols.split is None else cols.split[keep].astype(str)
    return data, labels
