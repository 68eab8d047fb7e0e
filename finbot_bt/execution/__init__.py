"""The engine-agnostic execution layer: simulator, latency queue, matching, costs, accounting.

Depends on ``finbot_bt.contracts`` only. It must never import backtrader (a
test enforces it), read the wall clock, or use the global random module.
"""

from finbot_bt.execution.accounting import Portfolio
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.commission import (
    CommissionModel,
    FixedCommission,
    NoCommission,
    PercentCommission,
    PerContractCommission,
    PerShareCommission,
)
from finbot_bt.execution.fills import (
    BarPercentCap,
    FillConfig,
    FixedSizeCap,
    ParticipationCap,
    VolumeCap,
)
from finbot_bt.execution.queue import ActionKind, PendingAction, PendingActionQueue
from finbot_bt.execution.risk import RiskBreach, RiskChecker, RiskEngine
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.slippage import (
    BasisPointsSlippage,
    FixedAmountSlippage,
    NoSlippage,
    PercentSlippage,
    SlippageModel,
    VolumeShareSlippage,
)

__all__ = [
    "ActionKind", "BarPercentCap", "BasisPointsSlippage", "CheckpointManager", "CommissionModel",
    "ExecutionSimulator",
    "FillConfig", "FixedAmountSlippage", "FixedCommission", "FixedSizeCap", "NoCommission",
    "NoSlippage", "ParticipationCap", "PendingAction", "PendingActionQueue", "PerContractCommission",
    "PerShareCommission", "PercentCommission", "PercentSlippage", "Portfolio", "SlippageModel",
    "VolumeCap", "VolumeShareSlippage", "RiskBreach", "RiskChecker", "RiskEngine",
]
