"""Package definition of rehab_runtime (built by colcon, or installed with pip)."""

from setuptools import find_packages, setup

PACKAGE = "rehab_runtime"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    package_data={PACKAGE: ["dds/*.xml"]},
    include_package_data=True,
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Rehab stack maintainers",
    maintainer_email="maintainers@rehab-stack.org",
    description=__doc__,
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            f"component_container = {PACKAGE}.container:main",
            f"lifecycle_manager = {PACKAGE}.lifecycle_manager:main",
        ],
    },
)
