"""Launch files and parameter files of the rehab stack (``ros2 launch rehab_bringup ...``)."""
