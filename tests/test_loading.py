"""Data loading: strict values, Yahoo adjustment as Backtrader's feed, zero-volume warnings, frames."""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.data_checks import ZeroVolumeWarning
from finbot_bt.broker.strategies import SmaCross
from finbot_bt.data import sample_path
from finbot_bt.errors import ConfigError
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.runner.backtest import run_backtest, sample_frames
from finbot_bt.runner.errors import DataError
from finbot_bt.runner.loading import load_ohlcv, normalise, price_note
from tests.bt_harness import make_ohlcv, pandas_feed


def write_yahoo(path: Path, rows: int = 300) -> Path:
    """The bundled data with an Adj Close that differs from Close (a dividend-like step), Yahoo layout."""
    frame = pd.read_csv(sample_path(), dtype=str).head(rows)
    factor = [0.93712 if i < rows // 2 else 0.98113 for i in range(rows)]
    frame["Adj Close"] = [str(round(float(c) * f, 6)) for c, f in zip(frame["Close"], factor, strict=True)]
    frame.loc[7, ["Open", "High", "Low", "Close", "Adj Close", "Volume"]] = "null"  # Yahoo's missing row
    frame.to_csv(path, index=False)
    return path


def test_load_ohlcv_when_adjust_yahoo_then_equals_yahoo_finance_csv_data_bar_by_bar(tmp_path: Path) -> None:
    path = write_yahoo(tmp_path / "y.csv")
    ours = load_ohlcv(path, adjust="yahoo")
    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.YahooFinanceCSVData(dataname=str(path))
    cerebro.adddata(data)

    class Record(bt.Strategy):
        def __init__(self) -> None:
            self.rows: list[tuple[float, ...]] = []

        def next(self) -> None:
            d = self.data
            self.rows.append((d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))

    cerebro.addstrategy(Record)
    theirs = cerebro.run()[0].rows
    assert len(theirs) == len(ours) == 299  # the null row is skipped by both
    assert theirs == list(ours[["open", "high", "low", "close", "volume"]].itertuples(index=False, name=None))
    assert ours["close"].iloc[0] == round(104.21 * 0.93712, 2) == 97.66


def test_load_ohlcv_when_adjust_yahoo_without_adj_close_then_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bt.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2023-01-02,1,2,1,1.5,10\n")
    with pytest.raises(DataError, match="adjust='yahoo' needs an 'Adj Close' column"):
        load_ohlcv(path, adjust="yahoo")


def test_price_note_when_raw_or_adjusted_then_says_which(tmp_path: Path) -> None:
    path = write_yahoo(tmp_path / "y.csv")
    plain = tmp_path / "plain.csv"
    plain.write_text("Date,Open,High,Low,Close,Volume\n2023-01-02,1,2,1,1.5,10\n")
    assert "adjusted by Adj Close" in price_note([load_ohlcv(path, adjust="yahoo")])
    assert "Adj Close ignored" in price_note([load_ohlcv(sample_path())])
    assert price_note([load_ohlcv(plain)]) == "prices: raw, as in the files"


@pytest.mark.parametrize(("row", "column", "value", "expected"), [
    (2, "Close", "inf", "price inf is not finite"),
    (3, "Open", "-1", "price -1.0 is not above 0"),
    (1, "Low", "0", "price 0.0 is not above 0"),
    (4, "High", "1e308", "is absurd"),
    (2, "High", "0.5", "high 0.5 is below low"),
    (3, "Volume", "-10", "volume -10.0 is negative"),
    (1, "Volume", "lots", "non-numeric value 'lots'"),
    (2, "Close", "", "empty"),
], ids=["inf", "negative", "zero", "absurd", "high-below-low", "negative-volume", "text-volume", "empty-price"])
def test_load_ohlcv_when_bad_value_then_data_error_naming_row_and_column(
        tmp_path: Path, row: int, column: str, value: str, expected: str) -> None:
    frame = pd.DataFrame({"Date": ["2023-01-02", "2023-01-03", "2023-01-04", "2023-01-05"],
                          "Open": ["10"] * 4, "High": ["11"] * 4, "Low": ["9"] * 4, "Close": ["10.5"] * 4,
                          "Volume": ["100"] * 4})
    frame.loc[row - 1, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as caught:
        load_ohlcv(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: row {row} (line {row + 1}), ")
    assert f"column {column.lower()!r}" in message and expected in message


def test_normalise_when_frame_then_rows_counted_from_one_without_lines() -> None:
    frame = make_ohlcv(5)
    frame.iloc[3, 1] = float("nan")
    with pytest.raises(DataError, match=r"^mine: row 4, 2021-01-07 00:00:00, column 'high': empty$"):
        normalise(frame, "mine")


def test_run_backtest_when_mapping_or_pairs_then_same_result() -> None:
    pairs = sample_frames()
    by_pairs = run_backtest(SmaCross, pairs, stdstats=False).summary
    by_mapping = run_backtest(SmaCross, dict(pairs), stdstats=False).summary
    assert by_mapping == by_pairs and by_pairs.fills > 0


@pytest.mark.parametrize(("frames", "expected"), [
    (make_ohlcv(5), "got DataFrame"),
    ([make_ohlcv(5)], r"frames\[0\] must be a \(name, DataFrame\) pair with a str name, got DataFrame"),
    ([(1, make_ohlcv(5))], r"got \(int, DataFrame\)"),
    ([("A", make_ohlcv(5)), ("A", make_ohlcv(5))], "names 'A' twice"),
    ({}, "frames is empty"),
], ids=["frame", "list-of-frames", "int-name", "duplicate", "empty"])
def test_run_backtest_when_frames_not_pairs_or_mapping_then_config_error(frames: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        run_backtest(SmaCross, frames, stdstats=False)  # type: ignore[arg-type]


def _cerebro(frames: dict[str, pd.DataFrame], fill: FillConfig | None) -> FinbotBroker:
    cerebro = bt.Cerebro(stdstats=False)
    for name, frame in frames.items():
        cerebro.adddata(pandas_feed(frame, name=name))
    broker = FinbotBroker(fill=fill)
    cerebro.setbroker(broker)
    cerebro.addstrategy(SmaCross)
    cerebro.run()
    return broker


def test_broker_when_volume_cap_meets_feed_without_volume_then_one_warning_per_feed() -> None:
    silent = make_ohlcv(80, seed=3)
    silent["volume"] = 0.0
    cap = FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1")))
    with pytest.warns(ZeroVolumeWarning) as caught:
        broker = _cerebro({"FX": silent, "EQ": make_ohlcv(80, seed=4)}, cap)
    assert len(caught) == 1 and "'FX'" in str(caught[0].message) and "ParticipationCap" in str(caught[0].message)
    assert broker.data_warnings == (str(caught[0].message),)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZeroVolumeWarning)
        assert _cerebro({"FX": silent}, None).data_warnings == ()  # no cap: volume does not matter
        assert _cerebro({"EQ": make_ohlcv(80, seed=4)}, cap).data_warnings == ()


def test_broker_when_volume_cap_and_exactbars_then_the_zero_volume_check_reads_the_ring_buffer() -> None:
    # With exactbars the lines are deques (no slicing): the check used to raise TypeError at the first bar.
    silent = make_ohlcv(40, seed=3)
    silent["volume"] = 0.0
    cerebro = bt.Cerebro(stdstats=False, exactbars=1)
    cerebro.adddata(pandas_feed(silent, name="FX"))
    broker = FinbotBroker(fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1"))))
    cerebro.setbroker(broker)
    cerebro.addstrategy(SmaCross)
    with pytest.warns(ZeroVolumeWarning):
        cerebro.run()
    assert len(broker.data_warnings) == 1
