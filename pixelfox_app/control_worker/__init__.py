"""The control worker (arq on the control queue) and its jobs."""

from .sweeper import STUCK_AFTER, sweep_stuck_images
from .worker import (
    CONTROL_FUNCTIONS,
    check_control_worker,
    control_worker_settings,
    run_control_worker,
)

__all__ = [
    "CONTROL_FUNCTIONS",
    "STUCK_AFTER",
    "check_control_worker",
    "control_worker_settings",
    "run_control_worker",
    "sweep_stuck_images",
]
