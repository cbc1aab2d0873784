"""Package definition of rehab_perception: declared in setup.cfg (read by colcon and pip)."""

from setuptools import setup

setup()
