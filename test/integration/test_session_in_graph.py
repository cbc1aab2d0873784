"""``rehab session`` on a video: the RunExercise server runs inside the perception graph's
container, so skeletons, predictions and repetitions reach it over the in-process bus (no
DDS republishing inside one process), and the report comes from the action results."""

from __future__ import annotations

from pathlib import Path

from rehab_coach.session_runner import SessionRunner, server_params, with_server
from rehab_core.coaching import PlanGoal
from rehab_perception.run_graph import run_graph
from rehab_runtime import stack_config

REPO = Path(__file__).resolve().parents[2]


def test_server_in_the_graph_counts_the_squat_clip_from_the_bus(shared_dir, domain_id):
    stack = with_server(stack_config.load_stack(REPO / "launch" / "config" / "stack.yaml"),
                        server_params(REPO / "models" / "exercise_stgcn" / "labels.txt", 3.0))
    stack_config.remove_components(stack, ["overlay", "recorder"])  # no file outputs here
    runner = SessionRunner([PlanGoal("squat", 3), PlanGoal("jumping_jacks", 3, 4.0)],
                           quiet=True)
    inputs: dict[str, bool] = {}

    def attach(container):
        inputs.update({i.topic: i.in_process
                       for i in container.nodes["run_exercise_server"].inputs()})
        return runner.attach(container)

    run_graph(stack, str(shared_dir / "media" / "exercise" / "squat.mp4"), stop=runner.stopping,
              domain_id=domain_id, attach=attach)
    assert inputs == {"/tracked_skeletons": True, "/action": True, "/repetitions": True}
    squat, jacks = runner.close()
    assert squat["success"] and squat["reason"] == "completed", squat
    assert squat["repetitions_done"] == 3 and len(squat["quality"]) == 3
    assert len(squat["counted_end_t"]) == 3 and squat["ignored"] == []
    assert squat["timeline"][-1]["state"] == "DONE" and squat["timeline"][-1]["repetitions"] == 3
    assert squat["started_t"] < squat["counted_end_t"][0] < squat["ended_t"]
    # the clip's rest is squats: a jumping-jacks goal counts nothing
    assert jacks["started"] and jacks["repetitions_done"] == 0 and not jacks["success"]
    assert jacks["reason"] in ("timeout", "input_ended", "person_lost")
