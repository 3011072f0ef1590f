"""perfkit.files: the one YAML reader of every parameters file, and atomic writes."""

from __future__ import annotations

import pytest

from perfkit.errors import SpecError
from perfkit.files import atomic_path, read_yaml


def test_read_yaml_reads_a_mapping_and_an_empty_file_is_empty(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\ny: [1, 2]\n", encoding="utf-8")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert read_yaml(tmp_path / "a.yaml") == {"x": 1, "y": [1, 2]}
    assert read_yaml(tmp_path / "empty.yaml") == {}


def test_read_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.yaml: parameters file not found"):
        read_yaml(tmp_path / "nope.yaml")
    assert read_yaml(tmp_path / "nope.yaml", required=False) is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("x: [1,\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML"):
        read_yaml(bad)
    bad.write_bytes("x: 客户".encode("gbk"))  # not UTF-8
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML"):
        read_yaml(bad)
    bad.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.yaml: expected a mapping of rules"):
        read_yaml(bad, expect="a mapping of rules")
    assert read_yaml(bad, expect=None) == [1, 2]


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("one", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "one"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "one"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]
