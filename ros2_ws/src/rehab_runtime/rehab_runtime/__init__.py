"""The framework every ROS package of the stack builds on (no stage logic here).

* ``params``: ``ParamSpec``, parameters checked at configure time;
* ``component``: ``LifecycleComponent``, the base node (transitions, guarded inputs, outputs);
* ``process``: one component or the manager as its own process (``main_for``, signals);
* ``channel``: outputs/inputs, zero-copy between components in one process;
* ``container``: loads components into one process; ``lifecycle_manager`` (+ ``manager_support``):
  brings them up and down, heartbeat, restarts;
* ``stack_config``: the stack's YAML parameter file; ``diagnostics``, ``guards``: health counters
  and callback guards; ``dds``: the Fast DDS profile for camera-sized messages;
* ``codecs`` (+ ``conversions``): payload types and core type <-> message, in one place;
  ``subject``: which skeleton of a frame the per-person stages follow.
"""
