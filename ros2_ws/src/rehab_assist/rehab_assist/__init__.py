"""Exoskeleton assistance: the policy node that turns reach phases into assistance goals
(``exo_assist_node``), the controllers that carry them out (a simulator and a ros2_control
joint-trajectory adapter, on ``exo_controller_base``) and their stress benchmark."""
