"""The node worker: arq lanes of a storage node, its job functions and its app client."""

from .lanes import LANES, node_worker_settings, queue_name
from .runner import check_node_worker, run_node_worker

__all__ = ["LANES", "check_node_worker", "node_worker_settings", "queue_name", "run_node_worker"]
