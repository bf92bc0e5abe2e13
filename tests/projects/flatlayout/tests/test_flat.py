import os

import flatpkg
import nsgroup.nsmod.mod


def test_flat_package():
    assert flatpkg.VALUE == "flat"
    assert flatpkg.__file__ == os.path.join(os.environ["FIXTURE_ROOT"], "flatpkg", "__init__.py")


def test_namespace_package():
    assert nsgroup.nsmod.mod.VALUE == "namespace"
    assert nsgroup.__file__ is None  # a namespace package, not a regular one
