"""ros2_control adapter: an ExoAssist goal becomes a JointTrajectory (JointTrajectoryController).

``assist_trajectory`` is the pure conversion (tested without ROS): the
side's joints move from their rest positions towards their reach positions
by ``level`` (0..1), clamped to the joint limits, reached after ``ramp_s``
through ``points`` evenly timed waypoints; ``rest_trajectory`` brings them
back. ``JointTrajectoryAdapterNode`` serves ``exo_assist`` with it and
publishes on ``joint_trajectory`` (remap to
``/<controller>/joint_trajectory``). Joint names, rest / reach positions,
limits and timing are parameters, per side.

The node enforces the controller-side safety layer of ``ExoControllerBase``
(level cap, mandatory finite duration, perception watchdog, signed goals
only, latched e-stop): a cancel, the time limit or stale perception sends
the rest trajectory at once (over ``release_s``); an e-stop or a fault sends
an empty trajectory, which makes JointTrajectoryController stop and hold
where it is (ros2_controllers' documented way to cancel a trajectory).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from builtin_interfaces.msg import Duration
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from rehab_assist.exo_controller_base import ExoControllerBase
from rehab_assist.exo_controller_config import CONTROLLER_PARAMS, ControllerConfig
from rehab_core.assist import Run
from rehab_core.errors import ConfigError
from rehab_interfaces.action import ExoAssist
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class ArmJoints:
    names: tuple[str, ...]
    rest: tuple[float, ...]
    reach: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.names)
        if n == 0:
            raise ConfigError("an arm needs at least one joint name")
        for field in ("rest", "reach", "lower", "upper"):
            if len(getattr(self, field)) != n:
                raise ConfigError(f"{field} has {len(getattr(self, field))} values for {n} joints")
        for name, lo, hi in zip(self.names, self.lower, self.upper, strict=True):
            if lo > hi:
                raise ConfigError(f"joint {name}: lower limit {lo} above upper {hi}")


def _duration(seconds: float) -> Duration:
    sec = int(seconds)
    return Duration(sec=sec, nanosec=round((seconds - sec) * 1e9))


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def assist_trajectory(arm: ArmJoints, level: float, ramp_s: float, points: int = 5
                      ) -> JointTrajectory:
    """Rest -> rest + level * (reach - rest), clamped to the limits, over ``ramp_s``."""
    if not 0.0 <= level <= 1.0:
        raise ConfigError(f"assist level must be in [0, 1], got {level}")
    if ramp_s <= 0 or points < 1:
        raise ConfigError("ramp_s must be > 0 and points >= 1")
    traj = JointTrajectory(joint_names=list(arm.names))
    for k in range(1, points + 1):
        f = level * k / points
        traj.points.append(JointTrajectoryPoint(
            positions=[_clamp(r + f * (g - r), lo, hi) for r, g, lo, hi in
                       zip(arm.rest, arm.reach, arm.lower, arm.upper, strict=True)],
            time_from_start=_duration(ramp_s * k / points)))
    return traj


def rest_trajectory(arm: ArmJoints, release_s: float) -> JointTrajectory:
    return JointTrajectory(joint_names=list(arm.names), points=[JointTrajectoryPoint(
        positions=[_clamp(r, lo, hi) for r, lo, hi in zip(arm.rest, arm.lower, arm.upper,
                                                          strict=True)],
        time_from_start=_duration(max(release_s, 1e-3)))])


@dataclass(frozen=True)
class AdapterConfig(ControllerConfig):
    left_joints: str
    right_joints: str
    rest_positions: str
    reach_positions: str
    lower_limits: str
    upper_limits: str
    points: int


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None


class JointTrajectoryAdapterNode(ExoControllerBase):
    DEFAULT_NAME = "joint_trajectory_adapter"
    Config = AdapterConfig
    PARAMS = (
        *CONTROLLER_PARAMS,
        ParamSpec("left_joints", "left_shoulder_flexion,left_elbow_extension",
                  "comma-separated joint names of the left arm"),
        ParamSpec("right_joints", "right_shoulder_flexion,right_elbow_extension",
                  "comma-separated joint names of the right arm"),
        ParamSpec("rest_positions", "0.0,0.0", "rad, per joint (same for both arms)"),
        ParamSpec("reach_positions", "0.8,0.6", "rad at full assistance, per joint"),
        ParamSpec("lower_limits", "-0.2,-0.1", "rad, per joint"),
        ParamSpec("upper_limits", "1.2,1.0", "rad, per joint"),
        ParamSpec("ramp_s", 0.4, "time to reach the assisted posture", 0.01, 10.0),
        ParamSpec("release_s", 0.3, "time back to rest", 0.01, 10.0),
        ParamSpec("points", 5, "waypoints of the ramp", 1, 100),
    )

    def configure(self, cfg: AdapterConfig) -> None:
        shape = dict(rest=_floats(cfg.rest_positions, "rest_positions"),
                     reach=_floats(cfg.reach_positions, "reach_positions"),
                     lower=_floats(cfg.lower_limits, "lower_limits"),
                     upper=_floats(cfg.upper_limits, "upper_limits"))
        self.arms = {
            side: ArmJoints(tuple(n.strip() for n in names.split(",") if n.strip()), **shape)
            for side, names in (("left", cfg.left_joints), ("right", cfg.right_joints))
        }
        self.pub = self.create_publisher(JointTrajectory, "joint_trajectory", 10)
        self.sent: collections.deque[tuple[str, JointTrajectory]] = collections.deque(
            maxlen=1000)  # (side, message), for tests
        self._started: set[int] = set()
        super().configure(cfg)

    def cleanup(self) -> None:
        super().cleanup()
        if getattr(self, "pub", None) is not None:
            self.destroy_publisher(self.pub)
            self.pub = None

    def output(self, run: Run, level: float, state: str, t: float) -> None:
        if run.id not in self._started and state in ("ramping", "assisting"):
            self._started.add(run.id)  # the whole ramp goes out once; JTC interpolates it
            self._send(run.side, assist_trajectory(self.arms[run.side], run.target,
                                                   self.config.ramp_s, self.config.points))
        handle = self.handle_of(run)
        if handle is not None:
            handle.publish_feedback(ExoAssist.Feedback(
                elapsed_s=float(max(0.0, t - run.start)), applied_level=float(level),
                state=state))

    def cut_all(self, t: float) -> None:
        for side, arm in self.arms.items():  # stop and hold both arms now
            self._send(side, JointTrajectory(joint_names=list(arm.names)))

    def stopped(self, run: Run, hard: bool, t: float) -> None:
        self._started.discard(run.id)
        arm = self.arms[run.side]
        if hard:  # stop and hold now: an empty trajectory cancels JTC's current one
            self._send(run.side, JointTrajectory(joint_names=list(arm.names)))
        else:
            self._send(run.side, rest_trajectory(arm, self.config.release_s))

    def _send(self, side: str, traj: JointTrajectory) -> None:
        self.sent.append((side, traj))
        if self.pub is not None:
            self.pub.publish(traj)


main = main_for(JointTrajectoryAdapterNode)
