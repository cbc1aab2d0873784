"""``ros2 param set`` on a component: checked like configure checks it, refused while the
component is configured (it reads its parameters at configure; before, a set value was
reported as set and silently did nothing until the next configure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rclpy.parameter import Parameter

from rehab_runtime.component import SUCCESS, LifecycleComponent
from rehab_runtime.params import ParamSpec

pytestmark = pytest.mark.ros


@dataclass(frozen=True)
class GainConfig:
    gain: float


class GainStage(LifecycleComponent):
    DEFAULT_NAME = "gain_stage"
    Config = GainConfig
    PARAMS = (ParamSpec("gain", 0.5, "how much", 0.0, 1.0),)


def test_set_parameters_are_checked_and_refused_while_configured(ros_context):
    stage = GainStage(context=ros_context)
    try:
        # unconfigured: checked at once, applied at configure
        bad_range, bad_type = stage.set_parameters([Parameter("gain", value=7.0)])[0], \
            stage.set_parameters([Parameter("gain", value="high")])[0]
        assert not bad_range.successful and "above its maximum 1.0" in bad_range.reason
        assert not bad_type.successful and "must be of type float" in bad_type.reason
        assert stage.set_parameters([Parameter("gain", value=0.8)])[0].successful
        assert stage.trigger_configure() == SUCCESS and stage.config.gain == 0.8
        # configured (inactive, then active): refused, with the way to do it
        for step in (lambda: None, stage.trigger_activate):
            step()
            refused = stage.set_parameters([Parameter("gain", value=0.3)])[0]
            assert not refused.successful and "'gain' is read at configure" in refused.reason
            assert "~/shutdown" in refused.reason
            assert stage.get_parameter("gain").value == 0.8 and stage.config.gain == 0.8
        # rclpy's own parameters are not ours to refuse
        assert stage.set_parameters([Parameter("use_sim_time", value=False)])[0].successful
        assert stage.trigger_deactivate() == SUCCESS and stage.trigger_cleanup() == SUCCESS
        assert stage.set_parameters([Parameter("gain", value=0.3)])[0].successful
        assert stage.trigger_configure() == SUCCESS and stage.config.gain == 0.3
    finally:
        stage.destroy_node()


def test_an_integer_for_a_text_parameter_is_its_text():
    """launch and --set read `input:=0` (a camera index) as YAML: the integer 0."""
    from rehab_runtime.params import ConfigRejected

    spec = ParamSpec("input", "", "video file or camera index")
    assert spec.coerce(0) == "0" and spec.coerce("clip.mp4") == "clip.mp4"
    with pytest.raises(ConfigRejected, match="must be of type str"):
        spec.coerce(True)
