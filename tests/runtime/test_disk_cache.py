"""The disk cache: round trips, many concurrent processes, damaged entries, unwritable
directories, LRU eviction, the ``theon cache`` command and ``THEON_CACHE=0``."""
import errno
import hashlib
import multiprocessing
import os
import subprocess
import sys
import time
import warnings

import pytest

from theon import cache_cli
from theon.runtime import disk_cache, loader
from theon.runtime.disk_cache import DiskCache, encode_entry, get_cache, parse_size

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
WORKERS = 16
SHARED_KEYS = 24


def _key(text):
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _payload(key, size):
    """Deterministic bytes for ``key``: every process that puts ``key`` puts the same bytes."""
    seed = hashlib.blake2b(key.encode(), digest_size=64).digest()
    return (seed * (size // 64 + 1))[:size]


def _entry_files(root):
    """Every file under ``root`` but the size hint (``USAGE_FILE``): (path, name)."""
    found = []
    for directory, _, names in os.walk(root):
        found.extend((os.path.join(directory, name), name) for name in names
                     if name != disk_cache.USAGE_FILE)
    return found


@pytest.fixture
def cache(tmp_path):
    return DiskCache(tmp_path / "cache")


@pytest.fixture
def fresh_warning(monkeypatch):
    """Let this test see the once-per-process unwritable warning again.  Earlier tests'
    second compile tier is waited for first: its worker thread stores through the same
    module, and would otherwise meet this test's patches and give the warning itself."""
    loader.wait_for_optimized()
    monkeypatch.setattr(disk_cache, "_warned_unwritable", False)


def test_round_trip_and_counters(cache):
    assert cache.get("kernel", KEY) is None
    assert cache.counters["misses"] == 1
    assert cache.put("kernel", KEY, b"object code")
    assert cache.put("graph", KEY, bytearray(b"schedule"))
    assert cache.get("kernel", KEY) == b"object code"
    assert cache.get("graph", KEY) == b"schedule"
    assert cache.put("kernel", KEY, b"")
    assert cache.get("kernel", KEY) == b""
    assert cache.counters == {"hits": 3, "misses": 1, "writes": 3, "corrupt": 0,
                              "write_errors": 0, "evictions": 0}
    path = cache.path / "v1" / "kernel" / KEY[:2] / KEY
    assert path.is_file()
    assert (cache.path.stat().st_mode & 0o777) == 0o700
    assert (path.parent.stat().st_mode & 0o777) == 0o700


def test_existing_directory_mode_is_left_alone(tmp_path):
    root = tmp_path / "shared"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    assert DiskCache(root).put("graph", KEY, b"x")
    assert (root.stat().st_mode & 0o777) == 0o755


@pytest.mark.parametrize("kind, key", [
    ("Kernel", KEY), ("ker nel", KEY), ("", KEY), ("../x", KEY), ("k" * 65, KEY),
    ("kernel", KEY.upper()), ("kernel", "0123abc"), ("kernel", "../" + KEY),
    ("kernel", KEY + "\n"), ("kernel", "a" * 129), ("kernel", 123), (None, KEY),
])
def test_names_are_validated(cache, kind, key):
    with pytest.raises(ValueError, match="disk cache: (kind|key) must"):
        cache.get(kind, key)
    with pytest.raises(ValueError, match="disk cache: (kind|key) must"):
        cache.put(kind, key, b"x")


def _worker(root, index, ready, start, results):
    """Put and get a mix of shared and private keys; report failures and the slowest op."""
    store = DiskCache(root, max_bytes=1 << 30)
    errors, slowest = [], 0.0
    ready.put(index)
    start.wait(60)
    own = []
    for step in range(60):
        shared = step % 2 == 0
        key = _key(f"shared-{step % SHARED_KEYS}" if shared else f"own-{index}-{step}")
        data = _payload(key, 256 + (int(key[:4], 16) % 40_000))
        began = time.perf_counter()
        got = store.get("kernel", key)
        if got is None:
            if not store.put("kernel", key, data):
                errors.append(f"put {key} failed")
            own.append((key, data))
        elif got != data:
            errors.append(f"get {key} returned other bytes")
        slowest = max(slowest, time.perf_counter() - began)
    for key, data in own:
        began = time.perf_counter()
        if store.get("kernel", key) != data:
            errors.append(f"get {key} after put did not return the bytes put")
        slowest = max(slowest, time.perf_counter() - began)
    results.put((index, errors, slowest, dict(store.counters)))


def test_sixteen_processes_share_one_empty_directory(tmp_path):
    root = str(tmp_path / "cache")
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    processes = [context.Process(target=_worker, args=(root, i, ready, start, results))
                 for i in range(WORKERS)]
    for process in processes:
        process.start()
    try:
        for _ in range(WORKERS):
            ready.get(timeout=60)
        start.set()  # all workers start their puts and gets at once on the empty directory
        reports = [results.get(timeout=60) for _ in range(WORKERS)]
    finally:
        for process in processes:
            process.join(30)
    assert all(process.exitcode == 0 for process in processes)
    for index, errors, slowest, counters in reports:
        assert errors == [], f"worker {index}: {errors[:3]}"
        assert slowest < 1.0, f"worker {index} waited {slowest:.3f} s on one operation"
        assert counters["corrupt"] == 0 and counters["write_errors"] == 0
    files = _entry_files(root)
    assert [name for _, name in files if name.startswith(".tmp")] == []
    checker = DiskCache(root)
    for _, name in files:
        assert checker.get("kernel", name) == _payload(name, 256 + int(name[:4], 16) % 40_000)
    assert checker.counters["corrupt"] == 0
    assert len(files) == SHARED_KEYS // 2 + WORKERS * 30


def _truncate(blob, other):
    return blob[:-7]


def _truncate_header(blob, other):
    return blob[:20]


def _flip(offset):
    def flip(blob, other):
        data = bytearray(blob)
        data[offset] ^= 0x10
        return bytes(data)
    flip.__name__ = f"flip_byte_{offset}"
    return flip


def _foreign(blob, other):
    return other


def _future_version(blob, other):
    return encode_entry("kernel", KEY, b"payload " * 100, version=disk_cache.FORMAT_VERSION + 1)


def _empty(blob, other):
    return b""


def _garbage(blob, other):
    return b"\x80\x04\x95 not a theon entry at all" * 10


HEADER = disk_cache._HEADER.size
DAMAGE = [_truncate, _truncate_header, _flip(-1), _flip(HEADER + 50), _flip(0), _flip(8),
          _flip(10), _flip(12), _flip(20), _flip(HEADER + 3), _foreign, _future_version,
          _empty, _garbage]


@pytest.mark.parametrize("damage", DAMAGE, ids=[damage.__name__ for damage in DAMAGE])
def test_damaged_entries_are_detected_and_replaced(cache, damage):
    payload = b"payload " * 100
    assert cache.put("kernel", KEY, payload)
    assert cache.put("kernel", OTHER, payload)
    path = cache.path / "v1" / "kernel" / KEY[:2] / KEY
    other = (cache.path / "v1" / "kernel" / OTHER[:2] / OTHER).read_bytes()
    path.write_bytes(damage(path.read_bytes(), other))
    assert cache.get("kernel", KEY) is None
    assert cache.counters["corrupt"] == 1
    assert not path.exists()
    assert cache.put("kernel", KEY, payload)
    assert cache.get("kernel", KEY) == payload
    assert cache.get("kernel", OTHER) == payload


def test_entry_for_another_kind_is_foreign(cache):
    assert cache.put("graph", KEY, b"schedule")
    source = cache.path / "v1" / "graph" / KEY[:2] / KEY
    target = cache.path / "v1" / "kernel" / KEY[:2] / KEY
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    assert cache.get("kernel", KEY) is None
    assert cache.counters["corrupt"] == 1
    assert cache.get("graph", KEY) == b"schedule"


def _put_and_get_fail_quietly(store):
    """put fails three times with a single warning; get is a miss; nothing raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [store.put("kernel", key, b"data") for key in (KEY, OTHER, KEY)]
    assert results == [False, False, False]
    assert store.counters["write_errors"] == 3
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1
    assert messages[0].startswith(f"theon: disk cache at {store.path} is not writable (")
    assert messages[0].endswith("); compiling without it")
    assert store.get("kernel", OTHER) is None


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_read_only_directory(tmp_path, fresh_warning):
    root = tmp_path / "cache"
    root.mkdir()
    os.chmod(root, 0o500)
    try:
        _put_and_get_fail_quietly(DiskCache(root))
    finally:
        os.chmod(root, 0o700)


def test_directory_under_a_regular_file(tmp_path, fresh_warning):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    store = DiskCache(blocker / "cache")
    _put_and_get_fail_quietly(store)
    assert store.info()["writable"] is False
    assert store.clear() == 0 and store.prune(0) == 0


def test_disk_full_on_rename_leaves_no_temp_file(cache, monkeypatch, fresh_warning):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "replace", full)
    _put_and_get_fail_quietly(cache)
    monkeypatch.undo()
    assert [name for _, name in _entry_files(cache.path)] == []
    assert cache.put("kernel", KEY, b"data") and cache.get("kernel", KEY) == b"data"


def test_disk_full_on_write(cache, monkeypatch, fresh_warning):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(disk_cache, "_write_file", full)
    _put_and_get_fail_quietly(cache)


def test_warning_is_given_once_per_process(tmp_path, fresh_warning):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DiskCache(blocker / "a").put("graph", KEY, b"x")
        DiskCache(blocker / "b").put("graph", KEY, b"x")
    assert len(caught) == 1


def _age_all(root, seconds_ago):
    """Give the entries under ``root`` increasing mtimes in the past, in name order."""
    now = time.time()
    for rank, (path, _) in enumerate(sorted(_entry_files(root))):
        stamp = now - seconds_ago + rank
        os.utime(path, (stamp, stamp))


def test_eviction_keeps_recently_used_entries(tmp_path):
    size = 4000
    entry_size = size + disk_cache._HEADER.size + len("kernel") + 32
    store = DiskCache(tmp_path / "cache", max_bytes=20 * entry_size)
    first = [_key(f"first-{i}") for i in range(18)]
    for key in first:
        assert store.put("kernel", key, _payload(key, size))
    _age_all(store.path, 10_000)  # older than anything below, and a strict order among them
    recent = sorted(first)[:3]  # the oldest three by mtime, now used again
    for key in recent:
        assert store.get("kernel", key) == _payload(key, size)
    later = [_key(f"later-{i}") for i in range(10)]
    for key in later:
        assert store.put("kernel", key, _payload(key, size))
        assert store.info()["bytes"] <= store.max_bytes
    # Room for 20 entries, pruned back to 18 (90%) by the 3rd, 6th and 9th later put: the 9
    # least recently used go, which are the oldest untouched entries of the first batch.
    untouched = sorted(first)[3:]
    survivors = {name for _, name in _entry_files(store.path)}
    assert survivors == set(recent) | set(later) | set(untouched[9:])
    assert store.counters["evictions"] == 9


def test_prune_and_clear(cache):
    for i in range(10):
        assert cache.put("kernel", _key(str(i)), b"x" * 1000)
    assert cache.put("graph", KEY, b"y" * 10)
    _age_all(cache.path, 1000)
    kernel_dir = cache.path / "v1" / "kernel" / "00"
    kernel_dir.mkdir(exist_ok=True)
    stale, live = kernel_dir / f".tmp-{KEY}-1-dead", kernel_dir / f".tmp-{KEY}-2-busy"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    total = cache.info()["bytes"]
    assert cache.prune(total) == 0
    assert not stale.exists() and live.exists()  # a writer may still rename the fresh one
    assert cache.prune(total - 1) == 1
    assert cache.info()["entries"] == 10
    assert cache.clear() == 10
    assert cache.info()["entries"] == 0 and live.exists()


def test_prune_tolerates_entries_removed_meanwhile(cache, monkeypatch):
    for i in range(5):
        assert cache.put("kernel", _key(str(i)), b"x" * 1000)
    scan = cache._scan()
    for _, _, path, _ in scan[:3]:
        os.unlink(path)  # as if another process pruned them after our scan
    monkeypatch.setattr(cache, "_scan", lambda remove_stale_temps=False: scan)
    assert cache.prune(0) == 2


def _pruning_worker(root, index):
    """Gets and puts over a store four times too small; returns (failures, slowest op)."""
    store = DiskCache(root, max_bytes=100_000)
    failures, slowest = 0, 0.0
    for step in range(150):
        key = _key(str((step * 7 + index) % 80))
        data = _payload(key, 2000 + int(key[:3], 16))
        began = time.perf_counter()
        got = store.get("kernel", key)
        if got is None:
            failures += not store.put("kernel", key, data)
        else:
            failures += got != data
        slowest = max(slowest, time.perf_counter() - began)
    return failures, slowest, store.counters["corrupt"]


def test_processes_evicting_concurrently(tmp_path):
    root = str(tmp_path / "cache")
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        reports = pool.starmap(_pruning_worker, [(root, index) for index in range(8)])
    assert all(report == (0, report[1], 0) and report[1] < 1.0 for report in reports)
    files = _entry_files(root)
    assert [name for _, name in files if name.startswith(".tmp")] == []
    # Each process prunes on its own estimate: the bound holds up to one entry per process.
    assert sum(os.path.getsize(path) for path, _ in files) <= 100_000 + 8 * 6200


def test_info(cache):
    assert cache.put("kernel", KEY, b"x" * 100)
    assert cache.put("graph", KEY, b"y")
    info = cache.info()
    assert info["path"] == str(cache.path)
    assert info["entries"] == 2 and set(info["kinds"]) == {"graph", "kernel"}
    assert info["kinds"]["kernel"]["entries"] == 1
    assert info["bytes"] == sum(kind["bytes"] for kind in info["kinds"].values())
    assert info["counters"]["writes"] == 2
    assert info["enabled"] and info["writable"] and info["max_bytes"] == cache.max_bytes


def test_get_of_100_kb_is_fast(cache):
    assert cache.put("kernel", KEY, os.urandom(100_000))
    times = []
    for _ in range(200):
        began = time.perf_counter()
        cache.get("kernel", KEY)
        times.append(time.perf_counter() - began)
    assert sorted(times)[100] < 1e-3


@pytest.mark.parametrize("text, expected", [
    ("1048576", 1 << 20), ("500M", 500 << 20), ("2G", 2 << 30), ("1.5GiB", 3 << 29),
    ("64k", 64 << 10), ("10MB", 10 << 20), (0, 0),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "-1", "2X", "G", "1 2"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="cache size"):
        parse_size(text)


@pytest.fixture
def env_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("THEON_CACHE_DIR", str(tmp_path / "envcache"))
    monkeypatch.delenv("THEON_CACHE", raising=False)
    monkeypatch.delenv("THEON_CACHE_MAX_BYTES", raising=False)
    return DiskCache()


def test_cli_info_clear_prune(env_cache, capsys):
    for i in range(4):
        assert env_cache.put("kernel", _key(str(i)), b"k" * 3000)
    assert env_cache.put("graph", KEY, b"g" * 10)
    assert cache_cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert str(env_cache.path) in out and "(enabled)" in out
    assert "kernel" in out and "4 entries" in out and "graph" in out and "1 entry" in out
    assert "5 entries" in out and "of 1.0 GiB bound" in out
    assert cache_cli.main(["prune", "--max-bytes", "7K"]) == 0
    out = capsys.readouterr().out
    # 4 kernels of 3076 bytes and a graph of 86 bytes: two kernels go to fit into 7 KiB
    assert out.startswith("removed 2 entries from ") and "3 entries, 6.1 KiB left" in out
    assert cache_cli.main(["prune"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert cache_cli.main(["clear"]) == 0
    assert capsys.readouterr().out == f"removed 3 entries from {env_cache.path}\n"
    assert env_cache.info()["entries"] == 0


def test_cli_usage_errors(env_cache, capsys):
    assert cache_cli.main(["prune", "--max-bytes", "lots"]) == 2
    assert "expected a byte count" in capsys.readouterr().err
    assert cache_cli.main([]) == 2
    assert cache_cli.main(["explode"]) == 2


def test_cli_as_module(env_cache):
    assert env_cache.put("graph", KEY, b"g")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-m", "theon.cache_cli", "info"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert str(env_cache.path) in done.stdout and "1 entry" in done.stdout


def test_get_cache_follows_environment(env_cache, monkeypatch):
    store = get_cache()
    assert store is get_cache() and store.path == env_cache.path
    assert store.max_bytes == disk_cache.DEFAULT_MAX_BYTES
    monkeypatch.setenv("THEON_CACHE_MAX_BYTES", "10M")
    assert get_cache().max_bytes == 10 << 20 and get_cache() is not store
    for off in ("0", "off", "false"):
        monkeypatch.setenv("THEON_CACHE", off)
        assert get_cache() is None
    monkeypatch.setenv("THEON_CACHE", "1")
    assert get_cache() is not None


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("THEON_CACHE_DIR", raising=False)
    monkeypatch.setattr(disk_cache.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert disk_cache.default_cache_dir() == tmp_path / "theon"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert disk_cache.default_cache_dir() == tmp_path / "home" / ".cache" / "theon"
    monkeypatch.setattr(disk_cache.sys, "platform", "darwin")
    assert disk_cache.default_cache_dir() == tmp_path / "home" / "Library" / "Caches" / "theon"
    monkeypatch.setenv("THEON_CACHE_DIR", "~/elsewhere")
    assert disk_cache.default_cache_dir() == tmp_path / "home" / "elsewhere"


def test_a_new_process_starts_from_the_recorded_size_instead_of_listing_the_store(
        tmp_path, monkeypatch):
    """The first write of a fresh DiskCache reads the size the last scan recorded; it lists
    the store only when that hint is missing or unreadable, or every RESCAN_EVERY writes."""
    first = DiskCache(tmp_path / "cache", max_bytes="1G")
    for index in range(3):
        assert first.put("kernel", f"{index:032x}", b"x" * 1000)
    recorded = first._recorded_usage()  # the size at the first write's scan
    assert recorded is not None and recorded >= 1000
    scans = []
    original = DiskCache._scan
    monkeypatch.setattr(DiskCache, "_scan", lambda self, *a, **k: scans.append(1) or
                        original(self, *a, **k))
    second = DiskCache(tmp_path / "cache", max_bytes="1G")
    assert second.put("kernel", "f" * 32, b"y" * 1000)
    assert scans == [] and second._estimate >= recorded + 1000
    hint = os.path.join(second._root, disk_cache.USAGE_FILE)
    with open(hint, "w") as handle:
        handle.write("not a number")
    third = DiskCache(tmp_path / "cache", max_bytes="1G")
    assert third.put("kernel", "e" * 32, b"z" * 1000)
    assert scans == [1]  # an unreadable hint: the store is listed, and the hint rewritten
    assert third._recorded_usage() == third._estimate
