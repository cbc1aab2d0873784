"""Repetition counter: ``skeletons`` (+ ``action``) -> ``repetitions`` (RepetitionEvent).

With ``exercise`` set, it counts that exercise. Left empty, it follows the
action classifier by bouts (``rehab_core.repetition.bout_counter``): every
counted exercise's counter runs in parallel, a run of labels from one
confusion family is one bout named by its confidence-weighted majority, and
a relabel re-emits the bout's repetitions under the new name (a report drops
the overlapped ones of the old name), so a flicker loses no repetition.

``end_of_input`` closes the repetition in progress when the input is over,
as a ``RunExercise`` goal does on input_ended: a recording cut at the top of
the last repetition still counts it. ``rehab run`` calls it at the end of a
file or bag; in a stack (``rehab up``, ``ros2 launch``) the node watches
``/diagnostics`` for an image source's ``input_ended`` and, once no skeletons
have come for ``DRAIN_S`` (the frames in flight are through), publishes what
it closes (``close_at_input_end``; the manager's ``end_of_input: shutdown``
waits for it). Stopped by hand or Ctrl-C, nothing is closed: a camera stopped
mid-movement has not finished a repetition.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.diagnostics import InputEndWatch
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for
from rehab_runtime.subject import main_skeleton


@dataclass(frozen=True)
class RepetitionCounterConfig:
    exercise: str
    follow_action: bool
    use_3d: bool
    close_at_input_end: bool


DRAIN_S = 1.0  # after the input ended, this long without skeletons: the pipeline is through


class RepetitionCounterNode(LifecycleComponent):
    DEFAULT_NAME = "repetition_counter"
    Config = RepetitionCounterConfig
    PARAMS = (
        ParamSpec("exercise", "", "exercise to count ('' = the generic counter)"),
        ParamSpec("follow_action", True, "switch exercise when the recognised action changes"),
        ParamSpec("use_3d", True, "count and measure on 3-D joints when the skeletons carry "
                  "them (depth camera, or the pose model's own 3-D); the repetition's "
                  "quality.angle_space says which"),
        ParamSpec("close_at_input_end", True, "when an image source reports the end of its "
                  "input (its diagnostics' input_ended) and the skeletons stop, publish the "
                  "repetition in progress, as a goal does on input_ended"),
    )

    def configure(self, cfg: RepetitionCounterConfig) -> None:
        from rehab_core.repetition.bout_counter import BoutCounter
        from rehab_core.repetition.counter import RepetitionCounter
        from rehab_core.repetition.quality import assess_repetition

        self._counter_cls = RepetitionCounter
        self._bout_cls = BoutCounter
        self._assess = assess_repetition
        self.counter = self._new_counter()
        self._pending: deque = deque()  # repetitions waiting for a frame stamp of their own
        self._last: tuple[int, str, int] | None = None  # the last frame's stamp, id, track
        self._count_lock = threading.Lock()  # end_of_input comes from the caller's thread
        self._closed = False  # the input's end was counted (end_of_input ran)
        self._input_end = InputEndWatch(self, DRAIN_S)
        self.out_reps = self.create_output("repetitions", codecs.REPETITION)

    def activate(self) -> None:
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)
        if self.config.follow_action and not self.config.exercise:
            self.create_input("action", codecs.ACTION, self.on_action)
        if self.config.close_at_input_end:
            self._input_end.start()
            self.create_component_timer(0.25, self._close_if_input_ended)

    def _close_if_input_ended(self) -> None:
        """Once the input ended and the skeletons stopped: publish the closed repetition."""
        if self._closed or not self._input_end.drained():
            return
        closed = self.end_of_input()
        self.get_logger().info(f"input ended: {len(closed)} repetition(s) in progress closed")
        for payload in closed:
            self.out_reps.publish(payload)

    def _new_counter(self):  # RepetitionCounter or BoutCounter (imported at configure)
        cfg = self.config
        if cfg.exercise or not cfg.follow_action:
            return self._counter_cls(cfg.exercise or None, use_3d=cfg.use_3d)
        return self._bout_cls(use_3d=cfg.use_3d)

    def on_action(self, p: codecs.ActionPayload) -> None:
        with self._count_lock:
            update = self.counter.on_label(p.stamp_ns * 1e-9, p.prediction.label,
                                           float(p.prediction.confidence))
            self._pending.extend(update.emitted)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        """Count the frame; publish at most one repetition on its stamp.

        A relabel can complete several repetitions at once; consumers drop a
        second message on one stamp, so the rest go out on the next frames.
        """
        subject = main_skeleton(p)
        track_id = subject.track_id if subject is not None else -1
        with self._count_lock:
            self._input_end.input_seen()
            self._pending.extend(self.counter.update(subject, p.stamp_ns))
            self._last = (p.stamp_ns, p.frame_id, track_id)
            rep = self._pending.popleft() if self._pending else None
        if rep is not None:
            self.out_reps.publish(self._payload(rep, p.stamp_ns, p.frame_id, track_id))

    def end_of_input(self) -> list[codecs.RepetitionPayload]:
        """The input is over: the counter closes its repetition in progress (``finish``).

        Returns it and any repetition still waiting for a frame, stamped with the
        last frame's stamp. They are returned, not published: the frame they would
        ride on has passed, and a consumer keeps one repetition per stamp."""
        if getattr(self, "_count_lock", None) is None:  # never configured
            return []
        with self._count_lock:
            if self.counter is None or self._last is None or self._closed:
                return []
            self._closed = True
            reps = [*self._pending, *self.counter.finish()]
            self._pending.clear()
            stamp_ns, frame_id, track_id = self._last
        return [self._payload(r, stamp_ns, frame_id, track_id) for r in reps]

    def _payload(self, rep, stamp_ns: int, frame_id: str,
                 track_id: int) -> codecs.RepetitionPayload:
        return codecs.RepetitionPayload(
            stamp_ns=stamp_ns,
            frame_id=frame_id,
            track_id=track_id,
            exercise=rep.exercise,
            count=rep.index + 1,
            start_ns=round(rep.start_t * 1e9),
            end_ns=round(rep.end_t * 1e9),
            quality=self._assess(rep),
        )

    def deactivate(self) -> None:
        self._input_end.stop()
        with self._count_lock:
            self.counter = self._new_counter()
            self._pending.clear()
            self._last = None
            self._closed = False

    def cleanup(self) -> None:
        with self._count_lock:
            self.counter = None


main = main_for(RepetitionCounterNode)
