"""ROS 2 adapters of the perception stages: one lifecycle component per stage,
the Python component container, the lifecycle manager and message conversion."""
