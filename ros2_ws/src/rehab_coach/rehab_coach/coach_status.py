"""``CoachStatus`` both ways: built from a goal's ``ExerciseSession`` by the RunExercise
server, read back into the plain mapping the patient screen and the therapist page render
(``rehab_core.coaching.screen`` works on that mapping, so it stays ROS-free)."""

from __future__ import annotations

from typing import Any

from rclpy.qos import DurabilityPolicy, QoSProfile

from rehab_core.coaching import ExerciseSession
from rehab_interfaces.msg import CoachStatus
from rehab_runtime import conversions

#: transient local: a screen or page that starts mid-goal gets the current status at once
STATUS_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def status_msg(s: ExerciseSession, frame_id: str = "camera") -> CoachStatus:
    """The status of goal session ``s`` (call under the session's lock)."""
    r = s.result()
    msg = CoachStatus(
        goal_active=not s.done, exercise=s.config.exercise,
        repetitions_target=s.config.repetitions, repetitions_done=s.repetitions_done,
        state=int(s.state), current_label=s.current_label,
        confidence=float(s.current_confidence),
        elapsed_s=float(s.now - s.started_t) if s.started_t is not None and s.now is not None
        else 0.0,
        time_limit_s=float(s.config.time_limit_s),
        quality=[conversions.quality_to_msg(c.quality) for c in s.counted],
        success=bool(r.success) if r else False, reason=r.reason if r else "")
    msg.header.frame_id = frame_id
    now = s.now if s.now is not None else 0.0
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(now), int(now % 1 * 1e9)
    return msg


def status_dict(msg: CoachStatus) -> dict[str, Any]:
    """A CoachStatus as the plain mapping ``screen_view`` and the web page read."""
    return {
        "goal_active": bool(msg.goal_active), "exercise": msg.exercise,
        "repetitions_target": int(msg.repetitions_target),
        "repetitions_done": int(msg.repetitions_done), "state": int(msg.state),
        "current_label": msg.current_label, "confidence": float(msg.confidence),
        "elapsed_s": float(msg.elapsed_s), "time_limit_s": float(msg.time_limit_s),
        "success": bool(msg.success), "reason": msg.reason,
        "quality": [{"duration_s": float(q.duration_s),
                     "range_of_motion_deg": float(q.range_of_motion_deg),
                     "key_joint": q.key_joint, "tempo_s": float(q.tempo_s),
                     "reference_distance": float(q.reference_distance)} for q in msg.quality],
    }
