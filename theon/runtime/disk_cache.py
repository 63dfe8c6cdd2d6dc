"""A lock-free, self-checking, size-bounded blob store on disk for compiled artifacts.

Theano's compile cache waited on a global lock, read half-written entries (``EOFError``) when
many processes started at once, and grew without bound. This store has none of that:

* **No lock.** A writer writes a temporary file in the entry's directory and renames it over
  the entry with ``os.replace``, which is atomic on POSIX and Windows. Readers see the old
  entry, the new one, or none; many processes may put the same key at once and all succeed.
* **Self-checking entries.** Each file starts with a header (magic, format version, the kind
  and key it was written for, the payload length, a blake2b checksum). A truncated,
  bit-flipped, foreign or unknown entry is detected, counted, deleted, and read as a miss.
* **Bounded.** A hit refreshes the entry's mtime; when the store outgrows its bound, the least
  recently used entries are removed until it is back under 90% of it.
* **Never fatal.** An unwritable directory or a full disk makes ``put`` return False and warns
  once per process; the caller compiles as if there were no cache.

The store moves bytes only: it never pickles or evaluates anything it reads.

Layout: ``<root>/v1/<kind>/<key[:2]>/<key>``, temporary files ``.tmp-<key>-<pid>-<random>`` next
to their entry. Environment: ``THEON_CACHE=0`` disables the process-wide store,
``THEON_CACHE_DIR`` moves it, ``THEON_CACHE_MAX_BYTES`` bounds it (suffixes K, M, G, T accepted).
"""
import hashlib
import os
import pathlib
import re
import secrets
import stat
import struct
import sys
import threading
import time
import warnings

DEFAULT_MAX_BYTES = 1 << 30
FORMAT_VERSION = 1
MAGIC = b"THEONC\x00\x01"
# Without fsync a power cut may leave an empty or garbled entry; the checksum turns that into
# a miss. fsync tripled the cost of a 100 KB put on ext4 (0.2 ms -> 0.6 ms, more on network
# filesystems), so it is off.
FSYNC = False
PRUNE_FRACTION = 0.9
RESCAN_EVERY = 256          # puts between two scans of the real size of the store
# The store's size at its last scan, as decimal text, in the version root: a process's first
# write starts from it instead of listing the whole store (25 ms for 4700 entries, and
# growing with the store, on the first compile of every process).
USAGE_FILE = "usage"
STALE_TEMP_SECONDS = 600    # a temporary file this old belongs to a writer that died

# magic, format version, len(kind), len(key), payload length, blake2b-256 of everything else
_HEADER = struct.Struct("<8sHBBQ32s")
_DIGEST_SIZE = 32
_KIND_RE = re.compile(r"[a-z]{1,64}")
_KEY_RE = re.compile(r"[0-9a-f]{16,128}")
_TEMP_PREFIX = ".tmp-"
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_COUNTER_NAMES = ("hits", "misses", "writes", "corrupt", "write_errors", "evictions")
_DISABLED_VALUES = ("0", "false", "off", "no")

_warned_unwritable = False  # the unwritable-cache warning is given once per process
_stores = {}
_stores_lock = threading.Lock()


def default_cache_dir():
    """The directory of the process-wide cache.

    Returns
    -------
    pathlib.Path
        ``$THEON_CACHE_DIR`` if set; otherwise the platform's per-user cache directory:
        ``$XDG_CACHE_HOME/theon`` or ``~/.cache/theon`` on Linux and other Unixes,
        ``~/Library/Caches/theon`` on macOS, ``%LOCALAPPDATA%/theon/Cache`` on Windows.
    """
    explicit = os.environ.get("THEON_CACHE_DIR")
    if explicit:
        return pathlib.Path(explicit).expanduser()
    home = pathlib.Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "theon"
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = pathlib.Path(local) if local else home / "AppData" / "Local"
        return base / "theon" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says a relative path in XDG_CACHE_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return pathlib.Path(xdg) / "theon"
    return home / ".cache" / "theon"


