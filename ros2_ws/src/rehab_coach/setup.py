"""Package definition of rehab_coach (built by colcon, or installed with pip)."""

from setuptools import find_packages, setup

PACKAGE = "rehab_coach"

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
            "run_exercise_server_node = rehab_coach.run_exercise_server_node:main",
            "patient_display_node = rehab_coach.patient_display_node:main",
            "therapist_page_node = rehab_coach.therapist_page_node:main",
        ],
        # loadable into the component container (launch/config/coach.yaml)
        "rehab_runtime.components": [
            "run_exercise_server = rehab_coach.run_exercise_server_node:RunExerciseServerNode",
            "patient_display = rehab_coach.patient_display_node:PatientDisplayNode",
            "therapist_page = rehab_coach.therapist_page_node:TherapistPageNode",
        ],
    },
    package_data={PACKAGE: ["web/*", "strings/*.yaml"]},
    include_package_data=True,
)
