"""The progress bar of ``finbot-bt run`` (a Backtrader analyzer, so it lives in the broker package)."""

from finbot_bt.broker.progress import WIDTH, ProgressBar, progress_enabled

__all__ = ["WIDTH", "ProgressBar", "progress_enabled"]
