"""The report writer: files exist, PNGs are valid, the HTML holds every figure and table."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from finbot_bt import FinbotBroker
from finbot_bt.reports import FIGURE_NAMES, ReportData, write_report
from finbot_bt.runner.backtest import RunResult, run_backtest, sample_frames
from finbot_bt.runner.demo import realistic_broker
from finbot_bt.runner.strategies import SmaCross
from finbot_bt.runner.summary import summary_frame

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def realistic() -> RunResult:
    return run_backtest(SmaCross, sample_frames(), broker=realistic_broker(), label="realistic")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_write_report_when_run_has_fills_and_rejections_then_all_files_written(
        tmp_path: Path, realistic: RunResult) -> None:
    files = write_report(realistic.broker, tmp_path / "rep", prices=realistic.prices,
                         summary=summary_frame([realistic.summary]))
    assert files.html == tmp_path / "rep" / "report.html"
    assert set(files.figures) == set(FIGURE_NAMES)
    for name, path in files.figures.items():
        assert path == tmp_path / "rep" / f"{name}.png"
        width, height = _png_size(path.read_bytes())
        # The rejections chart is as tall as its reasons need (two here), the others at least 300 px.
        assert width >= 600 and height >= (150 if name == "rejections" else 300)


def test_html_when_written_then_self_contained_with_figures_and_tables(tmp_path: Path, realistic: RunResult) -> None:
    files = write_report(realistic.broker, tmp_path, prices=realistic.prices,
                         summary=summary_frame([realistic.summary]), title="My <run>")
    page = files.html.read_text()
    assert "<title>My &lt;run&gt;</title>" in page
    images = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert [name for name, _ in images] == list(FIGURE_NAMES)
    for name, encoded in images:
        assert base64.b64decode(encoded) == files.figures[name].read_bytes()
    for heading in ("Equity and drawdown", "Monthly returns", "Price with fills and rejected orders",
                    "Latency distribution", "Slippage and commission over time", "Rejections by reason"):
        assert heading in page
    for table in ("summary", "orders", "fills", "rejections"):
        assert f'id="{table}"' in page
    fills = realistic.broker.fills_frame()
    rejections = realistic.broker.rejections_frame()
    assert f"Fills ({len(fills)})" in page and f"Rejections ({len(rejections)})" in page
    assert "risk_position_limit" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_write_report_when_written_twice_then_identical_bytes(tmp_path: Path, realistic: RunResult) -> None:
    first = write_report(realistic.broker, tmp_path / "a", prices=realistic.prices)
    second = write_report(realistic.broker, tmp_path / "b", prices=realistic.prices)
    assert first.html.read_bytes() == second.html.read_bytes()


def test_write_report_when_no_orders_then_placeholders_not_errors(tmp_path: Path) -> None:
    import backtrader as bt

    class Idle(bt.Strategy):  # type: ignore[misc]
        pass

    result = run_backtest(Idle, sample_frames(), broker=FinbotBroker())
    files = write_report(result.broker, tmp_path, datas=result.strategy.datas)
    page = files.html.read_text()
    assert "Fills (0)" in page and '<p class="note" id="fills">none</p>' in page
    for path in files.figures.values():
        _png_size(path.read_bytes())


def test_report_data_when_from_datas_then_prices_keyed_by_feed_name(realistic: RunResult) -> None:
    data = ReportData.from_broker(realistic.broker, datas=realistic.strategy.datas)
    assert list(data.prices) == ["SYNTH"]
    assert len(data.prices["SYNTH"]) == 504


def test_cerebro_plot_when_headless_then_saves_figure(tmp_path: Path) -> None:
    import backtrader.plot  # noqa: F401  (it switches matplotlib to TkAgg on import)
    import matplotlib

    matplotlib.use("Agg", force=True)
    result = run_backtest(SmaCross, sample_frames(), broker=FinbotBroker(latency="normal"))
    figures: Any = result.cerebro.plot(iplot=False)
    figures[0][0].savefig(tmp_path / "cerebro.png")
    _png_size((tmp_path / "cerebro.png").read_bytes())


def test_lower_layers_when_parsed_then_never_import_reports_runner_or_cli() -> None:
    import ast

    import finbot_bt

    package = Path(finbot_bt.__file__).parent
    top = ("finbot_bt.reports", "finbot_bt.runner", "finbot_bt.cli")
    for layer in ("contracts", "execution", "broker"):
        for path in (package / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                assert not [n for n in names if n.startswith(top)], f"{path} imports {names}"


def test_html_when_tables_written_then_share_counts_whole_money_in_cents_missing_as_dash(
        tmp_path: Path, realistic: RunResult) -> None:
    page = write_report(realistic.broker, tmp_path, prices=realistic.prices).html.read_text()
    orders = page[page.index('id="orders"'):page.index("</table>", page.index('id="orders"'))]
    fills = realistic.broker.fills_frame()
    first = fills.iloc[0]
    assert f"<td>{int(first['quantity']):,}</td>" in page
    tables = page[page.index("<h2>Orders"):]  # the figures' base64 text may hold any letters
    assert ".0000</td>" not in tables and "None" not in tables and "NaN" not in tables and "NaT" not in tables
    assert f"<td>{first['commission']:,.2f}</td>" in page
    assert "<td>-</td>" in orders  # market orders have no limit price
    assert page.count('<div class="table-wrap">') == 3  # orders, fills, rejections scroll in their own box


def test_summary_when_html_and_terminal_then_same_missing_marker(realistic: RunResult) -> None:
    from finbot_bt.runner.summary import MISSING, format_table

    frame = summary_frame([realistic.summary])
    assert frame.loc["trades", "buy & hold SYNTH"] == MISSING
    assert f"  {MISSING}\n" in format_table([realistic.summary]).split("\n\n")[0] + "\n"


def test_write_demo_report_when_written_then_both_runs_in_summary_equity_and_monthly(tmp_path: Path) -> None:
    from finbot_bt.runner.demo import DEFAULT_LABEL, REALISTIC_LABEL, run_demo, write_demo_report

    default, realistic = run_demo()
    files = write_demo_report(default, realistic, tmp_path / "demo")
    alone = write_report(realistic.broker, tmp_path / "alone", prices=realistic.prices, label=REALISTIC_LABEL)
    page = files.html.read_text()
    for column in (DEFAULT_LABEL, REALISTIC_LABEL, "buy &amp; hold SYNTH"):
        assert f"<th>{column}</th>" in page
    assert files.figures["equity"].read_bytes() != alone.figures["equity"].read_bytes()
    _, alone_height = _png_size(alone.figures["monthly"].read_bytes())
    _, demo_height = _png_size(files.figures["monthly"].read_bytes())
    assert demo_height > alone_height  # one heatmap panel more: the default run's
