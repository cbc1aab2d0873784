"""ROS-free core of the rehab stack (installable with pip or colcon)."""

from setuptools import find_packages, setup

PACKAGE = "rehab_core"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Rehab stack maintainers",
    maintainer_email="maintainers@rehab-stack.org",
    description="ROS-free core of the rehab perception stack.",
    license="Apache-2.0",
)
