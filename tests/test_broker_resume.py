"""Paper trading across processes: stop after day N, resume from the checkpoint, same result.

The strategy's decisions depend only on each bar and on its position, so an
uninterrupted run and a run split into sessions must give the same order
notifications (bar date, status, sizes, prices, commissions), the same fills
and the same final book.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.errors import CheckpointError, ConfigError
from finbot_bt.execution.journal import FlushPolicy, JournalConfig
from tests.bt_harness import make_ohlcv, same

FRAME = make_ohlcv(90, seed=31)
O = bt.Order  # noqa: E741


class BarRule(bt.Strategy):
    """Decides from the current bar and the position only."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def notify_order(self, order: Any) -> None:
        self.log.append((self.data.datetime.datetime(0).isoformat(), order.getstatusname(), order.getordername(),
                         order.ordtypename(), order.created.size, order.executed.size,
                         round(order.executed.price, 6), round(order.executed.comm, 6)))

    def notify_trade(self, trade: Any) -> None:
        # Trades too: one opened before a stop must close after the resume with its whole P&L.
        self.log.append((self.data.datetime.datetime(0).isoformat(), "trade", trade.status_names[trade.status],
                         trade.size, round(trade.price, 6), round(trade.value, 6), round(trade.commission, 6),
                         round(trade.pnl, 6), round(trade.pnlcomm, 6), trade.barlen, trade.dtopen))

    def next(self) -> None:
        close, open_ = self.data.close[0], self.data.open[0]
        day = self.data.datetime.date(0).toordinal()
        if not self.position and close > open_:
            self.buy(size=10)
            self.sell(size=10, exectype=O.Limit, price=round(close * 1.03, 2))  # a resting take-profit
        elif self.position and close < open_ * 0.995:
            self.close()
        if day % 5 == 0:
            self.buy(size=3, exectype=O.Limit, price=round(close * 0.97, 2), valid=dt.timedelta(days=4))


def _session(frame: pd.DataFrame, *, intraday: bool = False,
             **broker: Any) -> tuple[list[tuple[Any, ...]], FinbotBroker]:
    cerebro = bt.Cerebro()
    feed = dict(timeframe=bt.TimeFrame.Minutes, compression=5) if intraday else {}
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, name="A", **feed))
    finbot = FinbotBroker(**broker)
    cerebro.setbroker(finbot)
    cerebro.addstrategy(BarRule)
    cerebro.broker.setcommission(commission=0.001)
    strategy = cerebro.run()[0]
    return strategy.log, finbot


def _book(broker: FinbotBroker) -> dict[str, Any]:
    return {"cash": broker.getcash(), "value": broker.getvalue(),
            "positions": {s: (float(p.quantity), float(p.avg_price)) for s, p in broker.sim.positions().items()},
            "open": sorted(o.order_id for o in broker.sim.open_orders())}


@pytest.mark.parametrize("latency", ["instant", "normal"])
@pytest.mark.parametrize("split", [7, 23, 40, 61])
def test_resume_when_session_split_at_day_n_then_same_notifications_and_book(
    tmp_path: Path, latency: str, split: int
) -> None:
    whole, reference = _session(FRAME, latency=latency, simulator_id="paper")
    kwargs = dict(latency=latency, checkpoint_dir=tmp_path, simulator_id="paper", resume=True,
                  journal=JournalConfig(flush=FlushPolicy.EVERY_N, every=50))
    first, _ = _session(FRAME.iloc[:split], **kwargs)
    second, resumed = _session(FRAME.iloc[split:], **kwargs)
    assert resumed.resumed
    assert same(first + second, whole)
    assert same(_book(resumed), _book(reference))


