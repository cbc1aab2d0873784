"""The session runner: the server added to a perception stack, and goals in sequence on a
recorded skeleton stream through the real server and the shipped exercise model."""

from __future__ import annotations

import numpy as np
from coach_testutil import REPO_ROOT

from rehab_coach.session_runner import SessionRunner, replay_skeletons, server_params, with_server
from rehab_core.coaching import PlanGoal
from rehab_core.io.skeleton_store import SkeletonSequence, save_skeletons
from rehab_runtime import stack_config
from rehab_testing.synthetic_reps import sequence

MODEL = REPO_ROOT / "models" / "exercise_stgcn"
PARAMS = server_params(MODEL / "labels.txt", 2.0)


def _container(stack: dict) -> dict:
    return stack_config.node_params(stack, stack_config.CONTAINER)


def test_with_server_adds_the_server_on_tracked_skeletons():
    stack = with_server(stack_config.load_stack(REPO_ROOT / "launch/config/stack.yaml"), PARAMS)
    (spec,) = [s for s in stack_config.components(stack) if s.name == "run_exercise_server"]
    assert spec.remappings == (("skeletons", "tracked_skeletons"),)
    assert spec.parameters == PARAMS


def test_with_server_keeps_the_one_of_a_coach_stack_and_skips_a_missing_tracker():
    coach = stack_config.load_stack(REPO_ROOT / "launch/config/coach.yaml")
    names = [s.name for s in stack_config.components(with_server(coach, PARAMS))]
    assert names.count("run_exercise_server") == 1
    bare = stack_config.load_stack(REPO_ROOT / "launch/config/stack.yaml")
    stack_config.remove_components(bare, ["skeleton_tracker"])
    stack = with_server(bare, PARAMS)
    assert not any(r.startswith("run_exercise_server:") for r in _container(stack)["remappings"])


def test_a_rejected_first_goal_still_starts_the_input_for_the_next(tmp_path, domain_id):
    frames, stamps, _ = sequence("squat", 4, 2.0, 30.0)
    kp = np.stack([f if f is not None else np.zeros((17, 3), np.float32) for f in frames])
    path = save_skeletons(tmp_path / "squats.npz",
                          SkeletonSequence(kp, stamps, "coco17", 30.0, width=1280, height=1280))
    runner = SessionRunner([PlanGoal("yoga_flow", 2), PlanGoal("squat", 50),
                            PlanGoal("push_up", 2)], quiet=True)
    replay_skeletons(runner, path, MODEL, PARAMS, speed=10.0, domain_id=domain_id)
    rejected, squat, after = runner.close()
    assert rejected["reason"].startswith("rejected") and not rejected["started"]
    # the input ran to its end under the squat goal, which the end of input cancelled
    assert squat["started"] and squat["reason"] == "input_ended", squat
    assert squat["timeline"] and squat["ended_t"] - squat["started_t"] > 8.0
    assert after == {"exercise": "push_up", "repetitions_target": 2, "success": False,
                     "repetitions_done": 0, "reason": "input_ended", "started": False}
