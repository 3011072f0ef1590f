"""perfkit.report.charts: CJK font set-up after seaborn, real minus signs, charts as offline SVG
widgets."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from browser_support import require  # noqa: E402

from perfkit.errors import RenderError  # noqa: E402
from perfkit.report import charts  # noqa: E402


def _font_or_skip() -> Path:
    try:
        return charts.find_cjk_font()
    except RenderError as exc:
        require(False, str(exc))
        raise


def test_find_cjk_font_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    font = tmp_path / "x.ttf"
    font.write_bytes(b"")
    monkeypatch.setenv(charts.FONT_ENV, str(font))
    assert charts.find_cjk_font() == font
    monkeypatch.setenv(charts.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(RenderError, match="PERFKIT_CJK_FONT points to a missing font file"):
        charts.find_cjk_font()


def test_find_cjk_font_none_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(charts.FONT_ENV, raising=False)
    monkeypatch.setattr(charts, "FONT_CANDIDATES", (str(tmp_path / "nope.ttc"), "py:no_such_mod:x"))
    with pytest.raises(
        RenderError, match="no CJK font found.*fonts-wqy-microhei.*PERFKIT_CJK_FONT"
    ):
        charts.find_cjk_font()


def test_setup_sets_cjk_font_after_seaborn_theme() -> None:
    path = _font_or_skip()
    family = charts.setup()
    rc = matplotlib.rcParams
    assert rc["font.sans-serif"][0] == family
    assert rc["axes.unicode_minus"] is False
    assert rc["svg.fonttype"] == "none"
    from matplotlib import font_manager

    found = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert Path(found).resolve() == path.resolve()


def test_chart_svg_keeps_chinese_text_and_real_minus() -> None:
    _font_or_skip()
    family = charts.setup()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["营业部甲", "营业部乙"], [-2.5, 1.5])
    ax.set_title("资产净流入")
    charts.format_axis(ax, "y", 1)
    widget = charts.chart_widget(fig, caption="<说明>")
    svg = widget.value
    assert not plt.fignum_exists(fig.number)
    assert svg.startswith('<div class="perfkit-chart"><svg class="perfkit-svg"')
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "资产净流入" in texts and "营业部甲" in texts
    assert "\u22122.0" in texts and not any(t.startswith("-") for t in texts)
    assert f"font-family: '{family}'" in svg
    assert re.search(r"https?://|<!DOCTYPE|<\?xml|<style", svg) is None
    assert '<div class="perfkit-caption">&lt;说明&gt;</div>' in svg
    fig2, ax2 = plt.subplots()
    ax2.plot([1, 2], [3, 4])
    assert charts.chart_html(fig2, fmt="png").count('src="data:image/png;base64,') == 1
    with pytest.raises(RenderError, match="chart format must be 'svg' or 'png', not 'gif'"):
        charts.chart_html(fig2, fmt="gif")


def test_chart_svg_is_deterministic() -> None:
    _font_or_skip()
    charts.setup()

    def draw() -> str:
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, -1, 2])
        return charts.chart_html(fig)

    assert draw() == draw()


def test_nice_ticks_are_round_and_cover_the_range():
    from perfkit.report.charts import nice_ticks

    assert nice_ticks(4.2, 15.8) == [0, 5, 10, 15, 20]
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert nice_ticks(-3, 3) == [-4, -2, 0, 2, 4]
    assert nice_ticks(5, 5) == [4.5, 4.75, 5.0, 5.25, 5.5]  # a flat line gets a ±10 % band


def test_trend_svg_escapes_breaks_on_missing_and_draws_target():
    from perfkit.report.charts import trend_svg

    svg = trend_svg([("2026-08", 1.0), ("2026-09", float("nan")), ("2026-10", -2.5)],
                    title="<b>流失率</b>", decimals=1, suffix="%", target=2.0)
    assert "&lt;b&gt;流失率&lt;/b&gt;" in svg and "<b>" not in svg
    assert "<polyline" not in svg  # the missing month leaves no two adjacent points
    assert svg.count("<circle") == 2
    assert "目标 2.0%" in svg and "\u22122.5%" in svg  # real minus sign
    assert "http" not in svg
    assert "无数据" in trend_svg([("2026-10", None)], title="x")


def test_bars_svg_draws_each_entity_in_order_with_values_and_reference():
    import re

    import pandas as pd

    from perfkit.report.charts import bars_svg

    items = [("张伟", 12.5), ("<王>", -3.25), ("李娜", float("nan")), ("赵敏", pd.NA), ("陈静", 40.0)]
    svg = bars_svg(items, title="资产净流入（万元）", decimals=1, ref=10.0, ref_label="本营业部")
    assert "http" not in svg and "<王>" not in svg
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end" font-size="11"[^>]*>([^<]*)<',
                        svg)
    assert labels == ["张伟", "&lt;王&gt;", "李娜", "赵敏", "陈静"]  # top to bottom as given
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]*)</title>',
                      svg)
    assert [t for _, _, t in bars] == ["张伟：12.5", "&lt;王&gt;：\u22123.2", "陈静：40.0"]
    (x1, w1, _), (x2, w2, _), (x3, w3, _) = [(float(x), float(w), t) for x, w, t in bars]
    assert abs(x1 - (x2 + w2)) < 0.2  # the negative bar ends where the positive ones start (zero)
    assert abs(w3 / w1 - 40 / 12.5) < 0.01  # lengths proportional to the values
    assert svg.count("—") == 2  # the two missing values
    assert "本营业部 10.0" in svg and 'stroke-dasharray="5 4"' in svg
    assert "stroke-dasharray" not in bars_svg(items, title="x", ref=float("nan"))
    long = bars_svg([("上海张杨路证券营业部" * 4, 1.0)], title="x")
    assert "…" in long  # a label wider than 40 % of the chart is cut
