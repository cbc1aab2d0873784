"""Guided exercise sessions and exoskeleton assistance on top of the perception stack."""
