"""Reports of a finished run: PNG figures and one self-contained HTML file.

The top layer, next to :mod:`finbot_bt.cli`: it may import ``finbot_bt.broker``
and backtrader; nothing below it may import it. Figures are drawn on
:class:`matplotlib.figure.Figure` with the Agg canvas directly, never through
``pyplot``, so they work headless and do not touch the user's backend.

>>> from finbot_bt.reports import write_report
>>> files = write_report(cerebro.broker, "report/", datas=cerebro.datas)  # doctest: +SKIP
>>> files.html  # doctest: +SKIP
PosixPath('report/report.html')
"""

from finbot_bt.reports.data import ReportData, prices_from_datas
from finbot_bt.reports.writer import FIGURE_NAMES, ReportFiles, write_report

__all__ = ["FIGURE_NAMES", "ReportData", "ReportFiles", "prices_from_datas", "write_report"]
