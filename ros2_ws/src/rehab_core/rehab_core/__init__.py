"""ROS-free core of the rehab perception stack.

Everything here runs without ROS: models, pre/post-processing, features,
repetition counting, the reach state machine and inference backends. ROS
adapters live in ``rehab_perception`` and ``rehab_coach`` and only wrap this.
"""

__version__ = "0.1.0"
