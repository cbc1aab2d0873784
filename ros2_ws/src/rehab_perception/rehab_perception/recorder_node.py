"""Recorder: every stage's outputs -> ``<output_dir>/outputs.jsonl`` and a rosbag2.

A frame's line is written when the next frame's skeletons arrive (results
of a frame all carry its stamp, so by then they are complete) and at
deactivation. Lines are ``FrameResult.to_dict()``.

Every received output is also written, as the ROS message its producer
publishes, to the rosbag2 ``<output_dir>/outputs_bag`` (``bag_storage``:
mcap, sqlite3, or none), on the recorder's resolved input topic names
(after remapping, e.g. ``/tracked_skeletons``) with the output's source
stamp as receive time, so ``ros2 bag play`` replays the results in step
with the input. A topic enters the bag with its first message (as with
``ros2 bag record``), with the QoS its codec offers. Each activation writes
a new bag (``outputs_bag_1``, ``outputs_bag_2`` ... when earlier ones
exist; none is overwritten), closed, and so finalised with its
``metadata.yaml``, on deactivate, cleanup or shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rclpy.qos import QoSProfile
from rclpy.serialization import serialize_message

from rehab_core import jsonsafe
from rehab_core.errors import ConfigError
from rehab_core.io.output_bag import STORAGES, OutputBagWriter, TopicQos, new_bag_path
from rehab_perception.results import FrameResult
from rehab_runtime import codecs
from rehab_runtime.assembler import FrameAssembler
from rehab_runtime.channel import Input, finite_message, resolved_topic
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

BAG_NAME = "outputs_bag"


@dataclass(frozen=True)
class RecorderConfig:
    output_dir: str
    bag_storage: str = "mcap"


def offered_qos(profile: QoSProfile) -> TopicQos:
    """An rclpy profile in the rmw terms rosbag2 records (enum names match rmw's)."""
    return TopicQos(
        history=profile.history.name.lower(),
        depth=int(profile.depth),
        reliability=profile.reliability.name.lower(),
        durability=profile.durability.name.lower(),
        liveliness=profile.liveliness.name.lower(),
        deadline_ns=profile.deadline.nanoseconds,
        lifespan_ns=profile.lifespan.nanoseconds,
        liveliness_lease_duration_ns=profile.liveliness_lease_duration.nanoseconds,
        avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions),
    )


def msg_type_name(msg_type: type) -> str:
    """``pkg/msg/Type`` of a generated ROS message class."""
    package = msg_type.__module__.split(".")[0]
    return f"{package}/msg/{msg_type.__name__}"


class RecorderNode(LifecycleComponent):
    DEFAULT_NAME = "recorder"
    Config = RecorderConfig
    PARAMS = (
        ParamSpec("output_dir", "out/recording", "folder for outputs.jsonl and outputs_bag/"),
        ParamSpec("bag_storage", "mcap",
                  "rosbag2 storage of <output_dir>/outputs_bag (a new outputs_bag_N per "
                  "activation if it exists); none: no bag", choices=(*STORAGES, "none")),
    )

    def configure(self, cfg: RecorderConfig) -> None:
        if not cfg.output_dir:
            raise ConfigError("recorder needs output_dir")
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        if cfg.bag_storage not in (*STORAGES, "none"):  # ParamSpec choices check it first
            raise ConfigError(f"recorder bag_storage {cfg.bag_storage!r} must be one of "
                              f"{[*STORAGES, 'none']}")
        self._file: IO[str] | None = None
        self._frames = FrameAssembler()  # this frame's outputs by stamp, until written
        self.lines = 0
        self.bag: OutputBagWriter | None = None
        self.bag_path: Path | None = None

    def activate(self) -> None:
        # open across activate/deactivate (closed in deactivate), hence no with-block
        path = Path(self.config.output_dir) / "outputs.jsonl"
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
        if self.config.bag_storage != "none":
            self.bag_path = new_bag_path(self.config.output_dir, BAG_NAME)
            self.bag = OutputBagWriter.open(self.bag_path, self.config.bag_storage)
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)
        self.create_input("detections", codecs.DETECTIONS, self._keeper("detections"))
        self.create_input("action", codecs.ACTION, self._keeper("action"))
        self.create_input("repetitions", codecs.REPETITION, self._keeper("repetition"),
                          check_stamps=False)
        self.create_input("reach", codecs.REACH, self._keeper("reach"), check_stamps=False)
        # 3-D joints: in the JSON lines with their skeletons; in the bag as published
        self.create_input("skeletons_3d", codecs.SKELETONS_3D, lambda p: None)

    def create_input(self, topic: str, codec: codecs.Codec, handler: Any, *,
                     check_stamps: bool = True) -> Input:
        """The base's input, whose payloads also go to the bag under the resolved topic name."""
        if getattr(self, "bag", None) is None:
            return super().create_input(topic, codec, handler, check_stamps=check_stamps)
        name = resolved_topic(self, topic)

        def record(payload: Any) -> None:
            handler(payload)
            self._to_bag(name, codec, payload)

        return super().create_input(topic, codec, record, check_stamps=check_stamps)

    def _to_bag(self, topic: str, codec: codecs.Codec, payload: Any) -> None:
        bag = self.bag
        if bag is None or not bag.is_open:
            return
        if not bag.has_topic(topic):
            bag.add_topic(topic, msg_type_name(codec.msg_type), offered_qos(codec.qos))
        bag.write(topic, payload.stamp_ns, serialize_message(finite_message(codec.to_msg(payload))))

    def _keeper(self, kind: str) -> Any:
        return lambda payload: self._frames.add(kind, payload)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        self._flush(before_ns=p.stamp_ns)
        self._frames.add("skeletons", p)

    def _flush(self, before_ns: int | None = None) -> None:
        for stamp in self._frames.stamps():
            if before_ns is not None and stamp >= before_ns:
                break
            if self._file is not None:
                result = FrameResult.from_frame(self._frames.take(stamp))
                if result.skeletons is not None:
                    result.width, result.height = result.skeletons.width, result.skeletons.height
                # strict JSON: NaN / inf from any producer become null
                self._file.write(jsonsafe.dumps(result.to_dict()) + "\n")
                self.lines += 1
        if self._file is not None:
            self._file.flush()

    def deactivate(self) -> None:
        self._flush()
        if self._file is not None:
            self._file.close()
            self._file = None
        self._close_bag()

    def _close_bag(self) -> None:
        bag, self.bag = getattr(self, "bag", None), None
        if bag is not None:
            bag.close()
            self.get_logger().info(f"bag {bag.path}: {sum(bag.counts.values())} messages")

    def cleanup(self) -> None:
        self._close_bag()
        self._frames.clear()


main = main_for(RecorderNode)