def parse_size(text):
    """Parse a byte count such as ``"1048576"``, ``"500M"``, ``"2G"`` or ``"1.5GiB"``.

    Parameters
    ----------
    text : str or int
        A non-negative number with an optional binary suffix K, M, G or T (powers of 1024),
        optionally followed by ``B`` or ``iB``; case does not matter.

    Returns
    -------
    int
        The number of bytes.

    Raises
    ------
    ValueError
        If ``text`` is not such a size.

    Examples
    --------
    >>> parse_size("500M")
    524288000
    """
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"cache size: expected a non-negative byte count, got {text}")
        return text
    match = _SIZE_RE.fullmatch(str(text))
    if match is None:
        raise ValueError(f"cache size: expected a byte count such as 500M or 2G, got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _max_bytes_from_env():
    """The bound from ``$THEON_CACHE_MAX_BYTES``, or the default when it is unset or invalid."""
    text = os.environ.get("THEON_CACHE_MAX_BYTES")
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(text)
    except ValueError as error:
        warnings.warn(f"theon: ignoring THEON_CACHE_MAX_BYTES ({error}); "
                      f"using {DEFAULT_MAX_BYTES} bytes", stacklevel=3)
        return DEFAULT_MAX_BYTES


def _check_name(kind, key):
    """Raise ValueError unless ``kind`` and ``key`` are safe to use as path components."""
    if not isinstance(kind, str) or _KIND_RE.fullmatch(kind) is None:
        raise ValueError(f"disk cache: kind must match [a-z]{{1,64}}, got {kind!r}")
    if not isinstance(key, str) or _KEY_RE.fullmatch(key) is None:
        raise ValueError(f"disk cache: key must be 16 to 128 lowercase hex digits, got {key!r}")


def _checksum(prefix, names, payload):
    """blake2b-256 over the header fields, kind, key and payload."""
    digest = hashlib.blake2b(prefix, digest_size=_DIGEST_SIZE)
    digest.update(names)
    digest.update(payload)
    return digest.digest()


def encode_entry(kind, key, payload, version=FORMAT_VERSION):
    """The bytes of an entry file: header, kind, key, payload (``version`` is for tests)."""
    kind_b, key_b = kind.encode("ascii"), key.encode("ascii")
    names = kind_b + key_b
    fields = (MAGIC, version, len(kind_b), len(key_b), len(payload))
    prefix = _HEADER.pack(*fields, b"\0" * _DIGEST_SIZE)[:-_DIGEST_SIZE]
    header = _HEADER.pack(*fields, _checksum(prefix, names, payload))
    return b"".join((header, names, payload))


def decode_entry(kind, key, blob):
    """The payload of entry file contents ``blob`` written for (kind, key), or None if invalid."""
    if len(blob) < _HEADER.size:
        return None
    magic, version, kind_len, key_len, length, checksum = _HEADER.unpack_from(blob)
    if magic != MAGIC or version != FORMAT_VERSION:
        return None
    start = _HEADER.size + kind_len + key_len
    if len(blob) != start + length:
        return None
    names = blob[_HEADER.size:start]
    if names != (kind + key).encode("ascii") or kind_len != len(kind):
        return None
    payload = memoryview(blob)[start:]
    prefix = blob[:_HEADER.size - _DIGEST_SIZE]
    if _checksum(prefix, names, payload) != checksum:
        return None
    return bytes(payload)


def _makedirs(path):
    """Create ``path`` and missing parents with mode 0700; existing directories are left as is."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise


def _write_file(path, data):
    """Write ``data`` to the new file ``path`` (mode 0600), which must not exist."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if FSYNC:
            os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path):
    """Remove ``path``; True if this call removed it, False if it was gone or not removable."""
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def _total_bytes(entries):
    """The size of the entries of a scan, ``(mtime_ns, size, path, kind)`` tuples."""
    return sum(entry[1] for entry in entries)


