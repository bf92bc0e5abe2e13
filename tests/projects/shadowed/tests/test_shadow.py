import importlib.metadata
import os

import six


def test_source_copy_wins():
    assert six.__version__ == "0.0.0+source"
    assert six.__file__ == os.path.join(os.environ["FIXTURE_ROOT"], "six.py")


def test_registry_copy_is_installed_too():
    assert importlib.metadata.version("six") != "0.0.0+source"
    assert importlib.metadata.version("python-dateutil")
