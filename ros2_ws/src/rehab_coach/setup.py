"""Package definition of rehab_coach: declared in setup.cfg (read by colcon and pip)."""

from setuptools import setup

setup()
