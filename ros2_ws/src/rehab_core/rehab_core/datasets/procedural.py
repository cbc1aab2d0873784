"""Procedural 3-D exercise motion: a forward-kinematics body doing every recognition class.

Why: real footage is thin for some classes (lunge, pull-up, sit-to-stand, arm raise) and
views, and ``unknown`` needs many non-exercise movements. A parametric body (proportions,
tempo, range of motion, asymmetry, sway, the pose estimator's jitter and dropouts) doing each
class gives as many 3-D clips as wanted; ``render_clip`` renders them from virtual cameras
like UI-PRMD, and they are never evaluated on (``real=False``, no source fold).

Convention, checked against cached MediaPipe world landmarks: COCO-17, metres, x towards the
person's left, y down, the body facing -z (a front-view nose has z < 0). Centred on the
clip's median hip midpoint: unlike MediaPipe (hips at the origin in every frame) the body
keeps its motion, as UI-PRMD does, so 2-D renderings show a squat's drop or a pull-up's rise.
"""

from __future__ import annotations

import numpy as np

from rehab_core.datasets.corpus import RECOGNITION_LABELS, CorpusClip
from rehab_core.datasets.procedural_body import Body, F, U, X, assemble, estimator_noise

PROCEDURAL_SOURCE = "procedural"
#: per class the variants drawn from (one picked at random per clip)
VARIANTS = {
    "squat": ("bodyweight", "arms_forward", "sumo"),
    "lunge": ("forward", "reverse", "side", "walking"),
    "deadlift": ("romanian", "conventional"), "push_up": ("full", "knees"),
    "pull_up": ("wide", "chin_up"), "jumping_jacks": ("standard",), "plank": ("hands", "forearms"),
    "sit_to_stand": ("arms_hanging", "arms_forward"),
    "arm_raise": ("abduction", "front", "lateral", "one_arm"),
    "unknown": ("walk_turn", "idle", "toe_touch", "twist", "arm_circles", "side_bend", "march",
                "box", "wave", "pick_up", "curl"),
}
# seconds per repetition: 1.2-4 s, except quick movements (a jumping jack takes about 1 s) and
# sitting down and standing up again (2-2.5 s each in a 30-s chair-stand test)
_TEMPO = {"jumping_jacks": (0.8, 1.6), "sit_to_stand": (2.0, 4.5), "arm_circles": (0.7, 1.3),
          "box": (0.6, 1.2), "wave": (0.5, 1.0), "walk_turn": (0.9, 1.3), "march": (0.9, 1.5)}