class DiskCache:
    """A directory of checksummed blobs, addressed by a kind and a hex key.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Root directory; ``default_cache_dir()`` when omitted. Created (mode 0700) on the first
        put, not by the constructor.
    max_bytes : int, optional
        Bound on the total size of the entry files; ``$THEON_CACHE_MAX_BYTES`` or
        ``DEFAULT_MAX_BYTES`` when omitted. The store is pruned to 90% of it when a put may have
        crossed it.

    Attributes
    ----------
    counters : dict
        This object's hits, misses, writes, corrupt, write_errors and evictions.

    Examples
    --------
    >>> cache = DiskCache("/tmp/theon-doc-cache")
    >>> cache.put("kernel", "0123456789abcdef", b"object code")
    True
    >>> cache.get("kernel", "0123456789abcdef")
    b'object code'
    """

    def __init__(self, path=None, max_bytes=None):
        self.path = pathlib.Path(path).expanduser() if path is not None else default_cache_dir()
        self.max_bytes = parse_size(max_bytes) if max_bytes is not None else _max_bytes_from_env()
        self.counters = dict.fromkeys(_COUNTER_NAMES, 0)
        self._root = os.path.join(os.fspath(self.path), f"v{FORMAT_VERSION}")
        self._estimate = None      # bytes in the store as far as this process knows
        self._puts_since_scan = 0

    def __repr__(self):
        return f"DiskCache({os.fspath(self.path)!r}, max_bytes={self.max_bytes})"

    def _entry_path(self, kind, key):
        """The file of (kind, key); computed from the names alone, no directory is read."""
        return os.path.join(self._root, kind, key[:2], key)

    def get(self, kind, key):
        """The payload stored under (kind, key), or None.

        A damaged or foreign entry is counted in ``counters["corrupt"]``, deleted, and reported
        as a miss, so the caller rebuilds it and puts it again. Never raises on bad data or on
        an unreadable directory.

        Parameters
        ----------
        kind : str
            Category of the artifact, lowercase letters, e.g. ``"graph"`` or ``"kernel"``.
        key : str
            Hex digest of the artifact's inputs, 16 to 128 lowercase hex digits.

        Returns
        -------
        bytes or None

        Raises
        ------
        ValueError
            If ``kind`` or ``key`` is malformed.
        """
        _check_name(kind, key)
        path = self._entry_path(kind, key)
        try:
            with open(path, "rb") as file:
                blob = file.read()
        except OSError:
            self.counters["misses"] += 1
            return None
        payload = decode_entry(kind, key, blob)
        if payload is None:
            self.counters["corrupt"] += 1
            self.counters["misses"] += 1
            _unlink(path)
            return None
        self.counters["hits"] += 1
        try:
            os.utime(path)  # the mtime is the entry's last use for LRU eviction
        except OSError:
            pass
        return payload

    def put(self, kind, key, data):
        """Store ``data`` under (kind, key), replacing any entry there.

        Parameters
        ----------
        kind : str
            As in ``get``.
        key : str
            As in ``get``.
        data : bytes-like
            The payload.

        Returns
        -------
        bool
            True if the entry was written; False if the directory is not writable or the disk
            is full (counted in ``counters["write_errors"]``, warned about once per process).

        Raises
        ------
        ValueError
            If ``kind`` or ``key`` is malformed.
        """
        _check_name(kind, key)
        blob = encode_entry(kind, key, memoryview(data).cast("B"))
        path = self._entry_path(kind, key)
        try:
            self._write_atomically(path, blob)
        except OSError as error:
            self.counters["write_errors"] += 1
            self._warn_unwritable(error)
            return False
        self.counters["writes"] += 1
        self._after_put(len(blob))
        return True

    def _write_atomically(self, path, blob):
        """Write ``blob`` at ``path`` through a temporary file and a rename."""
        directory = os.path.dirname(path)
        name = f"{_TEMP_PREFIX}{os.path.basename(path)}-{os.getpid()}-{secrets.token_hex(4)}"
        temp = os.path.join(directory, name)
        try:
            _write_file(temp, blob)
        except FileNotFoundError:
            _makedirs(directory)  # first entry of this prefix: create the directory, once
            _write_file(temp, blob)
        try:
            os.replace(temp, path)
        except OSError:
            _unlink(temp)
            raise

    def _warn_unwritable(self, error):
        """Warn about the first failed write of the process; later ones are only counted."""
        global _warned_unwritable
        if _warned_unwritable:
            return
        _warned_unwritable = True
        warnings.warn(f"theon: disk cache at {self.path} is not writable ({error}); "
                      f"compiling without it", RuntimeWarning, stacklevel=3)

    def _after_put(self, size):
        """Prune when this process's estimate of the store's size says it may be too large."""
        self._puts_since_scan += 1
        if self._estimate is None:
            self._estimate = self._recorded_usage()
        if self._estimate is not None:
            self._estimate += size  # an overestimate when the put replaced an entry
        stale = self._estimate is None or self._puts_since_scan >= RESCAN_EVERY
        if not stale and self._estimate <= self.max_bytes:
            return
        self._puts_since_scan = 0
        scan = self._scan()
        self._estimate = _total_bytes(scan)
        if self._estimate > self.max_bytes:
            self._evict(scan, int(self.max_bytes * PRUNE_FRACTION))  # records the usage
        else:
            self._record_usage()

    def _recorded_usage(self):
        """The store's size as the last scan by any process recorded it, or None.  Other
        processes may have written since; they rescan every ``RESCAN_EVERY`` writes, which
        bounds how far the store can overshoot, as it did before."""
        try:
            with open(os.path.join(self._root, USAGE_FILE), "rb") as handle:
                value = int(handle.read(32))
        except (OSError, ValueError):
            return None
        return value if value >= 0 else None

    def _record_usage(self):
        """Write this process's estimate of the store's size for the next process."""
        if self._estimate is None:
            return
        try:
            self._write_atomically(os.path.join(self._root, USAGE_FILE),
                                   str(self._estimate).encode())
        except OSError:
            pass  # only a hint: the next process scans instead

    def _scan(self, remove_stale_temps=False):
        """``(mtime_ns, size, path, kind)`` of every entry file of the store; stale temporary
        files are removed on request."""
        scan = []
        now = time.time()
        for kind in _list_dir(self._root):
            if not kind.is_dir(follow_symlinks=False):
                continue
            for prefix in _list_dir(kind.path):
                if not prefix.is_dir(follow_symlinks=False):
                    continue
                for entry in _list_dir(prefix.path):
                    _add_entry(scan, entry, kind.name, now, remove_stale_temps)
        return scan

    def _evict(self, scan, target):
        """Remove the least recently used entries of ``scan`` until at most ``target`` bytes."""
        total, removed = _total_bytes(scan), 0
        for _, size, path, _ in sorted(scan):
            if total <= target:
                break
            if _unlink(path):
                removed += 1
            total -= size  # gone either way: we removed it or another process did
        self.counters["evictions"] += removed
        self._estimate = total
        self._record_usage()
        return removed

    def info(self):
        """A summary of the store, for ``theon cache info`` and for tests.

        Returns
        -------
        dict
            ``path`` (str), ``entries`` (int, all kinds), ``bytes`` (int, all kinds), ``kinds``
            (``{kind: {"entries": int, "bytes": int}}``), ``max_bytes``, ``counters`` (a copy of
            this object's counters), ``enabled`` (False when ``THEON_CACHE=0``) and
            ``writable`` (whether the first existing directory on the root's path is writable).
        """
        scan = self._scan()
        kinds = {}
        for _, size, _, kind in scan:
            summary = kinds.setdefault(kind, {"entries": 0, "bytes": 0})
            summary["entries"] += 1
            summary["bytes"] += size
        return {"path": os.fspath(self.path), "entries": len(scan),
                "bytes": _total_bytes(scan), "kinds": dict(sorted(kinds.items())),
                "max_bytes": self.max_bytes, "counters": dict(self.counters),
                "enabled": cache_enabled(), "writable": _writable(os.fspath(self.path))}

    def clear(self):
        """Remove every entry and every stale temporary file.

        Returns
        -------
        int
            The number of entries this call removed.
        """
        scan = self._scan(remove_stale_temps=True)
        removed = sum(_unlink(entry[2]) for entry in scan)
        self._estimate = 0
        self._record_usage()
        return removed

    def prune(self, max_bytes=None):
        """Remove least recently used entries until the store holds at most ``max_bytes``.

        Stale temporary files left by crashed writers are removed too. Entries that another
        process removes meanwhile are skipped.

        Parameters
        ----------
        max_bytes : int or str, optional
            Target size (``"500M"`` style accepted); this store's ``max_bytes`` when omitted.

        Returns
        -------
        int
            The number of entries this call removed.
        """
        target = self.max_bytes if max_bytes is None else parse_size(max_bytes)
        scan = self._scan(remove_stale_temps=True)
        return self._evict(scan, target)


