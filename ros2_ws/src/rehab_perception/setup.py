"""Package definition of rehab_perception (built by colcon, or installed with pip)."""

from setuptools import find_packages, setup

PACKAGE = "rehab_perception"
COMPONENTS = (
    "image_source",
    "pose_estimator",
    "object_detector",
    "skeleton_tracker",
    "action_classifier",
    "repetition_counter",
    "reach_detector",
    "overlay",
    "recorder",
)


def _class_name(role: str) -> str:
    return "".join(part.title() for part in role.split("_")) + "Node"


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
    description=__doc__,
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            *(f"{role}_node = {PACKAGE}.{role}_node:main" for role in COMPONENTS),
        ],
        # like rclcpp_components: the container loads components by these names
        "rehab_runtime.components": [
            f"{role} = {PACKAGE}.{role}_node:{_class_name(role)}" for role in COMPONENTS
        ],
    },
)