def _timeline(rng: np.random.Generator, fps: float, reps: int, tempo: tuple[float, float],
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, s, p): idle lead-in, ``reps`` cosine repetitions of s (0 rest, ~1 peak) with per-rep
    tempo and depth and an eccentric/concentric skew, idle lead-out; p is the rep number plus
    its progress (-1 idle)."""
    lead = [int(rng.uniform(0.5, 2.0) * fps) for _ in range(2)]
    period, skew = rng.uniform(*tempo), rng.uniform(0.75, 1.33)
    s_parts, p_parts = [np.zeros(lead[0])], [np.full(lead[0], -1.0)]
    for k in range(reps):
        ph = np.arange(max(int(period * rng.uniform(0.9, 1.1) * fps), 8))
        ph = ph / len(ph)
        s_parts.append(rng.uniform(0.85, 1.0) * (1 - np.cos(2 * np.pi * ph ** skew)) / 2)
        p_parts.append(k + ph)
    s = np.concatenate([*s_parts, np.zeros(lead[1])])
    return np.arange(len(s)) / fps, s, np.concatenate([*p_parts, np.full(lead[1], -1.0)])


def _stand(b: Body, n: int, stance: float = 0.03) -> tuple[np.ndarray, list[np.ndarray]]:
    """Standing pelvis (hip midpoint) and ankle targets on the floor (y up, floor at 0)."""
    pelvis = np.tile([0.0, b.ankle_h + 0.996 * b.leg, 0.0], (n, 1))
    feet = [np.tile([sd * (b.hip_w / 2 + stance), b.ankle_h, 0.0], (n, 1)) for sd in (1, -1)]
    return pelvis, feet


def _legs(feet: list[np.ndarray], out: float = 0.2) -> list[tuple]:
    return [("ik", f, F + sd * out * X) for f, sd in zip(feet, (1, -1))]


def _arms(a, b, flex, n: int) -> list[tuple]:
    """Free arms (world angles, radians); each argument a value or a (left, right) pair."""
    pair = [x if isinstance(x, tuple) else (x, x) for x in (a, b, flex)]
    return [("fk", *(np.broadcast_to(p[i], (n,)) for p in pair)) for i in (0, 1)]


def _exercise(label: str, v: str, rng: np.random.Generator, b: Body, t: np.ndarray,
              s: np.ndarray, p: np.ndarray) -> dict:
    """The class's movement; s is 0 at the rest position (standing, hanging, arms down)."""
    n, rad, u, k = len(t), np.deg2rad, rng.uniform, np.floor(p)
    asym = u(-0.1, 0.1)
    pelvis, feet = _stand(b, n, u(0.0, 0.08))
    sway = 0.01 * np.sin(2 * np.pi * t / u(3, 6) + u(0, 6))
    pelvis[:, 0] += sway + asym * 0.05 * s
    m = {"pelvis": pelvis, "legs": _legs(feet), "lean": rad(u(2, 8)),
         "arms": _arms(rad(u(0, 15)) + 0.1 * s, rad(u(4, 14)), rad(u(5, 40)), n)}
    if label == "squat":
        if v == "sumo":
            pelvis, feet = _stand(b, n, u(0.15, 0.3))
            m.update(pelvis=pelvis, legs=_legs(feet, 0.9))
        depth = u(0.3, 1.0)
        pelvis[:, 1] -= depth * 0.5 * b.leg * s
        pelvis[:, 2] += 0.12 * depth * s
        m["lean"] = rad(u(3, 10) + u(25, 45) * depth * s * (0.5 if v == "sumo" else 1.0))
        if v == "arms_forward":
            m["arms"] = _arms(rad(10) + rad(u(70, 90)) * s, rad(5), rad(5), n)
        elif v == "sumo":
            m["arms"] = _arms(rad(40), rad(-10), rad(80), n)
    elif label == "lunge":
        step, drop = u(0.5, 0.85) * b.leg, u(0.3, 0.45) * b.leg
        g = np.clip(s * 1.7, 0, 1)
        first = rng.choice([1, -1])
        lead = np.where(k % 2 == 0, first, -first) if v == "walking" or u() < 0.4 else first
        for i, sd in enumerate((1, -1)):
            on = (lead == sd) & (k >= 0)
            if v == "side":
                feet[i][:, 0] += on * sd * step * g
                pelvis[:, 0] += on * sd * 0.55 * step * g
            else:
                way = 1 if v == "reverse" else -1  # +z is backwards
                feet[i][:, 2] += on * way * step * g
                feet[i][:, 1] += on * 0.06 * np.sin(np.pi * g) * (s < 0.6) + ~on * 0.04 * s
                pelvis[:, 2] += on * way * 0.5 * step * g
        pelvis[:, 1] -= (0.6 if v == "side" else 1.0) * drop * s
        m["lean"] = rad(u(2, 8) + (u(10, 25) if v == "side" else u(0, 10)) * s)
    elif label == "deadlift":
        knee = u(0.15, 0.3) if v == "conventional" else u(0.02, 0.1)
        pelvis[:, 1] -= knee * b.leg * s
        pelvis[:, 2] += u(0.08, 0.18) * s
        m["lean"] = rad(u(3, 8) + u(55, 85) * s)
        m["arms"] = _arms(0.0, rad(u(4, 10)), rad(3), n)
    elif label in ("push_up", "plank"):
        m.update(_horizontal(label, v, rng, b, t, s))
    elif label == "pull_up":
        grip = (u(0.1, 0.3) if v == "wide" else u(-0.05, 0.05)) + b.shoulder_w / 2
        top = b.ankle_h + b.leg + b.torso + b.arm + u(0.1, 0.4)
        hang = top - 0.97 * b.arm - b.torso
        pelvis = np.tile([0.0, hang, 0.0], (n, 1))
        pelvis[:, 1] += (0.97 - u(0.2, 0.45)) * b.arm * s
        pelvis[:, 2] += 0.03 * np.sin(2 * np.pi * t / u(2, 4))
        bar = [np.tile([sd * grip, top, 0.0], (n, 1)) for sd in (1, -1)]
        pole = (lambda sd: sd * X - 0.5 * U) if v == "wide" else (lambda sd: F - 0.4 * U)
        knees = rad(u(0, 80))
        m = {"pelvis": pelvis, "lean": rad(-u(0, 15)) * s,
             "arms": [("ik", w, pole(sd)) for w, sd in zip(bar, (1, -1))],
             "legs": [("fk", rad(u(0, 25)) + 0 * s, rad(3), knees + 0 * s)] * 2}
    elif label == "jumping_jacks":
        spread, hop = u(0.2, 0.45), u(0.02, 0.08) * np.abs(np.sin(2 * np.pi * s))
        for i, sd in enumerate((1, -1)):
            feet[i][:, 0] += sd * spread * s
            feet[i][:, 1] += hop
        pelvis[:, 1] += hop
        m["arms"] = _arms(rad(5), (rad(10) + rad(u(140, 165) * (1 + asym)) * s,
                                   rad(10) + rad(u(140, 165) * (1 - asym)) * s), rad(10), n)
    elif label == "sit_to_stand":
        seat_y = b.ankle_h + b.shin * u(0.95, 1.05)
        up = np.clip((s - 0.15) / 0.85, 0, 1)
        pelvis[:, 1] = seat_y + (pelvis[:, 1] - seat_y) * up * up * (3 - 2 * up)
        pelvis[:, 2] += (1 - s) * b.thigh * u(0.85, 1.0)
        m["lean"] = rad(u(2, 12) + u(25, 45) * np.sin(np.pi * np.clip(s * 1.2, 0, 1)))
        if v == "arms_forward":
            m["arms"] = _arms(rad(20) + rad(u(40, 70)) * np.sin(np.pi * s), rad(5), rad(5), n)
    elif label == "arm_raise":
        peak = rad(u(80, 100) if v == "lateral" else u(120, 170))
        ang = (peak * (1 + asym) * s, peak * (1 - asym) * s if v != "one_arm" else 0 * s)
        if v == "one_arm" and u() < 0.5:
            ang = ang[::-1]
        flex = rad(u(10, 25)) if v == "lateral" else rad(8)
        if v == "front":
            m["arms"] = _arms((rad(5) + ang[0], rad(5) + ang[1]), rad(8), flex, n)
        else:  # abduction in the frontal plane, or scaption when slightly forward
            m["arms"] = _arms(rad(u(0, 30)), (rad(8) + ang[0], rad(8) + ang[1]), flex, n)
    else:
        extra = _unknown(v, rng, b, t, s, p, feet)
        pelvis[:, 1] -= extra.pop("drop", 0.0)
        m.update(extra)
    return m


