"""Where attachment files are kept. Only ``consult.attachments`` talks to it.

Today there is one backend, a folder on the local disk (``UPLOAD_FOLDER``). Another one (an
object store, say) needs the same few methods: ``write``, ``read``, ``delete``, ``exists``,
``listing``, ``send`` and ``check``; the features never see a path.
"""

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Response, current_app, send_from_directory
from flask_babel import lazy_gettext as _l

OK, UNWRITABLE, FULL = "ok", "unwritable", "full"


class StorageError(OSError):
    """The files could not be kept: the storage is full or cannot be written to.

    ``full`` tells which, so the message to the user can say so."""

    def __init__(self, full: bool = False):
        super().__init__(errno.ENOSPC if full else errno.EACCES, FULL if full else UNWRITABLE)
        self.full = full

    @property
    def message(self):
        if self.full:
            return _l("The server has no room left for files just now.")
        return _l("The server cannot keep files just now.")


def _is_full(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EDQUOT)


class LocalStorage:
    """Files in one folder on this machine's disk, by the random names the service gives."""

    def __init__(self, folder: str, *, min_free_bytes: int = 0):
        self.folder = folder
        self.min_free_bytes = min_free_bytes

    def _path(self, name: str) -> str:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a stored name: {name!r}")
        return os.path.join(self.folder, name)

    def write(self, name: str, data: bytes) -> None:
        """Keep ``data`` under ``name`` (a new name: never overwrites). On any failure nothing
        is left behind and ``StorageError`` is raised."""
        path = self._path(name)
        try:
            os.makedirs(self.folder, exist_ok=True)
            fh = open(path, "xb")  # noqa: SIM115 - "x": a name clash fails, never overwrites
        except OSError as error:
            raise self._refused(name, error) from error
        try:
            with fh:
                fh.write(data)
        except OSError as error:  # e.g. the disk filled up half-way: keep no half file
            self.delete(name)
            raise self._refused(name, error) from error

    @staticmethod
    def _refused(name: str, error: OSError) -> "StorageError":
        current_app.logger.warning("attachments: cannot write %s: %s", name, error)
        return StorageError(full=_is_full(error))

    def read(self, name: str) -> bytes | None:
        """The stored bytes, or None when there is no such file."""
        try:
            with open(self._path(name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        try:
            os.remove(self._path(name))
        except FileNotFoundError:
            pass

    def exists(self, name: str) -> bool:
        return os.path.isfile(self._path(name))

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every stored name with the time it was last written (UTC)."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.is_file() and not entry.name.startswith("."):
                yield entry.name, datetime.fromtimestamp(entry.stat().st_mtime, UTC)

    def send(self, name: str, *, mimetype: str, as_attachment: bool, download_name: str):
        """A response with the stored file (conditional requests answered with 304)."""
        response: Response = send_from_directory(
            self.folder,
            name,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
        )
        return response

    def check(self) -> str:
        """``ok``, ``unwritable`` or ``full`` (less free space than ``min_free_bytes``)."""
        try:
            os.makedirs(self.folder, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".health-") as probe:
                probe.write(b"ok")
                probe.flush()
            free = shutil.disk_usage(self.folder).free
        except OSError as error:
            return FULL if _is_full(error) else UNWRITABLE
        return FULL if free < self.min_free_bytes else OK


def storage() -> LocalStorage:
    """The storage of the running app."""
    config = current_app.config
    return LocalStorage(
        config["UPLOAD_FOLDER"], min_free_bytes=int(config.get("UPLOAD_MIN_FREE_BYTES") or 0)
    )
