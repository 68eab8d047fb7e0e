"""The report's figures on hand-made frames: time axis, shared x-range, dense markers, ticks, both runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from finbot_bt.broker.frames import FILL_COLUMNS, ORDER_COLUMNS, REJECTION_COLUMNS
from finbot_bt.reports import ReportData, write_report
from finbot_bt.reports import figures as fg

# Two sessions of 5-minute bars with a night between them.
SESSION = [pd.Timestamp("2024-03-01 09:30") + pd.Timedelta(minutes=5 * k) for k in range(78)]
TIMES = pd.DatetimeIndex(SESSION + [t + pd.Timedelta(days=3) for t in SESSION])  # Friday, then Monday


def _fills(count: int, times: pd.DatetimeIndex = TIMES, symbol: str = "ES") -> pd.DataFrame:
    rng = np.random.default_rng(count)
    at = np.sort(rng.choice(len(times), count))
    rows = {column: [None] * count for column in FILL_COLUMNS}
    fills = pd.DataFrame(rows)
    fills["timestamp"] = times[at]
    fills["reported_at"] = times[at]
    fills["order_id"] = [f"sim-{n}" for n in range(count)]
    fills["symbol"] = symbol
    fills["side"] = np.where(np.arange(count) % 2 == 0, "buy", "sell")
    fills["quantity"] = 10.0
    fills["price"] = 100.0 + at / 100
    fills["slippage_cost"] = 0.5
    fills["commission"] = 1.0
    fills["latency_seconds"] = 0.1
    fills["position_quantity"] = 10.0
    fills["is_partial"] = False
    return fills


def _closes(times: pd.DatetimeIndex = TIMES) -> pd.DataFrame:
    return pd.DataFrame({"close": 100.0 + np.arange(len(times)) / 100}, index=times)


def _equity(times: pd.DatetimeIndex = TIMES, start: float = 1000.0) -> pd.DataFrame:
    return pd.DataFrame({"cash": start, "value": start + np.arange(len(times), dtype=float)}, index=times)


def _drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()
    return fig


def _markers(fig: Figure) -> list[int]:
    return [len(c.get_offsets()) for ax in fig.axes for c in ax.collections if isinstance(c, PathCollection)]


def test_price_figure_when_intraday_bars_then_drawn_on_bar_index_without_night_gap() -> None:
    fig = fg.price_figure({"ES": _closes()}, _fills(5), pd.DataFrame(columns=REJECTION_COLUMNS))
    x = fig.axes[0].lines[0].get_xdata()
    assert list(x) == list(range(len(TIMES)))  # the night and weekend take no room
    labels = [t.get_text() for t in _drawn(fig).axes[0].get_xticklabels() if t.get_text()]
    assert labels and all(":" in label and "2024-03-0" in label for label in labels)


def test_bar_axis_when_times_between_bars_then_last_bar_at_or_before() -> None:
    axis = fg.BarAxis(TIMES)
    at = pd.DatetimeIndex(["2024-03-01 09:00", "2024-03-01 09:37", "2024-03-02 12:00", "2024-03-04 09:30"])
    assert list(axis.positions(at)) == [0.0, 1.0, 77.0, 78.0]


def test_time_figures_when_one_run_then_same_x_range() -> None:
    axis = fg.BarAxis(TIMES)
    fills = _fills(3, TIMES[10:40])  # fills cover only part of the run
    ranges = {
        "equity": fg.equity_figure(_equity(), axis=axis).axes[-1].get_xlim(),
        "price": fg.price_figure({"ES": _closes()}, fills, pd.DataFrame(columns=REJECTION_COLUMNS),
                                 axis=axis).axes[0].get_xlim(),
        "costs": fg.costs_figure(fills, axis=axis).axes[0].get_xlim(),
    }
    assert set(ranges.values()) == {(-0.5, len(TIMES) - 0.5)}


def test_price_figure_when_fills_above_threshold_then_grouped_into_buckets() -> None:
    dense = _fills(4 * fg.MAX_MARKERS)
    fig = fg.price_figure({"ES": _closes()}, dense, pd.DataFrame(columns=REJECTION_COLUMNS))
    counts = _markers(fig)
    assert len(counts) == 2 and all(0 < n <= fg.MARKER_BUCKETS for n in counts)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"buy fill ({2 * fg.MAX_MARKERS}, grouped)" in legend


def test_price_figure_when_few_fills_then_one_marker_each() -> None:
    fig = fg.price_figure({"ES": _closes()}, _fills(20), pd.DataFrame(columns=REJECTION_COLUMNS))
    assert sorted(_markers(fig)) == [10, 10]


def test_rejections_figure_when_few_rejections_then_integer_ticks() -> None:
    rejections = pd.DataFrame({"reason": ["risk_position_limit", "risk_drawdown_limit"]})
    ticks = _drawn(fg.rejections_figure(rejections)).axes[0].get_xticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def test_equity_figure_when_compared_runs_and_benchmark_then_all_drawn_and_labelled() -> None:
    other = _equity(start=900.0)
    bench = pd.Series(np.linspace(1000.0, 1100.0, len(TIMES)), index=TIMES)
    fig = fg.equity_figure(_equity(), label="realistic", others=[("default", other)], benchmark=bench,
                           benchmark_label="buy & hold ES")
    top = fig.axes[0]
    assert [line.get_label() for line in top.lines] == ["realistic", "default", "buy & hold ES"]
    assert list(top.lines[1].get_ydata()) == list(other["value"])


def test_monthly_figure_when_two_series_then_one_panel_each_with_cell_labels() -> None:
    months = (((2024, 1), 1.5), ((2024, 2), -2.0), ((2025, 1), 0.25))
    fig = fg.monthly_figure([("run", months), ("buy & hold", months[:1])])
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].texts] == ["+1.5", "-2.0", "+0.2"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["2024", "2025"]


def test_write_report_when_nothing_to_draw_then_figures_left_out_with_notes(tmp_path: Path) -> None:
    empty = ReportData(orders=pd.DataFrame(columns=ORDER_COLUMNS), fills=pd.DataFrame(columns=FILL_COLUMNS),
                       rejections=pd.DataFrame(columns=REJECTION_COLUMNS), equity=_equity(),
                       prices={"ES": _closes()})
    (tmp_path / "rejections.png").write_bytes(b"stale")  # from an earlier report in the same folder
    files = write_report(empty, tmp_path)
    assert set(files.figures) == {"equity", "monthly", "price"}
    assert not (tmp_path / "rejections.png").exists()
    page = files.html.read_text()
    for name in ("latency", "costs", "rejections"):
        assert f'<p class="note" id="no-{name}">' in page
        assert f'alt="{name}"' not in page


def test_write_report_when_compare_given_then_equity_figure_draws_both_runs(tmp_path: Path) -> None:
    data = ReportData(orders=pd.DataFrame(columns=ORDER_COLUMNS), fills=_fills(4),
                      rejections=pd.DataFrame(columns=REJECTION_COLUMNS), equity=_equity(),
                      prices={"ES": _closes()})
    one = write_report(data, tmp_path / "one", label="realistic")
    two = write_report(data, tmp_path / "two", label="realistic", compare={"default": _equity(start=900.0)})
    assert one.figures["equity"].read_bytes() != two.figures["equity"].read_bytes()
    assert one.figures["monthly"].read_bytes() != two.figures["monthly"].read_bytes()  # a panel per run


def test_write_report_when_compare_is_not_a_run_then_clear_error(tmp_path: Path) -> None:
    data = ReportData(orders=pd.DataFrame(columns=ORDER_COLUMNS), fills=_fills(4),
                      rejections=pd.DataFrame(columns=REJECTION_COLUMNS), equity=_equity())
    with pytest.raises(TypeError, match=r"compare\['x'\] is int; expected a FinbotBroker"):
        write_report(data, tmp_path, compare={"x": 3})
    with pytest.raises(ValueError, match="no 'value' column"):
        write_report(data, tmp_path, compare={"x": pd.DataFrame({"cash": [1.0]})})