def _horizontal(label: str, v: str, rng: np.random.Generator, b: Body, t: np.ndarray,
                s: np.ndarray) -> dict:
    """Push-up / plank: a near-straight body pivoting on the toes (or knees), hands (or
    forearms) planted on the floor; a push-up lowers the shoulders by bending the elbows."""
    rad, u = np.deg2rad, rng.uniform
    knees, forearms = v == "knees", v == "forearms"
    pivot = np.array([0.0, 0.06 if knees else 1.5 * b.ankle_h, 0.0])
    reach = b.thigh if knees else 0.996 * b.leg
    length, wrist_h = reach + b.torso, 0.04
    high = wrist_h + (b.upper_arm if forearms else 0.97 * b.arm)
    if label == "plank":
        h = high + 0.005 * np.sin(2 * np.pi * t / u(2, 4))
    else:
        h = high - (1 - u(0.3, 0.6)) * b.arm * s
    theta = np.arcsin(np.clip((h - pivot[1]) / length, -1, 1))
    along = np.stack([0 * theta, np.sin(theta), -np.cos(theta)], -1)  # feet -> head
    top = -length * np.cos(np.arcsin((high - pivot[1]) / length))
    out = b.shoulder_w / 2 * (0.85 if forearms else u(1.0, 1.5))
    fwd = 0.95 * b.forearm if forearms else u(0.0, 0.08)
    hands = [np.tile([sd * out, wrist_h, top - fwd], (len(t), 1)) for sd in (1, -1)]
    pole = [(-U - 0.5 * F) if forearms else (sd * 0.5 * X - 0.8 * F + 0.3 * U)
            for sd in (1, -1)]
    if knees:
        lift = rad(u(10, 45))
        feet = [pivot + b.shin * np.array([sd * 0.0, np.sin(lift), np.cos(lift)])
                + sd * b.hip_w / 2 * X for sd in (1, -1)]
    else:
        feet = [pivot + sd * b.hip_w / 2 * X for sd in (1, -1)]
    sag = rad(u(-5, 5)) + rad(1.5) * np.sin(2 * np.pi * t / u(3, 6))
    return {"pelvis": pivot + reach * along, "lean": np.pi / 2 - theta + sag,
            "arms": [("ik", w, q) for w, q in zip(hands, pole)],
            "legs": [("ik", np.tile(f, (len(t), 1)), -U) for f in feet]}


