import pytest

import perfkit
import perfkit.check
import perfkit.metrics.indicators
import perfkit.metrics.tasks  # noqa: F401 - importing the submodules must not shadow the functions


def test_public_api_resolves():
    for name in perfkit.__all__:
        assert getattr(perfkit, name) is not None, name
    for name in ("indicators", "tasks", "check"):
        assert callable(getattr(perfkit, name)), name
    assert perfkit.indicators.__module__ == "perfkit.metrics.indicators"
    assert perfkit.generate_demo.__name__ == "generate"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        perfkit.nope  # noqa: B018