def test_resume_when_three_sessions_in_separate_processes_then_same_as_one_run(tmp_path: Path) -> None:
    script = tmp_path / "session.py"
    script.write_text(
        "import json, sys\n"
        "import pandas as pd\n"
        f"sys.path.insert(0, {str(Path(__file__).parent.parent)!r})\n"
        "from tests.test_broker_resume import _session, _book\n"
        "frame = pd.read_pickle(sys.argv[1])\n"
        "log, broker = _session(frame, latency='fast', checkpoint_dir=sys.argv[2], simulator_id='p', resume=True)\n"
        "print(json.dumps({'log': log, 'book': _book(broker)}))\n"
    )
    outputs = []
    for part in (FRAME.iloc[:30], FRAME.iloc[30:55], FRAME.iloc[55:]):
        path = tmp_path / f"part{len(outputs)}.pkl"
        part.to_pickle(path)
        done = subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "ckpt")],
                              capture_output=True, text=True, check=True)
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    whole, reference = _session(FRAME, latency="fast", simulator_id="p")
    joined = [tuple(entry) for out in outputs for entry in out["log"]]
    first_difference = next(((a, b) for a, b in zip(joined, whole, strict=False) if not same(a, b)), None)
    assert first_difference is None and len(joined) == len(whole), first_difference
    assert same(outputs[-1]["book"], json.loads(json.dumps(_book(reference))))


def test_resume_when_checkpoint_every_n_bars_then_files_written_and_latest_resumes(tmp_path: Path) -> None:
    _session(FRAME.iloc[:40], checkpoint_dir=tmp_path, simulator_id="k", checkpoint_every=10, keep_last=None)
    files = sorted((tmp_path / "k").glob("*.json"))
    assert len(files) >= 4
    assert (tmp_path / "k" / "journal.jsonl").stat().st_size > 0


def test_resume_when_keep_last_default_then_three_newest_checkpoints_kept(tmp_path: Path) -> None:
    _session(FRAME.iloc[:60], checkpoint_dir=tmp_path, simulator_id="k", checkpoint_every=10)
    files = sorted(p.name for p in (tmp_path / "k").glob("*.json"))
    assert len(files) == 3
    assert (tmp_path / "k" / "LATEST").read_text().strip() == files[-1]


def test_resume_when_data_names_differ_then_clear_checkpoint_error(tmp_path: Path) -> None:
    _session(FRAME.iloc[:20], checkpoint_dir=tmp_path, simulator_id="n")
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=FRAME.iloc[20:], name="B"))
    cerebro.setbroker(FinbotBroker(checkpoint_dir=tmp_path, simulator_id="n", resume=True))
    cerebro.addstrategy(BarRule)
    with pytest.raises(CheckpointError, match="'A'"):
        cerebro.run()


def test_resume_when_journal_off_then_no_journal_and_resume_still_exact(tmp_path: Path) -> None:
    whole, _ = _session(FRAME, simulator_id="j")
    first, _ = _session(FRAME.iloc[:33], checkpoint_dir=tmp_path, simulator_id="j", journal=False)
    second, _ = _session(FRAME.iloc[33:], checkpoint_dir=tmp_path, simulator_id="j", journal=False, resume=True)
    assert not (tmp_path / "j" / "journal.jsonl").exists()
    assert same(first + second, whole)


def test_resume_when_journal_setting_is_wrong_type_then_config_error() -> None:
    with pytest.raises(ConfigError, match="journal must be a JournalConfig"):
        FinbotBroker(journal="fast")


MINUTES = make_ohlcv(120, seed=41, start=dt.datetime(2021, 3, 1, 9, 35), step=dt.timedelta(minutes=5))


class ClockRule(BarRule):
    """Flat most of the time: enters on bars whose minute of the day is a multiple of 35, exits 15 later."""

    def next(self) -> None:
        stamp = self.data.datetime.datetime(0)
        minute = stamp.hour * 60 + stamp.minute
        if not self.position and minute % 35 == 0:
            self.buy(size=5)
        elif self.position and minute % 35 == 15:
            self.close()


def _intraday(frame: pd.DataFrame, **broker: Any) -> tuple[list[tuple[Any, ...]], FinbotBroker]:
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, name="A", timeframe=bt.TimeFrame.Minutes,
                                        compression=5))
    finbot = FinbotBroker(**broker)
    cerebro.setbroker(finbot)
    cerebro.addstrategy(ClockRule)
    return cerebro.run()[0].log, finbot


def _entry_bars() -> list[int]:
    return [i for i, stamp in enumerate(MINUTES.index) if (stamp.hour * 60 + stamp.minute) % 35 == 0]


