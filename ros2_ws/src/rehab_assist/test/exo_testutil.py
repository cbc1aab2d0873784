"""Helpers for the exoskeleton tests: key, token and latch files of a test install."""

from __future__ import annotations

from pathlib import Path

OPERATOR_TOKEN = "operator-token-for-tests-0123456789"


def exo_secret_params(directory: Path, name: str) -> list:
    """Parameters that point a controller / exo_assist at test key, token and latch files."""
    from rclpy.parameter import Parameter

    directory.mkdir(parents=True, exist_ok=True)
    token = directory / "operator.token"
    if not token.exists():
        token.write_text(OPERATOR_TOKEN + "\n")
    return [Parameter("goal_key_file", value=str(directory / "exo_goal.key")),
            Parameter("operator_token_file", value=str(token)),
            Parameter("estop_latch_file", value=str(directory / f"{name}.estop"))]


def reset_request(token: str = OPERATOR_TOKEN, who: str = "test operator"):
    from rehab_interfaces.srv import ResetEmergencyStop

    return ResetEmergencyStop.Request(operator_id=who, token=token)
