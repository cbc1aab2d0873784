"""A payload as a component in another process receives it (rebuilt from its ROS message)."""

from __future__ import annotations

import dataclasses

from rehab_runtime import codecs


def as_received(codec: codecs.Codec, p: object) -> object:
    """``p`` as a component in another process gets it: rebuilt from its message."""
    return codec.from_msg(codec.to_msg(p))


def on_the_wire(p: object) -> object:
    """``p`` less what stays in the producing process (documented on the core types).

    Skeletons travel whole, 3-D keypoints and their space included: a consumer in another
    process (tracker, classifier, counter) gets the 3-D one in the container does.
    """
    if isinstance(p, codecs.ActionPayload):
        return dataclasses.replace(p, prediction=dataclasses.replace(
            p.prediction, raw_label="", raw_confidence=0.0, extra={}))
    if isinstance(p, codecs.ReachPayload):
        return dataclasses.replace(p, state=dataclasses.replace(
            p.state, index=-1, object_box=None, invalidated=False, onset_index=-1,
            offset_index=-1))
    return p
