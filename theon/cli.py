"""The ``theon`` command: ``theon demo``, ``theon version``."""
import argparse
import sys


def main(argv=None):
    """Entry point of the ``theon`` console script."""
    parser = argparse.ArgumentParser(prog="theon", description="theon: a symbolic tensor "
                                     "compiler with Theano's API and LLVM kernels")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="compile and run example graphs, with timings")
    demo.add_argument("--size", type=int, default=10_000_000,
                      help="elements per input of the elementwise example (default 1e7)")
    commands.add_parser("version", help="print theon's and its dependencies' versions")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run
        return run(size=args.size)
    if args.command == "version":
        return _version()
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
