"""Package definition of rehab_assist: declared in setup.cfg (read by colcon and pip)."""

from setuptools import setup

setup()
