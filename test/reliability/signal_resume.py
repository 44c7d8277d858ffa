#!/usr/bin/env python3
"""Interrupted runs resume to the same bits (issue 15, done-when 2).

For each of SIGINT, SIGTERM and SIGKILL, ROUNDS runs of `offrt train` (the
tiny model, --save-every, --log) are sent the signal at a random time, then
resumed (`--resume`, no --steps: the run's stored target) until they finish.
Each must end with weights and AdamW moments bit for bit those of one
uninterrupted run, and a log holding every step exactly once with the
uninterrupted run's losses. On the way:

* after SIGINT/SIGTERM the process exits 128 + signal (or 0 when the run had
  already finished; or dies of the signal when it came while offrt was
  starting, before its handler, or exiting, after the last checkpoint), and `latest` names the step it was interrupted at (the
  last step it logged);
* after SIGKILL `latest` (or, killed before the first `latest` was written,
  the newest step-N/) names a complete checkpoint no later than
  the last logged step.

    signal_resume.py --build BUILD --fixtures FIXTURES [--rounds 20] [--seed S]
"""

import argparse
import filecmp
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

STEPS = 30
SAVE_EVERY = 4


def steps_logged(path):
    """The step of each line of a JSONL log (a torn last line is not one)."""
    if not os.path.exists(path):
        return []
    steps = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                steps.append(json.loads(line)["step"])
    return steps


def latest_step(save_dir):
    """The checkpoint `--resume save_dir` continues from: the one `latest`
    names, or, when the run was killed between renaming its first step-N/ into
    place and writing `latest`, the newest step-N/ (each is renamed whole)."""
    latest = os.path.join(save_dir, "latest")
    if os.path.exists(latest):
        name = open(latest).read().strip()
    else:
        steps = [int(entry[5:]) for entry in os.listdir(save_dir)
                 if entry.startswith("step-") and entry[5:].isdigit()] \
            if os.path.isdir(save_dir) else []
        if not steps:
            return None
        name = f"step-{max(steps)}"
    assert name.startswith("step-"), f"{latest} names '{name}'"
    state = os.path.join(save_dir, name, "trainer_state.json")
    assert os.path.exists(state), f"{latest} names {name}, which has no trainer_state.json"
    for part in ("model.safetensors", "optimizer.safetensors", "config.json"):
        assert os.path.exists(os.path.join(save_dir, name, part)), f"{name} lacks {part}"
    return int(name[5:])


def losses(path):
    with open(path) as f:
        return [(entry["step"], entry["loss"]) for entry in map(json.loads, f)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    offrt = os.path.join(os.path.abspath(args.build), "bin", "offrt")
    plan = os.path.join(args.fixtures, "plan.bin")
    tokens = os.path.join(args.fixtures, "tok.bin")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed} (rerun with --seed {seed})", flush=True)
    rng = random.Random(seed)
    work = os.path.join(os.path.abspath(args.build), "test", "reliability", "signal_resume")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    def train(save_dir, log, *extra):
        return [offrt, "train", plan, "--data", tokens, "--save-dir", save_dir,
                "--log", log, "--progress-every", "1", *extra]

    # The uninterrupted run, and how long it takes (the window signals fall in).
    ref_dir, ref_log = os.path.join(work, "ref"), os.path.join(work, "ref.jsonl")
    start = time.monotonic()
    subprocess.run(train(ref_dir, ref_log, "--steps", str(STEPS), "--save-every",
                         str(SAVE_EVERY)), check=True, capture_output=True)
    window = time.monotonic() - start
    reference = losses(ref_log)
    assert [s for s, _ in reference] == list(range(1, STEPS + 1)), reference
    ref_final = os.path.join(ref_dir, f"step-{STEPS}")
    print(f"uninterrupted: {STEPS} steps in {window:.3f} s", flush=True)

    failures = 0
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        outcomes = {}
        for round_ in range(args.rounds):
            name = f"{sig.name}-{round_}"
            save_dir, log = os.path.join(work, name), os.path.join(work, name + ".jsonl")
            # When: once step `after` is logged (0: while starting), plus a
            # random part of a step, so that signals land in every phase
            # (loading, a step, a save, the end).
            after = rng.randrange(0, STEPS)
            delay = rng.uniform(0, 0.05 if after == 0 else 1.5 * window / STEPS)
            try:
                process = subprocess.Popen(
                    train(save_dir, log, "--steps", str(STEPS), "--save-every", str(SAVE_EVERY)),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                deadline = time.monotonic() + 30
                while (after and process.poll() is None and time.monotonic() < deadline
                       and len(steps_logged(log)) < after):
                    time.sleep(0.0005)
                time.sleep(delay)
                process.send_signal(sig)
                _, err = process.communicate(timeout=60)
                code = process.returncode
                logged = steps_logged(log)
                last = logged[-1] if logged else 0
                saved = latest_step(save_dir)
                text = err.decode(errors="replace")
                if code == 0:
                    outcome = "finished before the signal"
                    assert saved == STEPS, (code, saved)
                elif sig == signal.SIGKILL:
                    assert code == -signal.SIGKILL, f"exit {code}"
                    assert saved is None or saved <= last, (saved, last)
                    outcome = "killed"
                elif code == -sig and saved == STEPS:
                    # after the trainer returned and restored the default
                    # handlers: the run and its last checkpoint are complete
                    assert logged == list(range(1, STEPS + 1)), (logged, saved)
                    outcome = "signalled while exiting after the last step"
                elif code == -sig:  # before offrt installed its handler
                    assert not logged and saved is None, (logged, saved)
                    outcome = "stopped while starting"
                else:
                    assert code == 128 + sig, f"exit {code}: {text}"
                    if last == 0:
                        assert "before the first step" in text, text
                        assert saved is None
                        outcome = "stopped before the first step"
                    else:
                        assert saved == last, f"latest is step {saved}, the log ends at {last}"
                        assert f"stopped by {sig.name} after step {last}" in text, text
                        outcome = "saved at the interrupted step"
                assert logged == list(range(1, last + 1)), f"log steps {logged}"
                # Resume (or start again when nothing was saved) until done.
                if saved == STEPS:
                    resume = None
                elif saved is None:
                    resume = train(save_dir, log, "--steps", str(STEPS),
                                   "--save-every", str(SAVE_EVERY))
                else:
                    resume = train(save_dir, log, "--resume", save_dir,
                                   "--save-every", str(SAVE_EVERY))
                if resume:
                    done = subprocess.run(resume, capture_output=True, text=True)
                    assert done.returncode == 0, done.stderr
                final = os.path.join(save_dir, f"step-{STEPS}")
                for part in ("model.safetensors", "optimizer.safetensors"):
                    assert filecmp.cmp(os.path.join(final, part), os.path.join(ref_final, part),
                                       shallow=False), f"{part} differs from the uninterrupted run"
                assert losses(log) == reference, "the log differs from the uninterrupted run's"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                shutil.rmtree(save_dir)
            except AssertionError as error:
                failures += 1
                print(f"FAIL {name} (signal {delay * 1e3:.1f} ms after step {after}): {error}",
                      flush=True)
        summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        print(f"{sig.name}: {sum(outcomes.values())}/{args.rounds} resumed bit for bit ({summary})",
              flush=True)
    if failures:
        print(f"{failures} failure(s); seed {seed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
