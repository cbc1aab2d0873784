"""Recorder: every stage's outputs -> ``<output_dir>/outputs.jsonl``, one line per source frame.

A frame's line is written when the next frame's skeletons arrive (results
of a frame all carry its stamp, so by then they are complete) and at
deactivation. Lines are ``FrameResult.to_dict()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rehab_core.errors import ConfigError
from rehab_perception import payloads
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for
from rehab_perception.results import FrameResult


@dataclass(frozen=True)
class RecorderConfig:
    output_dir: str


class RecorderNode(LifecycleComponent):
    DEFAULT_NAME = "recorder"
    Config = RecorderConfig
    PARAMS = (ParamSpec("output_dir", "out/recording", "folder for outputs.jsonl"),)

    def configure(self, cfg: RecorderConfig) -> None:
        if not cfg.output_dir:
            raise ConfigError("recorder needs output_dir")
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = None
        self._pending: dict[int, FrameResult] = {}
        self.lines = 0

    def activate(self) -> None:
        # open across activate/deactivate (closed in deactivate), hence no with-block
        path = Path(self.config.output_dir) / "outputs.jsonl"
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.create_input("skeletons", payloads.SKELETONS, self.on_skeletons)
        self.create_input("detections", payloads.DETECTIONS,
                          lambda p: setattr(self._result(p.stamp_ns), "detections", p))
        self.create_input("action", payloads.ACTION,
                          lambda p: setattr(self._result(p.stamp_ns), "action", p))
        self.create_input("repetitions", payloads.REPETITION,
                          lambda p: self._result(p.stamp_ns).repetitions.append(p),
                          check_stamps=False)
        self.create_input("reach", payloads.REACH,
                          lambda p: self._result(p.stamp_ns).reach.append(p), check_stamps=False)

    def _result(self, stamp_ns: int) -> FrameResult:
        if stamp_ns not in self._pending:
            self._pending[stamp_ns] = FrameResult(stamp_ns, index=-1)
        return self._pending[stamp_ns]

    def on_skeletons(self, p: payloads.SkeletonsPayload) -> None:
        self._flush(before_ns=p.stamp_ns)
        result = self._result(p.stamp_ns)
        result.skeletons, result.width, result.height = p, p.width, p.height

    def _flush(self, before_ns: int | None = None) -> None:
        for stamp in sorted(self._pending):
            if before_ns is not None and stamp >= before_ns:
                break
            if self._file is not None:
                self._file.write(json.dumps(self._pending.pop(stamp).to_dict()) + "\n")
                self.lines += 1
        if self._file is not None:
            self._file.flush()

    def deactivate(self) -> None:
        self._flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def cleanup(self) -> None:
        self._pending = {}


main = main_for(RecorderNode)
