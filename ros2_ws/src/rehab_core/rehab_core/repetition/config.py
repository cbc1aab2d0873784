"""Per-exercise counting parameters, all in seconds and signal units (never frames).

Why these signals: joint angles are invariant to image scale, camera
distance and in-plane rotation (portrait or rotated video), so each counted
exercise uses the angle of the joint that moves most:

* squat: knee angle (about 170 deg standing, under 100 deg at the bottom);
* jumping jacks: shoulder elevation (hip-shoulder-elbow: about 20 deg with the
  arms down, about 160 deg overhead; visible from the front and the side,
  unlike ankle spread, which vanishes in a side view's 2-D). The feet open too:
  the classifier's motion check also asks the 3-D ankle spread to move
  (``companion``), which is what tells a jack from an arm raise (arms alone:
  ``without_companion``);
* push-up: elbow angle (about 170 deg extended, under 110 deg at the bottom);
* lunge: knee angle (both knees bend to about 90 deg; the front one shows in any view);
* deadlift: hip angle (shoulder-hip-knee, about 170 deg standing, 45-110 at the bottom;
  rest "auto": a conventional deadlift starts on the floor, a Romanian one standing;
  in 2-D clearest from the side, 3-D angles hold from the front);
* pull-up: elbow angle (about 170 deg hanging, under 90 deg at the top; front or rear),
  with a posture condition (``PULL_UP_HANG``): the arms go overhead at the hang;
* the squat family (squat, lunge, deadlift, sit-to-stand) is done on the feet
  (``STANDING``): a knee bent lying down (a supine heel slide) is none of them;
* sit-to-stand: knee angle (about 90 deg seated, 170 standing); rest "auto" since a
  set may start seated or standing;
* arm raise (abduction, front or lateral raise, scaption): shoulder elevation, as in
  jumping jacks, at a rehab pace.

Thresholds are fractions of the online range, so only ``min_amplitude``
(the smallest movement that counts) is an absolute, exercise-specific value.
It is set to roughly a third of a full range of motion so that shallow,
rehab-style repetitions still count while pose jitter (a few degrees) does not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rehab_core.errors import ConfigError
from rehab_core.repetition.angles import SIGNALS
from rehab_core.repetition.posture import PostureCondition


@dataclass(frozen=True)
class ExerciseConfig:
    """How to count one exercise.

    ``rest`` says where the signal sits between repetitions: "high" (knee
    extended in a squat) or "low" (arms down in a jack); "auto" takes the side
    the signal starts on. ``hysteresis`` are the (inner, outer) fractions of
    the running range that must be crossed to leave rest and to reach the
    extreme. ``counts_reps`` is False for static holds (plank), which report
    hold time instead. ``concentric`` is the way the signal moves while the
    muscles work ("up", "down", "" for neither): a repetition whose way out of
    rest is that phase is done at the extreme, so the end of the input closes it.
    ``posture`` is what else the body must do around each repetition (see
    ``posture.py``); None when the counted joint says it all. ``companion``
    (signal, range) is a second signal every repetition also moves through that
    range, read in 3-D only (``recognition/motion_check.py``): not counted, it
    keeps a movement of the key joint alone from being named this exercise.
    ``without_companion`` is the exercise such a movement is instead (one with
    the same key signal: jumping jacks without the feet are an arm raise); ""
    for ``unknown``.
    """

    name: str
    signal: str
    rest: str = "high"
    min_amplitude: float = 30.0
    min_rep_s: float = 0.4
    max_rep_s: float = 12.0
    smoothing_s: float = 0.08
    median_s: float = 0.15
    range_window_s: float = 8.0
    hysteresis: tuple[float, float] = (0.3, 0.6)
    max_gap_s: float = 1.0
    min_score: float = 0.3
    counts_reps: bool = True
    concentric: str = ""
    posture: PostureCondition | None = None
    companion: tuple[str, float] | None = None
    without_companion: str = ""

    def validate(self) -> ExerciseConfig:
        """Raise ConfigError naming the bad field; return self for chaining."""
        if self.signal not in SIGNALS:
            raise ConfigError(
                f"{self.name}: unknown signal {self.signal!r}; known {sorted(SIGNALS)}"
            )
        if self.concentric not in ("", "up", "down"):
            raise ConfigError(f"{self.name}: concentric must be up, down or '', "
                              f"got {self.concentric!r}")
        if self.rest not in ("high", "low", "auto"):
            raise ConfigError(f"{self.name}: rest must be high, low or auto, got {self.rest!r}")
        lo, hi = self.hysteresis
        if not 0.0 < lo < hi < 1.0:
            raise ConfigError(
                f"{self.name}: hysteresis must satisfy 0 < lo < hi < 1, got {self.hysteresis}"
            )
        for field in ("min_amplitude", "min_rep_s", "max_rep_s", "range_window_s", "max_gap_s"):
            if not getattr(self, field) > 0:
                raise ConfigError(f"{self.name}: {field} must be > 0, got {getattr(self, field)}")
        if self.smoothing_s < 0 or self.median_s < 0:
            raise ConfigError(f"{self.name}: smoothing_s and median_s must be >= 0")
        if self.max_rep_s <= self.min_rep_s:
            raise ConfigError(f"{self.name}: max_rep_s must exceed min_rep_s")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"{self.name}: min_score must be in [0, 1], got {self.min_score}")
        if self.posture is not None:
            self.posture.validate(self.name)
        if self.companion is not None and (
                self.companion[0] not in SIGNALS or not self.companion[1] > 0):
            raise ConfigError(f"{self.name}: companion must be (a known signal, a range > 0), "
                              f"got {self.companion!r}")
        if self.without_companion:
            other = EXERCISES.get(self.without_companion)
            if (self.companion is None or other is None or other.name == self.name
                    or other.signal != self.signal):
                raise ConfigError(
                    f"{self.name}: without_companion must name another exercise with the key "
                    f"signal {self.signal!r}, and needs a companion; got "
                    f"{self.without_companion!r}")
        return self


# A pull-up passes through a hang: upper arm overhead, shoulder angle (hip-shoulder-elbow)
# about 140-170 deg in the corpus's pull-ups (3-D), whereas an elbow flexion or curl keeps
# it under about 110 (sagor_elbow_flexion: 80-106 with the arms held forward; a curl with
# the upper arm by the side: 10-40). 120 sits between; the hang is looked for 0.5 s either
# side of the span, where it is (only the elbows come down at the top of the pull).
PULL_UP_HANG = PostureCondition("shoulder_angle", 120.0, at_least=True, margin_s=0.5,
                                missing="no hang with the arms overhead")

# The squat family starts or ends each repetition on the feet: the hips stand a leg above the
# ankles (1.2-2.0 torso lengths around every repetition of the corpus's squats, lunges,
# deadlifts and chair rise, 3-D); lying down they are level with them (about 0). 0.8 is
# in between, far from both, and is not reached lying down whatever the knees do (a seated
# person's hips are a shin above the ankles, about 0.9: a chair rise starts there).
STANDING = PostureCondition("hip_height", 0.8, at_least=True, margin_s=0.5,
                            missing="not done on the feet (the hips never stood above the "
                                    "ankles)")


EXERCISES: dict[str, ExerciseConfig] = {
    "squat": ExerciseConfig("squat", "knee_angle", rest="high", min_amplitude=35.0,
                            concentric="up", posture=STANDING),
    # The feet of a jack open to about shoulder width or more (0.8+ torso lengths); 0.3 is
    # well inside that, and over an arm raise's standing feet (UI-PRMD's 40 abductions and
    # scaptions: at most 0.29 over any 4 s, median 0.06; the corpus's jacks: 0.39 or more).
    # Arms through the range with the feet still (or unseen) are an arm raise, and an arm
    # raise whose feet open is a jack: siblings (``families.py``), never a veto in a goal.
    "jumping_jacks": ExerciseConfig(
        "jumping_jacks", "shoulder_angle", rest="low", min_amplitude=40.0, min_rep_s=0.25,
        companion=("ankle_spread", 0.3), without_companion="arm_raise",
    ),
    "push_up": ExerciseConfig("push_up", "elbow_angle", rest="high", min_amplitude=30.0,
                              concentric="up"),
    "plank": ExerciseConfig("plank", "body_line_angle", counts_reps=False),
    "lunge": ExerciseConfig("lunge", "knee_angle", rest="high", min_amplitude=30.0,
                            min_rep_s=0.6, concentric="up", posture=STANDING),
    "deadlift": ExerciseConfig("deadlift", "hip_angle", rest="auto", min_amplitude=35.0,
                               min_rep_s=0.6, concentric="up", posture=STANDING),
    "pull_up": ExerciseConfig("pull_up", "elbow_angle", rest="high", min_amplitude=40.0,
                              min_rep_s=0.5, concentric="down", posture=PULL_UP_HANG),
    "sit_to_stand": ExerciseConfig("sit_to_stand", "knee_angle", rest="auto",
                                   min_amplitude=40.0, min_rep_s=0.8, concentric="up",
                                   posture=STANDING),
    "arm_raise": ExerciseConfig("arm_raise", "shoulder_angle", rest="low", min_amplitude=40.0,
                                min_rep_s=0.6, concentric="up"),
}

ALIASES = {
    "squats": "squat", "jacks": "jumping_jacks", "jumping_jack": "jumping_jacks",
    "pushup": "push_up", "pushups": "push_up", "push_ups": "push_up", "push-up": "push_up",
    "lunges": "lunge", "deadlifts": "deadlift", "pullup": "pull_up", "pullups": "pull_up",
    "pull_ups": "pull_up", "pull-up": "pull_up", "sit_to_stands": "sit_to_stand",
    "chair_rise": "sit_to_stand", "arm_raises": "arm_raise", "shoulder_abduction": "arm_raise",
    "lateral_raise": "arm_raise", "front_raise": "arm_raise", "lateral_raises": "arm_raise",
    "front_raises": "arm_raise", "chin_up": "pull_up", "chin_ups": "pull_up",
    "chinup": "pull_up", "chinups": "pull_up", "star_jumps": "jumping_jacks",
    "planks": "plank", "plank_hold": "plank", "front_plank": "plank",
}


def exercise_key(name: str) -> str:
    """The label an exercise name means: "Jumping Jacks", "push-ups", "sit to stand"
    -> jumping_jacks, push_up, sit_to_stand (case, spaces, dashes and aliases ignored)."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


def is_hold(name: str) -> bool:
    """A static hold (plank): timed, not counted; a goal's target is then seconds held."""
    cfg = get_exercise_config(name)
    return cfg is not None and not cfg.counts_reps


def get_exercise_config(name: str, **overrides: object) -> ExerciseConfig | None:
    """The config for an exercise name (as ``exercise_key`` reads it), or None if it has none.

    A goal typed "Jumping Jacks" must get the jumping-jack counter: read with only its
    case ignored, it fell to the generic counter (which counts a plank hold's sway).
    """
    cfg = EXERCISES.get(exercise_key(name))
    if cfg is None:
        return None
    return replace(cfg, **overrides).validate() if overrides else cfg