def _unknown(v: str, rng: np.random.Generator, b: Body, t: np.ndarray, s: np.ndarray,
             p: np.ndarray, feet: list[np.ndarray]) -> dict:
    """Non-exercise movement that shares parts of exercises (bends, raises, steps)."""
    n, rad, u = len(t), np.deg2rad, rng.uniform
    sgn = np.where(np.floor(p) % 2 == 0, 1.0, -1.0) * (p >= 0)
    m: dict = {}
    if v in ("walk_turn", "march"):
        lift = u(0.06, 0.14) if v == "walk_turn" else u(0.25, 0.4)
        for i, sd in enumerate((1, -1)):
            on = (sgn == sd) * s * lift
            feet[i][:, 1] += on
            feet[i][:, 2] -= 0.7 * on
        swing = sgn * s * rad(u(15, 35))
        m["arms"] = _arms((rad(5) - swing, rad(5) + swing), rad(8), rad(20), n)
        if v == "walk_turn":
            m["yaw"] = rad(u(-200, 200)) * t / t[-1]
    elif v == "idle":
        m["arms"] = _arms((rad(5) + rad(u(90, 140)) * s, rad(5)), rad(8),
                          (rad(10) + rad(u(90, 130)) * s, rad(10)), n)
    elif v in ("toe_touch", "pick_up"):
        m["lean"] = rad(u(2, 8) + (u(90, 115) if v == "toe_touch" else u(50, 80)) * s)
        m["arms"] = _arms(rad(u(0, 25)) * s, rad(5), rad(8), n)
        drop = u(0.0, 0.05) if v == "toe_touch" else u(0.2, 0.4)
        m["drop"] = drop * b.leg * s
    elif v == "twist":
        m["twist"] = sgn * s * rad(u(30, 55))
        m["arms"] = _arms(rad(u(60, 90)), rad(10), rad(u(60, 110)), n)
    elif v == "arm_circles":
        ang = 2 * np.pi * p * (p >= 0)
        m["arms"] = _arms(rad(15) * np.sin(ang), rad(80) + rad(15) * np.cos(ang), rad(5), n)
    elif v == "side_bend":
        m["bend"] = sgn * s * rad(u(20, 35))
    elif v == "box":
        punch = [s * (sgn == sd) for sd in (1, -1)]
        m["arms"] = _arms(tuple(rad(30) + rad(55) * q for q in punch), rad(15),
                          tuple(rad(120) - rad(115) * q for q in punch), n)
        m["twist"] = -sgn * s * rad(15)
    elif v == "wave":
        m["arms"] = _arms((rad(10), rad(5)), (rad(130) + rad(20) * np.sin(4 * np.pi * p) * s,
                                            rad(8)), (rad(30), rad(10)), n)
    elif v == "curl":
        m["arms"] = _arms(rad(5), rad(8), rad(10) + rad(u(110, 140)) * s, n)
    return m


def procedural_clip(label: str, rng: np.random.Generator, fps: float = 30.0, name: str = "",
                    variant: str | None = None) -> CorpusClip:
    """One random person doing ``label`` (a random or the given ``variant``)."""
    v = variant or str(rng.choice(VARIANTS[label]))
    b = Body.random(rng)
    reps = 1 if v == "pick_up" else int(rng.integers(3, 9))
    tempo = _TEMPO.get(v, _TEMPO.get(label, (1.2, 4.0)))
    if label == "plank":
        t = np.arange(int(rng.uniform(4, 10) * fps)) / fps
        s, p = np.zeros(len(t)), np.full(len(t), -1.0)
    else:
        t, s, p = _timeline(rng, fps, reps, tempo)
    m = _exercise(label, v, rng, b, t, s, p)
    # the camera's view of the body (canonicalisation removes it again, as for real clips)
    m["yaw"] = m.get("yaw", 0.0) + np.deg2rad(rng.choice([0, 0, 90, -90, 45, -45, 180])
                                              + rng.normal(0, 10))
    joints = assemble(b, m)
    joints -= np.median(joints[:, 11:13].mean(axis=1), axis=0)
    joints[..., 1] *= -1.0  # y down, like the pose model's world landmarks
    world = estimator_noise(np.concatenate([joints, np.ones((*joints.shape[:2], 1))], 2), rng)
    counted = label not in ("plank", "unknown")
    return CorpusClip(
        name=name or f"procedural_{label}_{v}", label=label, source=PROCEDURAL_SOURCE,
        keypoints=None, stamps_ns=np.round(t * 1e9).astype(np.int64), fps=float(fps),
        world=world.astype(np.float32), true_count=reps if counted else None, view="",
        real=False)


def procedural_clips(per_class: int, seed: int = 0, fps: float = 30.0) -> list[CorpusClip]:
    """``per_class`` clips of every recognition label, deterministic for ``seed`` (each clip
    has its own generator, so asking for more clips keeps the first ones)."""
    return [procedural_clip(label, np.random.default_rng([seed, li, i]), fps,
                            f"procedural_{label}_{i:03d}")
            for li, label in enumerate(RECOGNITION_LABELS) for i in range(per_class)]
