"""Download the MovieLens archives from GroupLens into the cache folder (SPEC §1).

MovieLens may not be redistributed, so the project never ships it: :func:`fetch` downloads the
publisher's zip, checks it, and unpacks it into ``$CONV4REC_CACHE`` (default
``~/.cache/conv4rec``), where :func:`conv4rec.data.load_dataset` finds it.

Checksums (why these and not others):

- ``ml-100k.zip`` and ``ml-1m.zip``: GroupLens publishes only MD5 sums next to the archives
  (``ml-100k.zip.md5`` = ``0e33842e24a9c977be4e0107933c0723``, ``ml-1m.zip.md5`` =
  ``c4d9eecfca2ab87c1945afe126590906``, repeated in many loaders). The SHA-256 pinned below are
  those recorded by TensorFlow Datasets (``tensorflow_datasets/url_checksums/movielens.txt``:
  4,924,029 and 5,917,549 bytes); both MD5 and SHA-256 are checked.
- The extracted rating file is checked as well: ml-100k ``u.data`` against the SHA-256 verified
  in the project's shared copy (``shared/data/ml-100k/SHA256SUMS``); ml-1m ``ratings.dat``
  against the git blob id that five independent repositories record for it (no SHA-256 of the
  file is published; a git blob id is a SHA-1 of ``b"blob <size>\\0" + content``).
- ``ml-latest-small.zip`` is a development dataset that GroupLens regenerates (the 2016 edition
  in shared/ has 100,004 ratings; the 2018 edition served now has 100,836), so no checksum is
  pinned: pinning one would reject the real download the day it changes. Its SHA-256 is
  recorded in ``.conv4rec-fetch.json`` beside the data and compared with the editions known
  here, for information only.

Writes are atomic: the archive goes to a temporary file and is unpacked into a temporary
folder in the cache, then moved into place with :func:`os.replace`; anything that fails a check
is deleted. Only ``urllib``, ``zipfile`` and ``hashlib`` are used (plus ``tqdm`` for the bar).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from conv4rec.data.interactions import DataError
from conv4rec.data.registry import cache_dir as default_cache_dir
from conv4rec.data.registry import locate_dataset

__all__ = ["DOWNLOADS", "FetchError", "fetch"]

logger = logging.getLogger(__name__)

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
_CHUNK = 1 << 16
_TIMEOUT_S = 60.0


class FetchError(DataError):
    """A download failed: offline, HTTP error, bad archive or checksum mismatch."""


@dataclass(frozen=True)
class _Download:
    """One publisher archive and what is known about its content."""

    archive: str  # file name under the base URL
    folder: str  # the top-level folder inside the zip, also the folder under the cache
    rating_file: str  # the ratings inside ``folder``
    archive_sha256: str | None = None
    archive_md5: str | None = None
    file_sha256: str | None = None
    file_git_blob: str | None = None


#: What :func:`fetch` can download, with the checksums it enforces.
DOWNLOADS: dict[str, _Download] = {
    "ml-100k": _Download(
        archive="ml-100k.zip", folder="ml-100k", rating_file="u.data",
        archive_sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        archive_md5="0e33842e24a9c977be4e0107933c0723",
        file_sha256="06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"),
    "ml-1m": _Download(
        archive="ml-1m.zip", folder="ml-1m", rating_file="ratings.dat",
        archive_sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        archive_md5="c4d9eecfca2ab87c1945afe126590906",
        file_git_blob="77a7c4b150f588c23bb9e1f068aa996c0b413695"),
    "ml-latest-small": _Download(
        archive="ml-latest-small.zip", folder="ml-latest-small", rating_file="ratings.csv"),
}

#: Editions of the unpinned ml-latest-small archive seen so far (SHA-256 -> description).
KNOWN_EDITIONS = {
    "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436":
        "ml-latest-small 2018-09 edition (100,836 ratings, 610 users; TFDS checksum)",
}

#: Datasets without a publisher download: where they come from.
NO_DOWNLOAD = {
    "douban": "the Douban 3000x3000 benchmark of Monti et al. 2017 "
              "(github.com/fmonti/mgcnn Data/douban/training_test_dataset.mat, "
              "also riannevdberg/gc-mc gcmc/data/douban/)",
    "flixster": "the Flixster 3000x3000 benchmark of Monti et al. 2017 "
                "(github.com/fmonti/mgcnn Data/flixster/training_test_dataset_10_NNs.mat, "
                "also riannevdberg/gc-mc gcmc/data/flixster/)",
}


def _git_blob_sha1(path: Path) -> str:
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_file(spec: _Download, folder: Path) -> str | None:
    """Why the unpacked rating file fails its checks, or None when it passes."""
    path = folder / spec.rating_file
    if not path.is_file():
        return f"{spec.folder}/{spec.rating_file} is missing"
    if spec.file_sha256 and (got := _sha256(path)) != spec.file_sha256:
        return (f"SHA-256 mismatch for {spec.folder}/{spec.rating_file} "
                f"(expected {spec.file_sha256}, got {got})")
    if spec.file_git_blob and (got := _git_blob_sha1(path)) != spec.file_git_blob:
        return (f"git blob id mismatch for {spec.folder}/{spec.rating_file} "
                f"(expected {spec.file_git_blob}, got {got})")
    return None


def _download(url: str, dest: Path, progress: bool) -> tuple[str, str]:
    """Stream ``url`` into ``dest``; return its SHA-256 and MD5."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    request = urllib.request.Request(url, headers={"User-Agent": "conv4rec-fetch"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as resp, open(dest, "wb") as out:
            total = resp.headers.get("Content-Length")
            show = progress and sys.stderr.isatty()
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                      desc=url.rsplit("/", 1)[-1], disable=not show, leave=False) as bar:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    sha.update(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
            if total and out.tell() != int(total):
                raise FetchError(f"cannot download {url}: got {out.tell()} of {total} bytes "
                                 f"(connection dropped); run the fetch again")
    except urllib.error.HTTPError as exc:
        raise FetchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
            ConnectionError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(f"cannot download {url}: {reason} (offline?); download it by hand "
                         f"and unzip it into {dest.parent}, or set CONV4REC_DATA to a folder "
                         f"holding the unzipped data") from None
    return sha.hexdigest(), md5.hexdigest()


def _safe_extract(archive: Path, into: Path, url: str) -> None:
    """Unzip, refusing members that would land outside ``into`` (absolute or ``..`` paths)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member.replace("\\", "/")).parts
                if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise FetchError(f"{url}: unsafe path {member!r} in the archive; not unpacked")
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{url}: not a valid zip archive ({exc})") from None


def fetch(name: str, *, cache_dir: str | Path | None = None, base_url: str | None = None,
          progress: bool = True) -> Path:
    """Download a MovieLens dataset from GroupLens into the cache folder, checked.

    Parameters
    ----------
    name : {"ml-100k", "ml-latest-small", "ml-1m"}
        Also ``"douban"`` / ``"flixster"``, which have no publisher download: their local
        folder is returned when a data root holds it, else the error says where they come from.
    cache_dir : str or Path, optional
        Default ``$CONV4REC_CACHE`` or ``~/.cache/conv4rec``.
    base_url : str, optional
        A mirror serving the same archives (default the GroupLens URL). The checksums apply.
    progress : bool
        Show a progress bar (only when stderr is a terminal).

    Returns
    -------
    Path
        The unpacked folder, e.g. ``<cache>/ml-100k``. Nothing is downloaded when it is already
        there and passes its checks.

    Raises
    ------
    FetchError
        One line: offline or HTTP error, not a zip, or a checksum mismatch (the download is
        deleted); a dataset without a publisher download that is not available locally.
    """
    if name in NO_DOWNLOAD:
        local = locate_dataset(name) or (
            locate_dataset(name, root=cache_dir) if cache_dir is not None else None)
        if local is not None:
            return local.parent
        raise FetchError(f"{name} has no publisher download: it is {NO_DOWNLOAD[name]}; write "
                         f"it as {name}/ratings.csv (user,item,rating,split) under a folder and "
                         f"set CONV4REC_DATA to that folder")
    if name not in DOWNLOADS:
        raise FetchError(f"unknown dataset {name!r}: fetch knows "
                         f"{', '.join(list(DOWNLOADS) + list(NO_DOWNLOAD))}")
    spec = DOWNLOADS[name]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    dest = cache / spec.folder
    if (dest / spec.rating_file).is_file():
        problem = _check_file(spec, dest)
        if problem is None:
            logger.info("%s is already in %s", name, dest)
            return dest
        logger.warning("%s in %s fails its check (%s); downloading it again", name, dest, problem)

    url = (base_url or GROUPLENS_URL).rstrip("/") + "/" + spec.archive
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"{cache}: cannot create the cache folder ({exc.strerror or exc})") \
            from None
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{spec.archive}.", suffix=".part")
    os.close(fd)
    tmp_archive = Path(tmp_name)
    tmp_dir = Path(tempfile.mkdtemp(dir=cache, prefix=f".{spec.folder}."))
    try:
        logger.info("downloading %s", url)
        sha256, md5 = _download(url, tmp_archive, progress)
        for kind, expected, got in (("SHA-256", spec.archive_sha256, sha256),
                                    ("MD5", spec.archive_md5, md5)):
            if expected and got != expected:
                raise FetchError(f"{url}: {kind} mismatch for {spec.archive} (expected "
                                 f"{expected}, got {got}); the download was deleted")
        _safe_extract(tmp_archive, tmp_dir, url)
        unpacked = tmp_dir / spec.folder
        problem = _check_file(spec, unpacked)
        if problem is not None:
            raise FetchError(f"{url}: {problem}; the download was deleted")
        edition = KNOWN_EDITIONS.get(sha256)
        if spec.archive_sha256 is None:
            if edition:
                logger.info("%s: %s", spec.archive, edition)
            else:
                logger.warning("%s: an edition not seen before (SHA-256 %s); recorded in "
                               "%s/.conv4rec-fetch.json", spec.archive, sha256, dest)
        (unpacked / ".conv4rec-fetch.json").write_text(json.dumps({
            "name": name, "url": url, "archive_sha256": sha256, "archive_md5": md5,
            "edition": edition, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=2) + "\n")
        if dest.exists():  # a stale or damaged copy
            shutil.rmtree(dest)
        os.replace(unpacked, dest)
    finally:
        tmp_archive.unlink(missing_ok=True)
        shutil.rmtree(tmp_dir, ignore_errors=True)
    logger.info("%s is in %s", name, dest)
    return dest
