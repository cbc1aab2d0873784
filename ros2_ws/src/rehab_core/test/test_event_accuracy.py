"""Event-accuracy labels (format, discovery, truth conversion) and scoring on hand-built outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rehab_core.errors import ConfigError
from rehab_core.evaluation import (
    EventLabels,
    ExerciseSegment,
    FrameOutputs,
    Reach,
    find_labels,
    labels_from_repetition_truth,
    load_labels,
    save_labels,
    score_events,
)

TRUTH = Path(__file__).resolve().parents[4] / "test" / "data" / "repetitions_truth.yaml"
FPS = 10.0
N = 100  # 10 s of played bag at 10 fps

GOOD = """\
version: 1
time_base: bag
exercises:
  - label: squat
    start_s: 1.0
    end_s: 5.0
    repetitions: [[1.0, 2.0], [3.0, 4.0]]
reaches:
  - side: left
    onset_s: 2.0
    offset_s: 3.0
  - side: right
    onset_s: 6.0
"""


def _write(tmp_path: Path, text: str, name: str = "labels.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- labels


def test_load_good_labels_and_round_trip(tmp_path):
    labels = load_labels(_write(tmp_path, GOOD))
    assert labels.exercises == [ExerciseSegment("squat", 1.0, 5.0, ((1.0, 2.0), (3.0, 4.0)), 2)]
    assert labels.reaches == [Reach("left", 2.0, 3.0), Reach("right", 6.0, None)]
    again = load_labels(save_labels(labels, tmp_path / "copy.labels.yaml"))
    assert again == labels


@pytest.mark.parametrize(("text", "message"), [
    ("version: 1\nexercise: []\n", r"unknown key\(s\) \['exercise'\]"),
    ("version: 2\n", "version must be 1"),
    ("version: 1\ntime_base: video\n", "time_base must be 'bag'"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 1, end_s: 2, reps: 3}\n",
     r"exercises\[0\] \(squat\): unknown key\(s\) \['reps'\]"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 5, end_s: 2}\n",
     r"exercises\[0\] \(squat\): end_s 2.0 is not after start_s 5.0"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 0, end_s: 5}\n"
     "  - {label: push_up, start_s: 4, end_s: 8}\n",
     r"exercises\[1\] \(push_up, 4.0-8.0 s\) overlaps exercises\[0\] \(squat"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 1, end_s: 5, "
     "repetitions: [[1, 2], [4, 6]]}\n",
     r"exercises\[0\] \(squat\): repetitions\[1\]: \[4.0, 6.0\] is outside its segment"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 1, end_s: 5, "
     "repetitions: [[1, 3], [2, 4]]}\n", r"repetitions\[1\]: starts at 2.0 s, before"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: 1, end_s: 5, count: 3, "
     "repetitions: [[1, 2]]}\n", "count 3 but 1 repetitions listed"),
    ("version: 1\nexercises:\n  - {label: squat, start_s: -1, end_s: 5}\n",
     "start_s must be >= 0"),
    ("version: 1\nexercises:\n  - {label: unknown, start_s: 0, end_s: 5}\n",
     "'unknown' is not an exercise"),
    ("version: 1\nreaches:\n  - {side: both, onset_s: 1}\n",
     r"reaches\[0\]: side must be one of \['left', 'right'\], got 'both'"),
    ("version: 1\nreaches:\n  - {side: left, onset_s: 3, offset_s: 2}\n",
     r"reaches\[0\]: offset_s 2.0 is not after onset_s 3.0"),
    ("version: 1\nreaches:\n  - {side: left, onset_s: 1, offset_s: 3}\n"
     "  - {side: right, onset_s: 2}\n  - {side: left, onset_s: 2.5}\n",
     r"reaches\[2\] \(left, onset 2.5 s\) starts before reaches\[0\]"),
    ("version: 1\nreaches:\n  - {side: left, onset_s: one}\n", "onset_s must be a number"),
    ("version: 1\nexercises: [\n", "not valid YAML"),
    ("- just a list\n", "expected a mapping"),
])
def test_validation_errors_name_file_and_entry(tmp_path, text, message):
    path = _write(tmp_path, text, "bad.labels.yaml")
    with pytest.raises(ConfigError, match=message) as info:
        load_labels(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read labels file"):
        load_labels(tmp_path / "nope.yaml")


def test_absent_sections_are_unlabelled_and_empty_ones_are_labels(tmp_path):
    labels = load_labels(_write(tmp_path, "version: 1\nreaches: []\n"))
    assert labels.exercises is None and labels.reaches == []


def test_find_labels_next_to_or_inside_a_bag(tmp_path):
    folder = tmp_path / "run1"
    folder.mkdir()
    (folder / "metadata.yaml").write_text("{}")
    assert find_labels(folder) is None
    inside = _write(folder, GOOD)
    assert find_labels(folder) == inside
    inside.unlink()
    beside = _write(tmp_path, GOOD, "run1.labels.yaml")
    assert find_labels(folder) == beside
    _write(folder, GOOD)
    with pytest.raises(ConfigError, match="more than one labels file"):
        find_labels(folder)

    bag = tmp_path / "run2.mcap"
    bag.write_bytes(b"")
    assert find_labels(bag) is None
    by_stem = _write(tmp_path, GOOD, "run2.labels.yaml")
    assert find_labels(bag) == by_stem
    by_stem.unlink()
    by_name = _write(tmp_path, GOOD, "run2.mcap.labels.yaml")
    assert find_labels(bag) == by_name


def test_truth_conversion_squat():
    labels = labels_from_repetition_truth(TRUTH, "squat.mp4")
    (seg,) = labels.exercises
    assert (seg.label, seg.start_s, seg.end_s, seg.truth_count) == ("squat", 1.6, 37.0, 9)
    assert seg.repetitions[0] == (1.6, 3.8) and seg.repetitions[-1] == (34.6, 37.0)
    assert labels.reaches is None


def test_truth_conversion_every_clip(tmp_path):
    expected = {"squat.mp4": 9, "squat2.mp4": 6, "jacks.mp4": 19, "pushup_v1449k.mp4": 10,
                "pushup_v1850k.mp4": 10, "pushup_v961k.mp4": 2, "plank_v1370k.mp4": 0,
                "plank_v2184k.mp4": 0}
    for video, count in expected.items():
        labels = labels_from_repetition_truth(TRUTH, video)
        assert labels.exercises[0].truth_count == count, video
        assert load_labels(save_labels(labels, tmp_path / f"{video}.labels.yaml")) == labels
    jacks = labels_from_repetition_truth(TRUTH, "jacks.mp4").exercises[0]
    assert jacks.repetitions is None and (jacks.start_s, jacks.end_s) == (2.4, 22.3)
    plank = labels_from_repetition_truth(TRUTH, "plank_v1370k.mp4").exercises[0]
    assert plank.label == "plank" and plank.repetitions == () and plank.end_s == 6.9
    with pytest.raises(ConfigError, match=r"no video 'nope\.mp4'"):
        labels_from_repetition_truth(TRUTH, "nope.mp4")


# ----------------------------------------------------------------------------- scoring


def _labels() -> EventLabels:
    return EventLabels(
        exercises=[ExerciseSegment("squat", 1.0, 5.0, ((1.0, 2.0), (3.0, 4.0)))],
        reaches=[Reach("left", 2.0, 3.0), Reach("right", 6.0)],
    )


def _perfect() -> list[FrameOutputs]:
    """Frame i at i/10 s: squat in [1, 5) s, reps end at 2 s and 4 s, reaches as labelled."""
    frames = []
    for i in range(N):
        reach = {"left": "no_reach", "right": "no_reach"}
        if i == 20:
            reach["left"] = "onset"
        elif 20 < i < 30:
            reach["left"] = "reach"
        elif i == 30:
            reach["left"] = "offset"
        if i == 60:
            reach["right"] = "onset"
        frames.append(FrameOutputs(i, i / FPS, "squat" if 10 <= i < 50 else "unknown",
                                   [], reach))
    frames[20].repetition_ends_s.append(2.0)
    frames[41].repetition_ends_s.append(4.0)  # emitted a frame later, end time still 4.0
    return frames


def _set_phase(frames: list[FrameOutputs], side: str, start: int, phases: list[str]) -> None:
    for k, phase in enumerate(phases):
        frames[start + k].reach[side] = phase


def test_perfect_outputs_score_perfectly():
    result = score_events(_labels(), _perfect(), FPS)
    json.dumps(result, allow_nan=False)
    assert result["frames"] == N and result["played_s"] == pytest.approx(10.0)
    reps = result["repetitions"]
    assert reps["segments"] == [{"label": "squat", "start_s": 1.0, "end_s": 5.0, "truth": 2,
                                 "counted": 2, "error": 0, "truncated": False}]
    assert reps["total_abs_error"] == 0 and reps["outside"] == 0
    ex = result["exercise"]
    assert ex["accuracy"] == 1.0 and ex["frames_scored"] == N
    assert ex["per_label"] == {"no_exercise": {"frames": 60, "accuracy": 1.0},
                               "squat": {"frames": 40, "accuracy": 1.0}}
    assert ex["warmup"] == {"frames": 0, "first_output_s": 0.0, "exercise_frames": 0}
    assert [b["truth"] for b in ex["timeline"]] == ["no_exercise"] + ["squat"] * 4 + [
        "no_exercise"] * 5
    assert all(b["accuracy"] == 1.0 for b in ex["timeline"])
    reach = result["reach"]
    assert reach["onsets"]["matched"] == 2 and reach["onsets"]["missed"] == 0
    assert reach["onsets"]["mean_abs_error_frames"] == pytest.approx(0.0)
    assert reach["offsets"]["matched"] == 1 and reach["offsets"]["false"] == 0
    assert reach["false_triggers"] == 0 and reach["false_triggers_per_min"] == 0.0
    assert reach["frames"]["precision"] == 1.0 and reach["frames"]["recall"] == 1.0
    assert reach["frames"]["tp"] == 11 + 1  # left 2.0..3.0 s inclusive, right onset frame


def test_shifted_onsets_give_exact_frame_errors():
    frames = _perfect()
    _set_phase(frames, "left", 20, ["no_reach"] * 3 + ["onset"])  # 3 frames late
    _set_phase(frames, "left", 30, ["reach", "offset"])  # offset 1 frame late
    _set_phase(frames, "right", 58, ["onset", "reach", "no_reach"])  # 2 frames early
    reach = score_events(_labels(), frames, FPS)["reach"]
    assert reach["per_side"]["left"]["onsets"]["errors_frames"] == [pytest.approx(3.0)]
    assert reach["per_side"]["right"]["onsets"]["errors_frames"] == [pytest.approx(-2.0)]
    assert reach["onsets"]["mean_abs_error_frames"] == pytest.approx(2.5)
    assert reach["onsets"]["median_abs_error_frames"] == pytest.approx(2.5)
    assert reach["offsets"]["errors_frames"] == [pytest.approx(1.0)]
    assert reach["onsets"]["missed"] == 0 and reach["false_triggers"] == 0
    left = reach["per_side"]["left"]["frames"]
    assert (left["tp"], left["fp"], left["fn"]) == (8, 1, 3)  # truth 20..30, predicted 23..31


def test_onset_beyond_tolerance_is_missed_and_false():
    frames = _perfect()
    _set_phase(frames, "right", 60, ["no_reach"] * 4 + ["onset"])  # 4 frames late
    reach = score_events(_labels(), frames, FPS, onset_tolerance_frames=3)["reach"]
    assert reach["onsets"]["missed"] == 1 and reach["false_triggers"] == 1
    reach = score_events(_labels(), frames, FPS, onset_tolerance_frames=4)["reach"]
    assert reach["onsets"]["missed"] == 0 and reach["onsets"]["errors_frames"] == [
        pytest.approx(0.0), pytest.approx(4.0)]


def test_extra_onset_is_one_false_trigger_per_played_minute_rate():
    frames = _perfect()
    _set_phase(frames, "left", 80, ["onset", "reach", "no_reach"])
    reach = score_events(_labels(), frames, FPS)["reach"]
    assert reach["false_triggers"] == 1 and reach["onsets"]["matched"] == 2
    assert reach["false_triggers_per_min"] == pytest.approx(6.0)  # 1 in 10 s of bag
    # a held onset phase is one rising edge, not one per frame
    _set_phase(frames, "right", 60, ["onset"] * 5)
    assert score_events(_labels(), frames, FPS)["reach"]["false_triggers"] == 1


def test_miscounted_segment_and_outside_reps():
    frames = _perfect()
    frames[41].repetition_ends_s.clear()
    frames[80].repetition_ends_s.append(8.0)  # far from the segment: outside
    reps = score_events(_labels(), frames, FPS)["repetitions"]
    assert reps["segments"][0]["counted"] == 1 and reps["segments"][0]["error"] == -1
    assert reps["total_abs_error"] == 1 and reps["outside"] == 1
    frames[56].repetition_ends_s.append(5.5)  # just after the segment: within the slack
    reps = score_events(_labels(), frames, FPS)["repetitions"]
    assert reps["segments"][0]["error"] == 0 and reps["outside"] == 1
    reps = score_events(_labels(), frames, FPS, repetition_slack_s=0.2)["repetitions"]
    assert reps["segments"][0]["error"] == -1 and reps["outside"] == 2


def test_flickering_labels_give_the_exact_fraction():
    frames = _perfect()
    for f in frames[10:50]:
        f.label = "squat" if f.index % 2 == 0 else "push_up"
    ex = score_events(_labels(), frames, FPS)["exercise"]
    assert ex["accuracy"] == pytest.approx(80 / 100)
    assert ex["per_label"]["squat"] == {"frames": 40, "accuracy": 0.5}
    assert ex["confusion"]["squat"] == {"squat": 20, "push_up": 20}
    assert ex["timeline"][1]["accuracy"] == 0.5


def test_warmup_and_dropped_frames_are_not_scored():
    frames = _perfect()
    for f in frames[:15]:
        f.label = None  # classifier warming up: 5 of these frames are inside the segment
    for f in frames[40:45]:
        f.dropped = True
        f.label = "push_up"  # ignored
    result = score_events(_labels(), frames, FPS)
    ex = result["exercise"]
    assert ex["warmup"] == {"frames": 15, "first_output_s": 1.5, "exercise_frames": 5}
    assert ex["frames_scored"] == N - 15 - 5 and ex["accuracy"] == 1.0
    assert ex["timeline"][0]["predicted"] is None  # only warm-up frames in the first second
    assert result["dropped"] == 5
    # a label that goes None after the warm-up means "no exercise": wrong inside a segment
    frames[30].label = None
    assert score_events(_labels(), frames, FPS)["exercise"]["accuracy"] == pytest.approx(79 / 80)


def test_unlabelled_sections_are_none_and_partial_replay_scores_what_was_played():
    only_reps = EventLabels(exercises=[ExerciseSegment("squat", 1.0, 5.0, count=2)])
    result = score_events(only_reps, _perfect(), FPS)
    assert result["reach"] is None and result["repetitions"]["total_abs_error"] == 0
    result = score_events(EventLabels(reaches=[]), _perfect(), FPS)
    assert result["repetitions"] is None and result["exercise"] is None
    assert result["reach"]["false_triggers"] == 2  # no reaches labelled, two predicted

    played = _perfect()[:35]  # 0..3.4 s: one rep end and the left reach only
    result = score_events(_labels(), played, FPS)
    assert result["repetitions"]["segments"][0]["truth"] == 1
    assert result["repetitions"]["segments"][0]["error"] == 0
    assert result["reach"]["not_played"] == 1 and result["reach"]["onsets"]["missed"] == 0
    truncated = score_events(only_reps, played, FPS)["repetitions"]["segments"][0]
    assert truncated["truncated"] is True and truncated["truth"] == 2


def test_bad_outputs_are_config_errors():
    frames = _perfect()
    frames[3].reach["left"] = "grasp"
    with pytest.raises(ConfigError, match="frame 3: reach 'left': 'grasp'"):
        score_events(_labels(), frames, FPS)
    with pytest.raises(ConfigError, match="not after the previous"):
        score_events(_labels(), list(reversed(_perfect())), FPS)
    with pytest.raises(ConfigError, match="no played frames"):
        score_events(_labels(), [], FPS)
    with pytest.raises(ConfigError, match="fps must be > 0"):
        score_events(_labels(), _perfect(), 0.0)
    upper = _perfect()
    upper[20].reach["left"] = "ONSET"  # ReachPhase values are upper case: accepted
    assert score_events(_labels(), upper, FPS)["reach"]["onsets"]["matched"] == 2
