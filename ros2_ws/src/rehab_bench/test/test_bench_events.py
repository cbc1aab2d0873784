"""The bench's per-frame outputs read the reach phase by name (what event scoring expects)."""

from __future__ import annotations

import numpy as np

from rehab_bench.events import frame_outputs
from rehab_bench.replay import FrameRecord, RunResult
from rehab_core.reach.state import ReachPhase, ReachState
from rehab_core.types import Frame
from rehab_runtime import codecs


def test_reach_phases_become_event_names():
    frames = [Frame(np.zeros((2, 2, 3), np.uint8), i * 10**8, i) for i in range(3)]
    records = []
    for i, phase in enumerate((ReachPhase.NO_REACH, ReachPhase.ONSET, ReachPhase.REACH)):
        state = ReachState("left", phase, i, frames[i].stamp_ns)
        records.append(FrameRecord(frames[i].stamp_ns, i * 0.1, "ok", index=i, outputs={
            "reach": [codecs.ReachPayload(frames[i].stamp_ns, "cam", state)]}))
    out = frame_outputs(RunResult(10.0, records, 0.3, 0.0, 0.0), frames)
    assert [f.reach for f in out] == [{"left": "no_reach"}, {"left": "onset"},
                                      {"left": "reach"}]
