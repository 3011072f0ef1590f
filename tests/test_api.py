import warnings

import pytest

import perfkit
import perfkit.metrics.indicators
import perfkit.metrics.tasks
import perfkit.project.check  # noqa: F401 - importing the submodules must not shadow the functions


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


def test_old_module_paths_import_for_one_release_with_a_warning():
    from perfkit.appraisal.scorecard import scores
    from perfkit.report.employee import EmployeeReport

    with pytest.warns(DeprecationWarning, match=r"perfkit\.views moved to perfkit\.report\.company"):
        from perfkit.views import EmployeeReport as old_report
    assert old_report is EmployeeReport
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from perfkit.scorecard import load_scorecard
        from perfkit.scorecard import scores as old_scores
    assert old_scores is scores and load_scorecard is perfkit.load_scorecard
    with pytest.raises(ImportError, match="no attribute 'nope'|cannot import name 'nope'"):
        from perfkit.views import nope  # noqa: F401
    assert callable(perfkit.indicators)  # the old paths never shadow a public function
