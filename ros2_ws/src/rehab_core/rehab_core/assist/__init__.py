"""Exoskeleton assistance safety logic (ROS-free): when to assist, when to stop, who may ask."""

from rehab_core.assist.auth import (
    EstopLatch,
    GoalSigner,
    GoalVerifier,
    load_or_create_key,
    read_secret,
    token_matches,
)
from rehab_core.assist.exo_controller import ControllerLimits, Decision, ExoController, Run
from rehab_core.assist.exo_policy import (
    ExoCommand,
    ExoPolicy,
    ExoPolicyConfig,
    Phase,
)

__all__ = ["ControllerLimits", "Decision", "EstopLatch", "ExoCommand", "ExoController",
           "ExoPolicy", "ExoPolicyConfig", "GoalSigner", "GoalVerifier", "Phase", "Run",
           "load_or_create_key", "read_secret", "token_matches"]
