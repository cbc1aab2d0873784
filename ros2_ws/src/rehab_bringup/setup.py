"""Package definition of rehab_bringup: launch files and their YAML (nav2_bringup style)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "rehab_bringup"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Rehab stack maintainers",
    maintainer_email="maintainers@rehab-stack.org",
    description=__doc__,
    license="Apache-2.0",
)
