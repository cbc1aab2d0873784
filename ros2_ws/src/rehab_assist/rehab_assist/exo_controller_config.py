"""What every exoskeleton controller node is configured with: its parameters and their type.

Why apart from ``exo_controller_base``: the simulator and the ros2_control
adapter extend both with their own parameters; the shared ones are declared
once here (ROS parameters and the frozen config they are read into).
"""

from __future__ import annotations

from dataclasses import dataclass

from rehab_runtime.params import ParamSpec

CONTROLLER_PARAMS = (
    ParamSpec("max_level", 0.8, "level cap: higher requested levels are clamped to it", 0.0, 1.0),
    ParamSpec("max_duration_s", 5.0, "longest assist; longer goals are clamped, and goals "
              "with max_duration_s 0, < 0, NaN or inf are rejected", 0.05, 60.0),
    ParamSpec("perception_timeout_s", 0.5, "no reach_state for this long: running assists "
              "are released and new goals rejected", 0.01, 10.0),
    ParamSpec("control_hz", 50.0, "control loop (and feedback) rate; a stop is applied "
              "within one period", 5.0, 1000.0),
    ParamSpec("goal_key_file", "~/.config/rehab/exo_goal.key", "shared HMAC key of the "
              "policy node (created, random, mode 0600, when missing)"),
    ParamSpec("operator_token_file", "~/.config/rehab/operator.token", "operator token "
              "that ~/reset_emergency_stop requires (never created: no file, no reset)"),
    ParamSpec("estop_latch_file", "", "file that keeps the e-stop latched across restarts "
              "('' = ~/.local/state/rehab/<node name>.estop)"),
    ParamSpec("signature_window_s", 2.0, "goal stamps older or newer than this are refused",
              0.1, 60.0),
    ParamSpec("goal_queue_depth", 1000, "goal / cancel / result requests queued (each is "
              "answered at once; beyond this DDS drops the oldest)", 10, 100000),
)


@dataclass(frozen=True)
class ControllerConfig:
    """``CONTROLLER_PARAMS``, plus ``ramp_s``/``release_s`` that each controller declares with
    its own defaults (the base reads them into its limits)."""

    max_level: float
    max_duration_s: float
    perception_timeout_s: float
    control_hz: float
    goal_key_file: str
    operator_token_file: str
    estop_latch_file: str
    signature_window_s: float
    goal_queue_depth: int
    ramp_s: float
    release_s: float
