"""Stress benchmark of the exoskeleton controller: goal floods while the e-stop toggles.

    python -m rehab_assist.exo_stress [--rate 200] [--seconds 10] [--senders 3] [--same-process]

Three sender nodes send ExoAssist goals at ``--rate`` goals/s in total (a mix
of genuine signed goals, unsigned ones, levels above the cap, and durations
that are 0, NaN, -1, inf or very long) to the simulated controller, which
spins a 2-thread executor as in the original finding, in its own process
(as deployed) or, with ``--same-process``, sharing this one (and its GIL)
with the load. A perception feed keeps it fresh; every ~``--toggle`` s an
e-stop is published (alternately reliable and best-effort) and then reset by
the operator.

Printed: goals sent / answered / accepted, and per e-stop the stop latency
from publish to the controller's applied level being zero on both sides
(median, p95, worst), also from the controller's receipt. Times are
CLOCK_MONOTONIC, common to both processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rehab_core.assist import GoalSigner, load_or_create_key

OPERATOR = "stress-operator-token-0123456789abcdef"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _ros(domain: int):
    import rclpy
    from rclpy.context import Context

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    return context


def _simulator(context, secrets: Path):
    from rclpy.parameter import Parameter

    from rehab_assist.exo_simulator_node import ExoSimulatorNode
    from rehab_runtime.component import SUCCESS
    from rehab_runtime.executor import ComponentExecutor

    sim = ExoSimulatorNode(context=context, parameter_overrides=[
        Parameter("goal_key_file", value=str(secrets / "goal.key")),
        Parameter("operator_token_file", value=str(secrets / "operator.token")),
        Parameter("estop_latch_file", value=str(secrets / "sim.estop")),
        Parameter("ramp_s", value=0.05), Parameter("release_s", value=0.05),
        Parameter("max_duration_s", value=2.0)])
    executor = ComponentExecutor(num_threads=2, context=context)
    executor.add_node(sim)
    threading.Thread(target=executor.spin, daemon=True).start()
    if sim.trigger_configure() != SUCCESS or sim.trigger_activate() != SUCCESS:
        raise RuntimeError(f"exo_stress: simulator did not start: {sim.last_error}")
    return sim, executor


def _record(sim) -> dict:
    return {"level_trace": list(sim.level_trace), "estop_received": list(sim.estop_received),
            "rejections": dict(sim.rejections.most_common(8)),
            "goals_received": len(sim.goals_received), "cap": sim.config.max_level}


def serve_simulator(secrets: Path, domain: int, seconds: float) -> int:
    """Child process: the controller alone, for ``seconds``; its record to secrets/sim.json."""
    import rclpy

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())  # the parent is finished: report
    context = _ros(domain)
    sim, executor = _simulator(context, secrets)
    done.wait(seconds)
    record = _record(sim)
    executor.shutdown()
    sim.destroy_node()
    rclpy.shutdown(context=context)
    (secrets / "sim.json").write_text(json.dumps(record))
    return 0


def _stop_latencies(record: dict, publishes: list[float]) -> list[dict]:
    """Per e-stop: publish -> both sides at 0, receipt -> both at 0, assisting at publish."""
    trace, received = record["level_trace"], record["estop_received"]
    out = []
    for p in publishes:
        before = {s: 0.0 for s in ("left", "right")}
        for t, side, level in trace:
            if t < p:
                before[side] = level
        zero = p
        for side in before:
            if before[side] > 0:
                zero = max(zero, min((t for t, s, lvl in trace if s == side and t >= p
                                      and lvl == 0.0), default=math.inf))
        rx = min((t for t in received if t >= p), default=None)
        ok = rx is not None and math.isfinite(zero)
        out.append({"assisting": any(v > 0 for v in before.values()),
                    "publish_to_zero_ms": 1000 * (max(zero, rx) - p) if ok else None,
                    "receipt_to_zero_ms": 1000 * max(0.0, zero - rx) if ok else None})
    return out


def run_stress(rate: float = 200.0, seconds: float = 10.0, senders: int = 3,
               toggle_s: float = 0.5, seed: int = 0, same_process: bool = False) -> dict:
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Bool

    from rehab_interfaces.action import ExoAssist
    from rehab_interfaces.msg import ReachState
    from rehab_interfaces.srv import ResetEmergencyStop
    from rehab_runtime.conversions import make_header
    from rehab_runtime.executor import ComponentExecutor

    rng = random.Random(seed)
    secrets = Path(tempfile.mkdtemp(prefix="exo_stress_"))
    (secrets / "operator.token").write_text(OPERATOR + "\n")
    key = load_or_create_key(secrets / "goal.key")
    domain = int(os.environ.get("ROS_DOMAIN_ID", 170 + os.getpid() % 60))
    context = _ros(domain)
    child = sim = None
    if same_process:
        sim, sim_exec = _simulator(context, secrets)
    else:
        child = subprocess.Popen(
            [sys.executable, "-m", "rehab_assist.exo_stress", "--serve-simulator", str(secrets),
             "--domain", str(domain), "--seconds", str(seconds + 25)])
    io_exec = ComponentExecutor(num_threads=4, context=context)
    nodes = [rclpy.create_node(f"stress_sender_{k}", context=context) for k in range(senders)]
    io = rclpy.create_node("stress_io", context=context)
    for n in (*nodes, io):
        io_exec.add_node(n)
    threading.Thread(target=io_exec.spin, daemon=True).start()
    deep = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    clients = [ActionClient(n, ExoAssist, "exo_assist", goal_service_qos_profile=deep,
                            result_service_qos_profile=deep, cancel_service_qos_profile=deep)
               for n in nodes]
    feed = io.create_publisher(ReachState, "reach_state", 10)
    pubs = [io.create_publisher(Bool, "emergency_stop", 10),
            io.create_publisher(Bool, "emergency_stop", QoSProfile(
                depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))]
    reset = io.create_client(ResetEmergencyStop, "exo_simulator/reset_emergency_stop")
    deadline = time.monotonic() + 20
    while not (all(c.server_is_ready() for c in clients) and reset.service_is_ready()
               and pubs[0].get_subscription_count() and feed.get_subscription_count()):
        if time.monotonic() > deadline:
            raise RuntimeError("exo_stress: discovery timed out")
        time.sleep(0.01)
    signer = GoalSigner(key)
    stop = threading.Event()
    futures: list = []
    flock = threading.Lock()

    def feed_loop() -> None:
        while not stop.wait(1 / 30):
            for side in ("left", "right"):
                feed.publish(ReachState(header=make_header(time.time_ns()), side=side,
                                        phase=0, confidence=0.9))

    def goal() -> ExoAssist.Goal:
        side = rng.choice(["left", "right"])
        level = rng.choice([rng.uniform(0, 1), 1.0, 1.5])
        duration = rng.choice([rng.uniform(0.05, 1.0), 60.0, 0.0, math.nan, -1.0, math.inf])
        g = ExoAssist.Goal(side=side, assist_level=level, max_duration_s=duration)
        if rng.random() < 0.8:
            g.stamp_ns, g.signature = signer.sign(side, g.assist_level, 0, g.max_duration_s)
        return g

    def sender(client) -> None:
        period, nxt = senders / rate, time.monotonic()
        while not stop.is_set():
            fut = client.send_goal_async(goal())
            with flock:
                futures.append(fut)
            nxt += period
            time.sleep(max(0.0, nxt - time.monotonic()))

    workers = [threading.Thread(target=feed_loop, daemon=True)]
    workers += [threading.Thread(target=sender, args=(c,), daemon=True) for c in clients]
    time.sleep(0.2)  # perception fresh before the first goal
    for w in workers:
        w.start()
    publishes: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() + toggle_s < end:
        time.sleep(toggle_s * rng.uniform(0.4, 0.8))
        publishes.append(time.monotonic())
        pubs[len(publishes) % 2].publish(Bool(data=True))
        time.sleep(0.2 * toggle_s)
        for _ in range(50):  # reset once the controller has latched (it says so otherwise)
            fut = reset.call_async(ResetEmergencyStop.Request(operator_id="stress",
                                                              token=OPERATOR))
            t0 = time.monotonic()
            while not fut.done() and time.monotonic() - t0 < 5:
                time.sleep(0.001)
            if fut.done() and fut.result().success:
                break
            time.sleep(0.02)
    time.sleep(max(0.0, end - time.monotonic()))
    stop.set()
    for w in workers:
        w.join(timeout=2)
    t0 = time.monotonic()
    while not all(f.done() for f in futures) and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    answered = [f for f in futures if f.done() and f.result() is not None]
    if same_process:
        record = _record(sim)
        sim_exec.shutdown()
        sim.destroy_node()
    else:
        child.terminate()  # SIGTERM: the child writes its record and exits
        child.wait(timeout=60)
        record = json.loads((secrets / "sim.json").read_text()) \
            if (secrets / "sim.json").exists() else None
    io_exec.shutdown()
    for n in (*nodes, io):
        n.destroy_node()
    rclpy.shutdown(context=context)
    if record is None:
        raise RuntimeError("exo_stress: the controller process left no record")
    estops = _stop_latencies(record, publishes)
    lat = [e["publish_to_zero_ms"] for e in estops if e["publish_to_zero_ms"] is not None]
    lat_on = [e["publish_to_zero_ms"] for e in estops
              if e["assisting"] and e["publish_to_zero_ms"] is not None]
    rx = [e["receipt_to_zero_ms"] for e in estops if e["receipt_to_zero_ms"] is not None]
    return {
        "controller": "same process" if same_process else "own process",
        "goals_sent": len(futures), "goals_answered": len(answered),
        "goals_accepted": sum(1 for f in answered if f.result().accepted),
        "goals_at_controller": record["goals_received"], "rejections": record["rejections"],
        "estops": len(estops), "estops_while_assisting": len(lat_on),
        "estops_missed": len(estops) - len(lat),
        "stop_ms_median": statistics.median(lat) if lat else None,
        "stop_ms_p95": _percentile(lat, 0.95), "stop_ms_worst": max(lat, default=None),
        "stop_ms_worst_while_assisting": max(lat_on, default=None),
        "receipt_to_zero_ms_worst": max(rx, default=None),
        "max_level_applied": max((lvl for _t, _s, lvl in record["level_trace"]), default=0.0),
        "level_cap": record["cap"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rehab_assist.exo_stress", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=200.0, help="goals per second, all senders")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--senders", type=int, default=3)
    ap.add_argument("--toggle", type=float, default=0.5, help="seconds between e-stops")
    ap.add_argument("--same-process", action="store_true",
                    help="run the controller in this process (shares the GIL with the load)")
    ap.add_argument("--serve-simulator", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--domain", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_simulator:
        return serve_simulator(args.serve_simulator, args.domain, args.seconds)
    r = run_stress(args.rate, args.seconds, args.senders, args.toggle,
                   same_process=args.same_process)
    print(f"controller in its {r['controller']}; goals: {r['goals_sent']} sent, "
          f"{r['goals_answered']} answered, {r['goals_accepted']} accepted")
    print(f"rejections: {r['rejections']}")
    print(f"e-stops: {r['estops']} ({r['estops_while_assisting']} while assisting, "
          f"{r['estops_missed']} missed)")
    print(f"stop latency publish -> level 0: median {r['stop_ms_median']:.1f} ms, "
          f"p95 {r['stop_ms_p95']:.1f} ms, worst {r['stop_ms_worst']:.1f} ms "
          f"(worst while assisting {r['stop_ms_worst_while_assisting'] or 0:.1f} ms); "
          f"controller receipt -> level 0 worst {r['receipt_to_zero_ms_worst']:.2f} ms")
    print(f"max level applied {r['max_level_applied']:.3f} (cap {r['level_cap']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
