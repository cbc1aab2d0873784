"""A guided exercise session: the perception stack, the RunExercise coach, the patient
screen and therapist page (config/coach.yaml), and the exoskeleton pair in /exo.

    ros2 launch rehab_bringup coach.launch.py input:=/dev/video0
    ros2 launch rehab_bringup coach.launch.py exo:=adapter     # a real ros2_control arm

Goals: ``ros2 action send_goal /run_exercise rehab_interfaces/action/RunExercise ...``
or the therapist page (docs/therapist-page.md). No screen attached:
SDL_VIDEODRIVER=dummy.
"""

from rehab_bringup.launch_common import stack_description


def generate_launch_description():
    return stack_description(params_file="coach.yaml", exo="simulator")
