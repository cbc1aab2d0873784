"""Package definition of rehab_assist (built by colcon, or installed with pip)."""

from setuptools import find_packages, setup

PACKAGE = "rehab_assist"

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
            "exo_assist_node = rehab_assist.exo_assist_node:main",
            "exo_simulator_node = rehab_assist.exo_simulator_node:main",
            "joint_trajectory_adapter = rehab_assist.joint_trajectory_adapter:main",
        ],
        # loadable into the component container next to the stages
        "rehab_runtime.components": [
            "exo_assist = rehab_assist.exo_assist_node:ExoAssistNode",
            "exo_simulator = rehab_assist.exo_simulator_node:ExoSimulatorNode",
            "joint_trajectory_adapter = "
            "rehab_assist.joint_trajectory_adapter:JointTrajectoryAdapterNode",
        ],
    },
)
