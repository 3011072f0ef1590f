"""CSV download links in reports: a data URI holding UTF-8 with BOM (Excel opens Chinese correctly)."""

from __future__ import annotations

import base64
import io
import re

import pandas as pd

from perfkit.report.widgets import csv_download


def test_csv_link_decodes_to_bom_header_and_values():
    df = pd.DataFrame({"员工姓名": ["张伟", "李娜"], "绩效工资": [605.5, 318.96], "说明": ["700 元 × 86.5%", "a,\"b\""]})
    w = csv_download(df, "绩效工资 2026-10.csv")
    m = re.search(r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"', w.value)
    assert m and m.group(1) == "绩效工资 2026-10.csv"
    raw = base64.b64decode(m.group(2))
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "员工姓名,绩效工资,说明"
    back = pd.read_csv(io.StringIO(text))
    assert back["员工姓名"].tolist() == ["张伟", "李娜"]
    assert back["绩效工资"].tolist() == [605.5, 318.96]
    assert back["说明"].tolist() == ["700 元 × 86.5%", 'a,"b"']
    assert "下载 CSV" in w.value


def test_filename_is_escaped():
    w = csv_download(pd.DataFrame({"a": [1]}), 'x"><script>.csv')
    assert "<script>" not in w.value
