"""A teardown that stalls ends the process with a report instead of hanging (TeardownWatchdog)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(body: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent("""
        import time
        from rehab_runtime.process import TeardownWatchdog
        watchdog = TeardownWatchdog("demo_node", 1.0).start()
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_stall_after_the_components_are_down_exits_0_with_each_threads_stack():
    done = _run("""
        watchdog.at("destroying the nodes")
        time.sleep(30)  # stands for a participant's destruction blocked in native code
    """)
    assert done.returncode == 0, done.stderr
    assert "demo_node: teardown stalled for 1 s while destroying the nodes" in done.stderr
    assert "most recent call first" in done.stderr and "time.sleep" not in done.stdout
    assert "exiting without the rest of the teardown (exit code 0)" in done.stderr


def test_stall_while_stopping_the_components_exits_1():
    done = _run("time.sleep(30)")
    assert done.returncode == 1, done.stderr
    assert "while stopping the components" in done.stderr


def test_teardown_in_time_is_left_alone():
    done = _run("""
        watchdog.at("destroying the nodes")
        watchdog.cancel()
        time.sleep(1.5)
        print("finished")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "finished", done.stderr
    assert "stalled" not in done.stderr
