"""Package definition of rehab_runtime: declared in setup.cfg (read by colcon and pip)."""

from setuptools import setup

setup()
