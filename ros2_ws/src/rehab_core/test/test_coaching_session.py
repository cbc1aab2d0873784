"""One RunExercise goal's logic: counting only the requested exercise, and every way to end."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.coaching import (
    ExerciseSession,
    RepetitionInput,
    SessionConfig,
    SessionState,
    load_plan,
    load_reference,
    same_exercise,
    save_reference,
)
from rehab_core.coaching.session_types import canonical_exercise
from rehab_core.errors import ConfigError
from rehab_core.repetition import RepetitionCounter
from rehab_core.repetition.quality import RepetitionQuality
from rehab_testing.synthetic_reps import sequence


def _drive(session, seconds, label, conf=0.9, reps=(), fps=30.0, present=True, t0=0.0,
           pred_every=5, exercise=None):
    """Frames at ``fps``: presence each frame, a prediction every ``pred_every`` frames,
    and a repetition event at each ``(start, end)`` in ``reps`` when its end passes."""
    reps = list(reps)
    n = round(seconds * fps)
    for i in range(n):
        t = t0 + i / fps
        session.on_presence(t, present)
        if i % pred_every == 0:
            session.on_prediction(t, label, conf)
        while reps and reps[0][1] <= t:
            s, e = reps.pop(0)
            session.on_repetition(t, RepetitionInput(exercise or label, s, e, RepetitionQuality(
                e - s, 80.0, "knee", (1.0, e - s - 1.0))))
        if session.done:
            return t
    return t0 + n / fps


def test_counts_matching_repetitions_until_the_target():
    s = ExerciseSession(SessionConfig("squat", repetitions=3))
    s.start(0.0)
    _drive(s, 10.0, "squat", reps=[(1, 2.5), (3, 4.5), (5, 6.5), (7, 8.5)])
    r = s.result()
    assert r.success and r.reason == "completed" and r.repetitions_done == 3
    assert r.repetition_durations_s == pytest.approx([1.5, 1.5, 1.5])
    assert r.mean_confidence == pytest.approx(0.9)
    assert r.quality[0].key_joint == "knee" and s.state == SessionState.DONE


def test_wrong_exercise_is_never_counted():
    s = ExerciseSession(SessionConfig("jumping_jacks", repetitions=2, time_limit_s=8.0))
    # the counter follows the classifier, which sees squats
    _drive(s, 10.0, "squat", reps=[(1, 2.5), (3, 4.5), (5, 6.5)])
    r = s.result()
    assert not r.success and r.reason == "timeout" and r.repetitions_done == 0
    assert all("another exercise" in i.reason for i in r.ignored)


def test_a_counter_event_under_a_mismatching_classifier_label_is_ignored():
    s = ExerciseSession(SessionConfig("squat", repetitions=2, time_limit_s=5.0))
    s.on_presence(0.0, True)
    for k in range(30):
        s.on_prediction(k * 0.1, "push_up", 0.9)
        s.on_presence(k * 0.1, True)
    s.on_repetition(2.0, RepetitionInput("squat", 0.5, 1.8))
    s.on_prediction(3.1, "push_up", 0.9)
    assert s.repetitions_done == 0 and "push_up" in s.ignored[0].reason
    assert s.state == SessionState.WRONG_EXERCISE


def test_waiting_wrong_and_exercising_states():
    s = ExerciseSession(SessionConfig("squat", repetitions=5))
    s.start(0.0)
    assert s.state == SessionState.WAITING_FOR_PERSON
    s.on_presence(0.1, True)
    assert s.state == SessionState.EXERCISING
    s.on_prediction(0.2, "push_up", 0.8)
    assert s.state == SessionState.WRONG_EXERCISE
    s.on_prediction(0.3, "unknown", 0.3)
    assert s.state == SessionState.EXERCISING


def test_decision_waits_for_the_lagging_classifier():
    s = ExerciseSession(SessionConfig("squat", repetitions=1))
    s.on_presence(0.0, True)
    s.on_repetition(2.0, RepetitionInput("squat", 0.5, 2.0))  # before any prediction
    assert s.repetitions_done == 0 and not s.done
    s.on_prediction(2.2, "squat", 0.7)
    assert s.done and s.result().success


def test_time_limit_person_lost_and_cancel():
    s = ExerciseSession(SessionConfig("squat", repetitions=5, time_limit_s=3.0))
    s.start(10.0)
    s.tick(12.9)
    assert not s.done
    s.tick(13.0)
    assert s.result().reason == "timeout"

    s = ExerciseSession(SessionConfig("squat", repetitions=5, person_lost_timeout_s=1.0))
    _drive(s, 2.0, "squat")
    t = _drive(s, 3.0, "squat", present=False, t0=2.0)
    assert s.result().reason == "person_lost" and t == pytest.approx(3.0, abs=0.05)

    s = ExerciseSession(SessionConfig("squat", repetitions=5))
    s.start(0.0)
    s.tick(60.0)  # never seen, no limit: still waiting
    assert s.state == SessionState.WAITING_FOR_PERSON
    r = s.finish(61.0, "canceled")
    assert r.reason == "canceled" and not r.success and s.finish(62.0, "x") is r


def test_finish_decides_pending_repetitions():
    s = ExerciseSession(SessionConfig("squat", repetitions=1))
    s.on_prediction(0.0, "squat", 0.9)
    s.on_repetition(2.0, RepetitionInput("squat", 0.5, 2.0))
    assert not s.done
    assert s.finish(2.1, "end_of_input").success


def test_counts_from_skeletons_with_dtw_to_the_patients_reference(tmp_path):
    frames, stamps, spans = sequence("squat", 4, 2.0, 30.0)
    counter = RepetitionCounter("squat")
    first = next(rep for kp, st in zip(frames, stamps) for rep in counter.update(kp, int(st)))
    ref_file = save_reference(tmp_path / "patient.npz", "squats", first)
    ref = load_reference(ref_file, "squat")
    assert ref.shape == (64,) and load_reference(ref_file, "push_up") is None

    s = ExerciseSession(SessionConfig("squat", repetitions=4, count_from_skeletons=True),
                        reference=ref)
    for i, (kp, st) in enumerate(zip(frames, stamps)):
        t = st * 1e-9
        if i % 5 == 0:
            s.on_prediction(t, "squat", 0.8)
        s.on_skeleton(t, kp)
    r = s.finish(stamps[-1] * 1e-9 + 0.1, "end_of_input")
    assert r.success and r.repetitions_done == len(spans) == 4
    for q in r.quality:
        assert q.key_joint == "knee"
        assert 60.0 < q.range_of_motion_deg < 110.0
        assert 0.0 <= q.reference_distance < 5.0  # same movement as the reference
        assert q.tempo_s[0] > 0
    assert r.to_dict()["quality"][0]["key_joint"] == "knee"


def test_end_of_input_counts_the_rep_the_clip_cut_on_its_way_up():
    """The server ends a goal on input_ended through ``finish``: the squat the input cut
    while the patient was nearly up again still counts (``RepetitionCounter.finish``)."""
    frames, stamps, spans = sequence("squat", 3, 2.0, 30.0)
    s = ExerciseSession(SessionConfig("squat", repetitions=3, count_from_skeletons=True))
    for i, (kp, st) in enumerate(zip(frames, stamps)):
        if st * 1e-9 > spans[-1][0] + 0.85 * 2.0:
            break
        if i % 5 == 0:
            s.on_prediction(st * 1e-9, "squat", 0.8)
        s.on_skeleton(st * 1e-9, kp)
    assert s.repetitions_done == 2 and not s.done
    r = s.finish(st * 1e-9, "input_ended")
    assert r.success and r.repetitions_done == 3


def _three_squats_labelled(label: str, rotate_deg: float = 0.0):
    """A squat goal of 3 counted from skeletons, fed 3 squats and the classifier's ``label``
    every fifth frame, to the end of the input."""
    frames, stamps, _ = sequence("squat", 3, 2.0, 30.0, rotate_deg=rotate_deg)
    s = ExerciseSession(SessionConfig("squat", repetitions=3, count_from_skeletons=True))
    for i, (kp, st) in enumerate(zip(frames, stamps)):
        if i % 5 == 0:
            s.on_prediction(st * 1e-9, label, 0.8)
        s.on_skeleton(st * 1e-9, kp)
    return s.finish(stamps[-1] * 1e-9, "end_of_input")


def test_skeleton_counting_rejects_when_classifier_disagrees():
    r = _three_squats_labelled("jumping_jacks")
    assert r.repetitions_done == 0 and len(r.ignored) == 3


def test_a_squat_family_movement_lying_down_is_reported_as_ignored_not_counted():
    """The squat's knee cycle filmed a quarter turned, i.e. a person lying on their side:
    no repetition counts and the therapist sees why for each movement."""
    r = _three_squats_labelled("squat", rotate_deg=90.0)
    assert r.repetitions_done == 0 and len(r.ignored) == 3
    assert all("not done on the feet" in i.reason for i in r.ignored)


def test_labels_compare_through_aliases():
    assert same_exercise("Squats", "squat") and same_exercise("push-up", "push_up")
    assert not same_exercise("squat", "jumping_jacks")


@pytest.mark.parametrize("typed", ["Jumping Jacks", "star jumps", "jumping-jacks"])
def test_a_goal_typed_in_words_is_counted_by_its_exercise_counter(typed):
    """A goal "Jumping Jacks" was accepted (the names compared as the same exercise) but
    counted by the generic counter: the counter read the name with only its case ignored.
    Here the jumping-jack counter counts it; a plank typed "Plank hold" counts no
    repetition of its sway."""
    frames, stamps, spans = sequence("jacks", 4, 1.5, 30.0)
    s = ExerciseSession(SessionConfig(typed, repetitions=4, count_from_skeletons=True))
    assert s._counter.exercise == "jumping_jacks" and not s._counter.generic
    for i, (kp, st) in enumerate(zip(frames, stamps)):
        if i % 5 == 0:
            s.on_prediction(st * 1e-9, "jumping_jacks", 0.8)
        s.on_skeleton(st * 1e-9, kp)
    r = s.finish(stamps[-1] * 1e-9, "end_of_input")
    assert r.success and r.repetitions_done == len(spans) == 4
    for name in ("Plank hold", "Push Ups", "sit to stand", "Chin-ups", "Lateral raises"):
        counter = RepetitionCounter(name)
        assert not counter.generic and counter.exercise == canonical_exercise(name), name


def test_bad_config_and_plan_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="repetitions"):
        SessionConfig("squat", repetitions=0)
    with pytest.raises(ConfigError, match="time_limit_s"):
        SessionConfig("squat", repetitions=1, time_limit_s=-1)
    bad = tmp_path / "plan.yaml"
    bad.write_text("goals: []\n")
    with pytest.raises(ConfigError, match="non-empty"):
        load_plan(bad)
    good = tmp_path / "good.yaml"
    good.write_text("goals:\n  - {exercise: squat, repetitions: 3, time_limit_s: 30}\n"
                    "  - {exercise: jumping_jacks}\n")
    plan = load_plan(good)
    assert [g.exercise for g in plan] == ["squat", "jumping_jacks"]
    assert plan[0].repetitions == 3 and plan[1].time_limit_s == 0.0
    assert np.isfinite(plan[0].time_limit_s)


@pytest.mark.parametrize("named, confidence, held", [("plank", 0.9, 5), ("push_up", 0.9, 0),
                                                      ("unknown", 0.3, 5)])
def test_a_plank_goal_counts_seconds_held_and_a_confident_push_up_vetoes_them(
        named, confidence, held):
    """A plank is held, not repeated: its goal's target is seconds held (each whole second
    one unit, judged like a repetition). A plank goal always failed: its counter times
    the hold but never emits a repetition."""
    frames, stamps, _ = sequence("plank", 4, 2.0, 30.0, noise_px=1.0)  # about 11 s still
    s = ExerciseSession(SessionConfig("Plank hold", repetitions=5, count_from_skeletons=True))
    for i, (kp, st) in enumerate(zip(frames, stamps)):
        if i % 5 == 0:
            s.on_prediction(st * 1e-9, named, confidence)
        s.on_skeleton(st * 1e-9, kp)
    r = s.finish(stamps[-1] * 1e-9, "input_ended")
    assert r.repetitions_done == held and r.success == (held == 5), r.reason
    if held:
        # 5 s held, decided by the next plank prediction (unsure: after the 3 s horizon)
        assert r.reason == "completed" and r.ended_t < (6.0 if named == "plank" else 9.0)
        assert all(abs(d - 1.0) < 1e-6 for d in r.repetition_durations_s)
    else:
        assert {v.verdict for v in r.verdicts} == {"rejected_other_exercise"}
