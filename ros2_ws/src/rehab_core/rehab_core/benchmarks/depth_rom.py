"""Range of motion of one synthetic squat filmed from the front and from the side.

The same 3-D squats (knee 179 -> 90 deg) are rendered into depth images from a
camera in front of the person and one beside them; each frame's projected
keypoints are lifted to 3-D with ``rehab_core.pose.depth`` and counted by the
repetition counter, whose per-rep range of motion is compared with the same
count on the 2-D keypoints. 2-D depends on the viewpoint (the front view hides
knee flexion); 3-D should not. Printed, not asserted (the test asserts).

Run: ``.venv/bin/python -m rehab_core.benchmarks.depth_rom``.
"""

from __future__ import annotations

import numpy as np

from rehab_core.pose import depth_scene as scene
from rehab_core.pose.depth import lift_skeleton
from rehab_core.repetition.angles import bilateral_angle
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.repetition.quality import assess_repetition
from rehab_core.types import Skeleton


def view_rom(yaw_deg: float, reps: int = 3, seed: int = 0) -> dict[str, object]:
    """Counted reps and mean ROM (deg) in 3-D and 2-D for one camera yaw."""
    rng = np.random.default_rng(seed)
    times, depths = scene.squat_depths(reps)
    counters = {"3d": RepetitionCounter("squat"), "2d": RepetitionCounter("squat", use_3d=False)}
    roms: dict[str, list[float]] = {"3d": [], "2d": []}
    spaces: dict[str, set[str]] = {"3d": set(), "2d": set()}
    knee_2d = []
    for t, d in zip(times, depths, strict=True):
        joints = scene.place(scene.squat_pose(float(d)), yaw_deg)
        depth = scene.render_depth(joints)
        depth = depth + rng.normal(0.0, 0.003, depth.shape).astype(np.float32)  # sensor noise
        depth[rng.random(depth.shape) < 0.05] = np.nan  # holes
        kp = scene.pixel_keypoints(joints, depth)
        skeleton = lift_skeleton(Skeleton("coco17", kp), depth, scene.DEFAULT_CAMERA)
        knee_2d.append(float(bilateral_angle(kp, "knee")))
        for space, counter in counters.items():
            for rep in counter.update(skeleton, round(t * 1e9)):
                q = assess_repetition(rep)
                roms[space].append(q.range_of_motion_deg)
                spaces[space].add(q.space)
    knee = np.asarray(knee_2d)
    return {
        "reps_3d": len(roms["3d"]), "rom_3d": float(np.mean(roms["3d"])) if roms["3d"] else None,
        "reps_2d": len(roms["2d"]), "rom_2d": float(np.mean(roms["2d"])) if roms["2d"] else None,
        "knee_2d_excursion": float(np.nanmax(knee) - np.nanmin(knee)),
        "spaces_3d": sorted(spaces["3d"]), "spaces_2d": sorted(spaces["2d"]),
    }


def main() -> int:
    truth = scene.knee_angle(scene.squat_pose(0.0)) - scene.knee_angle(scene.squat_pose(1.0))
    print(f"true knee range of motion: {truth:.1f} deg (3 squats)")
    print("| view | reps 3-D | ROM 3-D deg | reps 2-D | ROM 2-D deg | 2-D knee excursion deg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, yaw in (("front", 0.0), ("oblique 45", 45.0), ("side", 90.0)):
        r = view_rom(yaw)
        rom2 = f"{r['rom_2d']:.1f}" if r["rom_2d"] is not None else "-"
        rom3 = f"{r['rom_3d']:.1f}" if r["rom_3d"] is not None else "-"
        print(f"| {name} | {r['reps_3d']} | {rom3} | {r['reps_2d']} | {rom2} | "
              f"{r['knee_2d_excursion']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
