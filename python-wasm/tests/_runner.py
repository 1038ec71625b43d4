"""Shared runner of the test modules in this folder when they run as scripts.

``python test_x.py`` runs every ``test_*`` function and exits 0 only if all
passed. A test that skips (its sample data is missing) counts as a failure in
script mode: the harness that runs these scripts only does so when the data is
there, so a skip means something is wrong. Under pytest, ``skip`` is pytest's.
"""

import sys
import traceback


class Skipped(Exception):
    """Raised by :func:`skip` in script mode."""


_script_mode = False


def skip(msg):
    if not _script_mode:
        try:
            import pytest
        except ImportError:
            pass
        else:
            pytest.skip(msg)
    raise Skipped(msg)


def main(namespace):
    """Runs the ``test_*`` functions of ``namespace``; returns the exit status."""
    global _script_mode
    _script_mode = True
    tests = [(k, v) for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    failed = 0
    for name, fn in tests:
        print(name)
        try:
            fn()
        except Skipped as exc:
            failed += 1
            print("  SKIPPED (counts as a failure): {0}".format(exc))
        except Exception:
            traceback.print_exc()
            failed += 1
            print("  FAILED")
        else:
            print("  ok")
    print("{0} tests, {1} failed".format(len(tests), failed))
    return 1 if failed else 0
