"""Files a run reads and writes: only regular input files under a size limit, and output
folders checked before any work, staged in a hidden sibling and moved into place whole."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

from spattenc.ir.errors import InputError, SpecError

#: Largest spec or input file read (bytes) unless SPATTENC_MAX_FILE_SIZE says otherwise.
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024
MAX_FILE_SIZE_ENV = "SPATTENC_MAX_FILE_SIZE"
#: Test hook: when set, writers stop at the named point (compile, out) before moving
#: their output into place and wait for a signal, so a test can interrupt them there.
PAUSE_ENV = "SPATTENC_TEST_PAUSE"


def max_file_size() -> int:
    """The input size limit in bytes: $SPATTENC_MAX_FILE_SIZE (a size such as 512MiB) or 64 MiB."""
    text = os.environ.get(MAX_FILE_SIZE_ENV)
    if not text:
        return DEFAULT_MAX_FILE_SIZE
    try:
        return parse_size(text, minimum=1)
    except ValueError as e:
        raise SpecError(f"${MAX_FILE_SIZE_ENV}={text}: {e}") from None


def parse_size(text: str, minimum: int = 1 << 20) -> int:
    """A byte count: 2GiB, 512MiB, 1.5G, 800M, 100000 (plain bytes); finite, at least `minimum`."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtTpP]?)(i?[bB])?\s*", text)
    if not m:
        raise ValueError(f"expected a size such as 2GiB, 512MiB or 100000000, got {text!r}")
    mult = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}[m[2].lower()]
    value = float(m[1]) * mult
    if not value < 2**63:  # also catches inf (1e999)
        raise ValueError(f"size {text!r} is too large (at most 2**63 bytes)")
    if int(value) < minimum:
        raise ValueError(f"size {text!r} is too small (at least {human_size(minimum)})")
    return int(value)


def human_size(n: float) -> str:
    """A byte count for messages: 64 MiB, 1.5 GiB, 200 B."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def check_readable(path: str | os.PathLike, what: str) -> int:
    """Check that `path` is a regular file within the size limit before reading it (a device,
    FIFO or huge file would hang or exhaust memory); returns its size.  Raises InputError."""
    name = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(name, "", f"no such {what}") from None
    except OSError as e:
        raise InputError(name, "", f"cannot read the {what}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(name, "", f"is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(name, "", "is not a regular file (a device, FIFO or socket); only regular files are read")
    limit = max_file_size()
    if st.st_size > limit:
        raise InputError(name, "", f"{what} is {human_size(st.st_size)}, over the {human_size(limit)} limit "
                         f"(raise it with {MAX_FILE_SIZE_ENV}, e.g. {MAX_FILE_SIZE_ENV}=1GiB)")
    return st.st_size


def read_text(path: str | os.PathLike, what: str) -> str:
    """The UTF-8 text of a regular file under the size limit; problems raise InputError."""
    check_readable(path, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_file_size() + 1)  # the file may have grown since the check
    except OSError as e:
        raise InputError(str(path), "", f"cannot read the {what}: {e.strerror or e}") from None
    if len(data) > max_file_size():
        raise InputError(str(path), "", f"{what} is over the {human_size(max_file_size())} limit "
                         f"(raise it with {MAX_FILE_SIZE_ENV})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = utf8_position(data, e.start)
        err = InputError(str(path), f"line {line}", f"not UTF-8 text: byte 0x{data[e.start]:02x} at column {col} "
                         f"({e.reason})")
        err.line, err.col, err.text = line, col, data.decode("utf-8", "replace")
        raise err from None


def utf8_position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (1-based, in characters) of byte `offset` of not-quite-UTF-8 `data`."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


# ---------------------------------------------------------------- output folders


def check_out_dir(path: str | os.PathLike, option: str) -> None:
    """Refuse an output folder that cannot be one before any work: an existing file or
    device, a path under a file, a folder that cannot be written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        kind = "a file" if p.is_file() else "not a folder (a device or other special file)"
        raise SpecError(f"{option} {path}: exists and is {kind}; name a folder (it is created if missing)")
    first = p
    while not first.exists():
        if first.parent == first:
            break
        first = first.parent
    if first.exists() and not first.is_dir():
        raise SpecError(f"{option} {path}: {first} is a file, so no folder can be created under it")
    if first.exists() and not os.access(first, os.W_OK | os.X_OK):
        raise SpecError(f"{option} {path}: cannot write in {first} (permission denied)")


def pause_point(name: str) -> None:
    """Test hook: with $SPATTENC_TEST_PAUSE equal to `name`, say so on stderr and wait for a
    signal (the test interrupts the command here, with its output staged but not moved)."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    print(f"paused at {name}", file=sys.stderr, flush=True)
    while True:
        signal.pause()


@contextlib.contextmanager
def staged_dir(dest: str | os.PathLike, option: str):
    """Yield a hidden staging folder beside `dest`; on success move everything in it into
    `dest` (created if missing), on any error or interrupt remove it, and any parent
    folders it created, so `dest` never holds a partial result."""
    check_out_dir(dest, option)
    dest = Path(dest)
    created = missing_parents(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name or 'out'}.", suffix=".tmp", dir=dest.parent))
    except OSError as e:
        remove_dirs(created)
        raise SpecError(f"{option} {dest}: cannot create the folder: {e.strerror or e}") from None
    try:
        yield stage
        pause_point("out")
        _move_into(stage, dest, option)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        remove_dirs(created)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def missing_parents(dest: Path) -> list[Path]:
    """The parent folders of `dest` that do not exist yet, innermost first."""
    out = []
    p = dest.parent
    while not p.exists() and p.parent != p:
        out.append(p)
        p = p.parent
    return out


def remove_dirs(folders: list[Path]) -> None:
    """Remove the empty folders a failed write created (innermost first)."""
    for p in folders:
        with contextlib.suppress(OSError):
            p.rmdir()


def _move_into(stage: Path, dest: Path, option: str) -> None:
    """Move the staged files into `dest`: one rename when it is new, else file by file."""
    try:
        if not dest.exists():
            os.rename(stage, dest)
            stage.mkdir()  # the caller's cleanup removes this empty placeholder
            return
        for src in sorted(stage.rglob("*")):
            target = dest / src.relative_to(stage)
            if src.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(src, target)
    except OSError as e:
        raise SpecError(f"{option} {dest}: cannot write: {e.strerror or e}") from None
