"""Lab hosts on one machine that behave like small VPS, for end-to-end tests and Ansible."""

from pixelfox_lab.config import LabError
from pixelfox_lab.lab import HostStatus, Lab, LabStatus
from pixelfox_lab.procs import CommandError, HostProcess

__all__ = ["CommandError", "HostProcess", "HostStatus", "Lab", "LabError", "LabStatus"]
