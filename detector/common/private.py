"""Files and directories only their owner can read: the data directory (datasets, the SQLite
database with the password hashes, the cookie key) is 0700, the files in it that hold secrets
0600.  Paths owned by someone else (a mounted volume, a shared directory an admin set up) are
left as they are: changing them is that owner's call."""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing; make it 0700 if it is ours."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _restrict(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing (before anything writes secrets into
    it); make it 0600 if it exists and is ours."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _restrict(path, FILE_MODE)
    return path


def _restrict(path: Path, mode: int) -> None:
    st = path.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
        path.chmod(mode)
