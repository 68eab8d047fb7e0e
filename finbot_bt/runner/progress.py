"""The progress bar of ``finbot-bt run`` (a Backtrader analyzer, so it lives in the broker package)."""

from finbot_bt.broker.progress import ProgressBar, in_notebook, progress_enabled

__all__ = ["ProgressBar", "in_notebook", "progress_enabled"]
