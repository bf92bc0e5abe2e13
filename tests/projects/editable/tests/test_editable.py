import os

import helperlib


def test_editable_install_resolves_to_the_source():
    assert helperlib.ANSWER == 42
    assert helperlib.__file__ == os.path.join(os.environ["FIXTURE_ROOT"], "helper", "helperlib", "__init__.py")
