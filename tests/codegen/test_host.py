"""The cache key's picture of theon's own code (``codegen.host.fingerprint_of``)."""
import os

from theon._version import __version__
from theon.codegen.host import fingerprint_of, source_fingerprint


def _package(root):
    """A minimal theon tree under ``root``: what the fingerprint reads, and a frontend."""
    package = root / "theon"
    for relative in ("_version.py", "frontend/compiler.py", "frontend/shape.py",
                     "ir/node.py", "passes/fuse.py", "codegen/host.py", "runtime/loader.py"):
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {relative}\n")
    return package


def _edit(path, text):
    path.write_text(text)
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 10 ** 9))


def test_source_checkout_is_named_by_the_code_that_makes_cache_entries(tmp_path):
    package = _package(tmp_path)
    before = fingerprint_of(package)
    assert fingerprint_of(package) == before
    _edit(package / "frontend" / "shape.py", "# a frontend edit changes graphs, not code\n")
    assert fingerprint_of(package) == before
    for relative in ("codegen/host.py", "passes/fuse.py", "frontend/compiler.py"):
        _edit(package / relative, f"# {relative}, edited\n")
        after = fingerprint_of(package)
        assert after != before, relative
        before = after
    (package / "ir" / "new_op.py").write_text("# a new module\n")
    assert fingerprint_of(package) != before


def _record(root, text):
    """pip's RECORD of this theon version next to the package under ``root``."""
    record = root / f"theon-{__version__}.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text(text)
    return record


def test_installed_package_is_named_by_its_record(tmp_path):
    package = _package(tmp_path)
    checkout = fingerprint_of(package)
    record = _record(tmp_path, "theon/codegen/host.py,sha256=abc,10\n")
    installed = fingerprint_of(package)
    assert installed != checkout
    _edit(package / "codegen" / "host.py", "# not read: the record names the install\n")
    assert fingerprint_of(package) == installed
    _edit(record, "theon/codegen/host.py,sha256=def,10\n")  # a reinstall
    assert fingerprint_of(package) != installed


def test_record_of_another_distribution_is_ignored(tmp_path):
    package = _package(tmp_path)
    checkout = fingerprint_of(package)
    _record(tmp_path, "other/module.py,sha256=abc,10\n")
    assert fingerprint_of(package) == checkout


def test_this_process_fingerprint_is_stable():
    assert source_fingerprint() == source_fingerprint()
    assert len(source_fingerprint()) == 32
