"""The Compare page states what else differs between A and B before its verdict."""

from analysis.controlled import comparison_check
from runstore import read_run_record
from tests.app_pages import run_page


def test_compare_page_warns_first_when_runs_differ_in_more_than_one_setting(app_env):
    app = run_page("compare", compare_a="simple-cnn-a", compare_b="vgg16-transfer-b")
    assert not app.exception, app.exception
    record_a = read_run_record(app_env / "runs" / "simple-cnn-a")
    record_b = read_run_record(app_env / "runs" / "vgg16-transfer-b")
    expected = comparison_check([record_a], [record_b], "A · simple-cnn-a", "B · vgg16-transfer-b")
    assert expected.warning and expected.warning.startswith("Not a controlled comparison")
    assert "model (" in expected.warning
    warnings = [element.value for element in app.warning]
    assert expected.warning in warnings
    # Single runs on both sides: the significance section says its test covers the test images only.
    assert "seed variation is unknown" in " ".join(str(caption.value) for caption in app.caption)
