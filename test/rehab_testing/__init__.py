"""Helpers every test tree shares: where the repository and ../shared are, ROS domains, waits.

Why one package: the three test trees (``test/`` and each ``ros2_ws/src/*/test``)
had their own copies of these, reached through ``sys.path`` inserts. pytest
puts ``test/`` on the path (``pythonpath`` in pyproject.toml) and loads the
fixtures from :mod:`rehab_testing.plugin` (the root ``conftest.py``).
"""

from __future__ import annotations

from rehab_testing.paths import REPO_ROOT, shared_path
from rehab_testing.ros import module_domain_id, poll, wait_for

__all__ = ["REPO_ROOT", "module_domain_id", "poll", "shared_path", "wait_for"]