@pytest.mark.parametrize("latency", ["instant", "fast"])
def test_resume_when_intraday_session_ends_on_an_entry_bar_then_the_order_keeps_its_timing(
    tmp_path: Path, latency: str
) -> None:
    # The simulator skips bars of a symbol with no orders and no position, so it never saw the
    # bar on which the entry is placed; the resumed broker must still know when that bar
    # closed, or the order would miss (or reach) the wrong bar.
    whole, reference = _intraday(MINUTES, latency=latency, simulator_id="m")
    assert any(entry[1] == "Completed" for entry in whole)
    for split in _entry_bars()[1:4]:
        folder = tmp_path / f"split{split}"
        kwargs = dict(latency=latency, checkpoint_dir=folder, simulator_id="m", resume=True, journal=False)
        first, _ = _intraday(MINUTES.iloc[: split + 1], **kwargs)   # the session's last bar is an entry bar
        second, resumed = _intraday(MINUTES.iloc[split + 1:], **kwargs)
        assert same(first + second, whole), f"split after bar {split}"
        assert same(_book(resumed), _book(reference))


def test_resume_when_a_trade_is_open_across_the_stop_then_it_closes_after_with_its_whole_pnl(
    tmp_path: Path,
) -> None:
    whole, _ = _session(FRAME, simulator_id="t")
    split = next(k for k in range(10, 80) if _open_at_end(FRAME.iloc[:k]))
    kwargs = dict(checkpoint_dir=tmp_path, simulator_id="t", resume=True)
    first, _ = _session(FRAME.iloc[:split], **kwargs)
    empty, _ = _session(FRAME.iloc[split:split], **kwargs)  # a session without a bar keeps the open trades
    assert empty == []
    second, _ = _session(FRAME.iloc[split:], **kwargs)
    closed_after = [entry for entry in second if entry[1] == "trade" and entry[2] == "Closed"]
    assert closed_after, "the scenario must close, after the resume, a trade opened before it"
    opened_before = [entry for entry in first if entry[1] == "trade" and entry[2] == "Open"]
    assert opened_before[-1][-1] == closed_after[0][-1]  # the same trade: opened at the same time
    assert same(first + second, whole)


def _open_at_end(frame: pd.DataFrame) -> bool:
    _, broker = _session(frame, simulator_id="probe")
    return any(p.quantity != 0 for p in broker.sim.positions().values())


class OtherRule(BarRule):
    pass


def test_resume_when_strategy_differs_and_a_trade_is_open_then_clear_checkpoint_error(tmp_path: Path) -> None:
    split = next(k for k in range(10, 80) if _open_at_end(FRAME.iloc[:k]))
    _session(FRAME.iloc[:split], checkpoint_dir=tmp_path, simulator_id="t", resume=True)
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=FRAME.iloc[split:], name="A"))
    cerebro.setbroker(FinbotBroker(checkpoint_dir=tmp_path, simulator_id="t", resume=True))
    cerebro.addstrategy(OtherRule)
    with pytest.raises(CheckpointError, match=r"open trades of strategy #0 'BarRule'.*\['OtherRule'\]"):
        cerebro.run()


class _Probe(bt.Strategy):
    """Records the types Backtrader's numbers have at each bar (a strategy's sizes depend on them)."""

    def __init__(self) -> None:
        self.types: list[tuple[str, ...]] = []

    def next(self) -> None:
        if len(self) == 2:
            self.buy(size=3)
        self.types.append((type(self.position.size).__name__, type(self.broker.startingcash).__name__,
                           type(self.broker.getcash()).__name__))


def test_resume_when_strategy_gave_ints_then_position_cash_and_startingcash_keep_their_int_type(
        tmp_path: Path) -> None:
    # Found by the crash test: a resumed position came back as 3.0, so close() sent 3.0, and the replay
    # stopped on "event differs from the journaled one" (quantity "3.0" against "3").
    def run(frame: pd.DataFrame) -> list[tuple[str, ...]]:
        cerebro = bt.Cerebro()
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, name="A"))
        cerebro.setbroker(FinbotBroker(cash=10_000, checkpoint_dir=str(tmp_path), simulator_id="types",
                                       resume=True))
        cerebro.addstrategy(_Probe)
        return list(cerebro.run()[0].types)

    first, second = run(FRAME.iloc[:5]), run(FRAME.iloc[:9])
    assert first[-1] == ("int", "int", "float")  # under BackBroker too: cash turns float at the first fill
    assert second and all(types == ("int", "int", "float") for types in second)
