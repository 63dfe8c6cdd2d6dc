"""The ``theon`` command: ``theon demo``, ``theon cache ...``, ``theon bench ...``,
``theon version``."""
import argparse
import sys

USAGE = """usage: theon COMMAND [ARGS]

commands:
  demo [--size N]                 compile and run example graphs, with compile-time stages
  cache info|clear|prune [...]    inspect or empty the on-disk compile cache
  bench compile [...]             compile-time benchmark: cold, warm disk cache, rebuilt
  version                         versions of theon, numpy, llvmlite/LLVM and the host CPU
"""


def main(argv=None):
    """Entry point of the ``theon`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        parser = argparse.ArgumentParser(prog="theon demo")
        parser.add_argument("--size", type=int, default=10_000_000,
                            help="elements per input of the elementwise example (default 1e7)")
        args = parser.parse_args(rest)
        from .demo import run
        return run(size=args.size)
    if command == "cache":
        from .cache_cli import main as cache_main
        return cache_main(rest)
    if command == "bench":
        from .bench import main as bench_main
        return bench_main(rest)
    if command == "version":
        return _version()
    print(f"theon: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


def _version():
    import llvmlite
    import numpy

    from . import __version__
    from .codegen.llvm import host_description
    triple, cpu, _, llvm_version = host_description()
    print(f"theon {__version__}; numpy {numpy.__version__}; llvmlite {llvmlite.__version__} "
          f"(LLVM {llvm_version}); host {triple} {cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
