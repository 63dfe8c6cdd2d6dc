"""The ``theon cache`` command: ``info``, ``clear`` and ``prune [--max-bytes N]``.

It acts on the store that compiled functions use: ``$THEON_CACHE_DIR`` or the platform's cache
directory, bounded by ``$THEON_CACHE_MAX_BYTES``. Run standalone with
``python3 -m theon.cache_cli info``.
"""
import argparse
import sys

from .runtime.disk_cache import DiskCache, parse_size


def main(argv=None):
    """Run ``theon cache`` with the arguments ``argv`` (after ``cache``).

    Parameters
    ----------
    argv : list of str, optional
        For example ``["info"]``, ``["clear"]`` or ``["prune", "--max-bytes", "500M"]``;
        ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success, 2 on a usage error.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on errors; callers want a code
        return exit_.code if isinstance(exit_.code, int) else 2
    cache = DiskCache()
    if args.action == "info":
        return _info(cache)
    if args.action == "clear":
        removed = cache.clear()
        print(f"removed {_count(removed)} from {cache.path}")
        return 0
    target = cache.max_bytes if args.max_bytes is None else args.max_bytes
    removed = cache.prune(target)
    info = cache.info()
    print(f"removed {_count(removed)} from {cache.path}; {_count(info['entries'])}, "
          f"{human_bytes(info['bytes'])} left (target {human_bytes(target)})")
    return 0


def _parser():
    """The argument parser of ``theon cache``."""
    parser = argparse.ArgumentParser(prog="theon cache",
                                     description="inspect and shrink theon's compile cache")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("info", help="location, entries per kind, total size and bound")
    actions.add_parser("clear", help="remove every entry")
    prune = actions.add_parser("prune", help="remove least recently used entries down to a size")
    prune.add_argument("--max-bytes", type=_size_argument, default=None, metavar="N",
                       help="target size, e.g. 500M or 2G (default: the cache's bound)")
    return parser


def _size_argument(text):
    """``parse_size`` for argparse, which reports ArgumentTypeError as a usage error."""
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _info(cache):
    """Print the summary of ``cache``; returns the exit code."""
    info = cache.info()
    state = "enabled" if info["enabled"] else "disabled by THEON_CACHE=0"
    writable = "" if info["writable"] else ", NOT writable"
    print(f"theon compile cache: {info['path']} ({state}{writable})")
    for kind, summary in info["kinds"].items():
        print(f"  {kind:<10} {_count(summary['entries']):>16} {human_bytes(summary['bytes']):>11}")
    share = 100.0 * info["bytes"] / info["max_bytes"] if info["max_bytes"] else 0.0
    print(f"  {'total':<10} {_count(info['entries']):>16} {human_bytes(info['bytes']):>11}"
          f"  of {human_bytes(info['max_bytes'])} bound ({share:.1f}%)")
    return 0


def _count(entries):
    """``"1 entry"``, ``"2 entries"``."""
    return f"{entries} {'entry' if entries == 1 else 'entries'}"


def human_bytes(count):
    """A byte count in binary units, such as ``"1.5 GiB"``.

    Parameters
    ----------
    count : int

    Returns
    -------
    str
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count} B" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


if __name__ == "__main__":
    sys.exit(main())
