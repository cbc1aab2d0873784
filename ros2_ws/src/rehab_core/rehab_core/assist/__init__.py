"""Exoskeleton assistance safety logic (ROS-free): when to assist, when to stop."""

from rehab_core.assist.exo_policy import (
    ExoCommand,
    ExoPolicy,
    ExoPolicyConfig,
    Phase,
)

__all__ = ["ExoCommand", "ExoPolicy", "ExoPolicyConfig", "Phase"]
