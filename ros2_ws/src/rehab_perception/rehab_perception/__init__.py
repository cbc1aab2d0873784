"""ROS 2 adapters of the perception stages.

* ``lifecycle_component``: the project base node (parameters, transitions, guarded inputs);
* ``<role>_node``: one component per stage (image_source, pose_estimator, ...);
* ``container``: the Python component container (zero-copy ``channel`` between components);
* ``lifecycle_manager``: brings the stack up/down, heartbeat, restarts, diagnostics;
* ``graph.run_graph``: the whole stack in-process on one input, per-frame results back;
* ``conversions`` / ``payloads``: core types <-> messages, in one place.
"""