def _list_dir(path):
    """The entries of directory ``path``; none if it is missing or unreadable."""
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except OSError:
        return []


def _add_entry(scan, entry, kind, now, remove_stale_temps):
    """Record the entry file ``entry`` in ``scan``, or remove it if it is a stale temp file."""
    try:
        stat = entry.stat(follow_symlinks=False)
    except OSError:
        return  # removed meanwhile by another process
    if entry.name.startswith(_TEMP_PREFIX):
        if remove_stale_temps and now - stat.st_mtime > STALE_TEMP_SECONDS:
            _unlink(entry.path)
        return
    if entry.is_file(follow_symlinks=False):
        scan.append((stat.st_mtime_ns, stat.st_size, entry.path, kind))


def _writable(path):
    """Whether the deepest existing directory on ``path`` accepts new files."""
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path or os.path.exists(path):
            return False
        path = parent
    return os.access(path, os.W_OK | os.X_OK)


def cache_enabled():
    """Whether the process-wide cache is on, that is ``$THEON_CACHE`` is not 0/false/off/no.

    Returns
    -------
    bool
    """
    return os.environ.get("THEON_CACHE", "1").strip().lower() not in _DISABLED_VALUES


def get_cache():
    """The process-wide disk cache, or None when ``THEON_CACHE=0``.

    The environment is read at each call; one ``DiskCache`` is kept per (directory, bound), so
    its counters accumulate over the process.

    Returns
    -------
    DiskCache or None
    """
    if not cache_enabled():
        return None
    key = (default_cache_dir(), _max_bytes_from_env())
    with _stores_lock:
        if key in _stores:
            return _stores[key]
        store = DiskCache(*key) if _trusted(key[0]) else None
        _stores[key] = store
        return store


def _trusted(root):
    """Whether code cached under ``root`` can be trusted: it is ours and nobody else may write
    to it.  A directory another user owns or can write to (a shared ``/tmp`` path) could
    hold planted entries, whose checksums anyone can compute: then theon compiles without
    the cache and says so once."""
    try:
        status = os.stat(root)
    except FileNotFoundError:
        return True  # theon creates it, mode 0700
    except OSError:
        return True  # unreadable: put/get fail safely and warn
    reason = None
    if hasattr(os, "geteuid") and status.st_uid != os.geteuid():
        reason = f"it belongs to uid {status.st_uid}"
    elif status.st_mode & 0o022:
        reason = f"others may write to it (mode {stat.S_IMODE(status.st_mode):o})"
    if reason is None:
        return True
    warnings.warn(f"theon: not using the disk cache at {root}: {reason}; compiling without "
                  "it (THEON_CACHE_DIR chooses another directory)", RuntimeWarning,
                  stacklevel=3)
    return False


__all__ = ["DEFAULT_MAX_BYTES", "DiskCache", "cache_enabled", "default_cache_dir", "get_cache",
           "parse_size"]
