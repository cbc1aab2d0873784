"""The exoskeleton's min_confidence gate reads P(reported phase), not the top class score.

The repository's trained BabyNet runs on synthetic reach sequences; on the
ONSET / REACH frames whose top class is another phase's (e.g. NoR), the
published confidence must be the reported phase's probability, and a gate
set between that and the top score must not fire an assist.
"""

from __future__ import annotations

from rehab_assist.exo_assist_node import gate_input
from rehab_core.assist import ExoPolicy, ExoPolicyConfig, Phase
from rehab_core.paths import repo_file
from rehab_core.reach.keyframes import ReachDetector
from rehab_core.reach.state import PHASE_CLASS, ReachPhase
from rehab_core.reach.synthetic import generate_sequence
from rehab_runtime import codecs

REACHING = (ReachPhase.ONSET, ReachPhase.REACH)


def _reaching_states(seeds: range) -> list:
    detector = ReachDetector.from_dir(repo_file("models/babynet"))
    states = []
    for seed in seeds:
        detector.reset()
        seq = generate_sequence(seed)
        for i, detections in enumerate(seq.detections):
            for s in detector.update(detections, i, (i + 1) * 33_000_000).values():
                if s.phase in REACHING:
                    states.append(s)
    return states


def test_the_gate_reads_the_probability_of_the_reported_phase():
    states = _reaching_states(range(12))
    assert states, "no reach frames in the synthetic sequences"
    other_top = [s for s in states if max(s.scores, key=s.scores.get) != PHASE_CLASS[s.phase]]
    share = len(other_top) / len(states)
    print(f"{len(other_top)}/{len(states)} ONSET/REACH frames ({share:.0%}) have another "
          "phase's class as the top score")
    assert other_top, "the sequences never exercise the case that matters"
    for s in other_top:
        p_phase = s.scores[PHASE_CLASS[s.phase]]
        # what crosses DDS and comes back is the phase probability...
        back = codecs.REACH.from_msg(codecs.REACH.to_msg(
            codecs.ReachPayload(s.stamp_ns, "cam", s))).state
        phase, confidence = gate_input(back)
        assert phase is Phase(s.phase.number)
        assert abs(confidence - p_phase) < 1e-6 < max(s.scores.values()) - p_phase
        # ...so a gate above it does not fire, however confident the top (other) class is
        gate = (p_phase + max(s.scores.values())) / 2
        policy = ExoPolicy(ExoPolicyConfig(min_confidence=gate, debounce_frames=1))
        assert policy.update(0.0, s.side, phase, confidence) == []
    # and a confident reach still fires
    s = max(states, key=lambda x: x.confidence)
    policy = ExoPolicy(ExoPolicyConfig(min_confidence=s.confidence - 1e-3, debounce_frames=1))
    assert [c.command for c in policy.update(0.0, s.side, *gate_input(s))] == ["assist"]
