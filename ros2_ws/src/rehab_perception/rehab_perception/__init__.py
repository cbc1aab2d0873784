"""ROS 2 adapters of the perception stages, built on ``rehab_runtime``.

* ``<role>_node``: one component per stage (image_source, pose_estimator, ...);
* ``run_graph.run_graph``: the whole stack in-process on one input, per-frame results back;
* ``results``: one frame's outputs as a ``FrameResult``; ``depth_input``: aligned depth.

The framework they use (component base, container, lifecycle manager, codecs) is
``rehab_runtime``.
"""
