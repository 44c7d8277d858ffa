"""Training, evaluating and checkpointing where the host cannot address the
device tier (a GPU's memory), checked on a machine with no GPU: the CPU
backend's OFF_TEST_DEVICE_NOT_HOST_ADDRESSABLE=1 makes its device arenas
opaque, so every host access (token batches, loss and gradient norm, the
non-finite guard, --save-grads, --eval-data, checkpoints, --init, forward
logits) must take the staged read / write path. Every output must equal,
byte for byte, the run with addressable memory.

Plans: tiny with grad accumulation and clipping (everything on the device);
the same with params and optimizer on the host and AdamW on the host
optimizer's stream without clipping (the guard then reads each gradient
before its update); a forward plan. Issue 14 (the first GPU run failed
here: "arena 'device.0' is in cuda memory the host cannot address").
Needs offc and offrt on PATH (ctest sets it); no torch.
"""

import os
import struct
import sys
import tempfile

from e2e_harness import check, finish, run

KNOB = "OFF_TEST_DEVICE_NOT_HOST_ADDRESSABLE"
MODEL = ["--model", "llama", "--size", "tiny", "--batch", "2", "--seq", "32"]
PLANS = {
    "resident": ["--grad-accum", "2", "--clip", "1.0"],
    "offload": ["--place", "params=host", "--place", "optimizer=host", "--optimizer-stream",
                "--clip", "0", "--remat", "all"],
}


def write_tokens(path, count):
    """llm.c token file (version 1), a fixed pseudo-random sequence."""
    ids, x = [], 777
    for _ in range(count):
        x = (1103515245 * x + 12345) % (1 << 31)
        ids.append(x % 256)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", 20240520, 1, count, *([0] * 253)))
        f.write(struct.pack(f"<{count}H", *ids))


def offrt(args, opaque):
    os.environ[KNOB] = "1" if opaque else "0"
    try:
        return run(["offrt", *args])
    finally:
        os.environ.pop(KNOB, None)


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def main():
    work = tempfile.mkdtemp(prefix="off-staging-")
    data = os.path.join(work, "tokens.bin")
    write_tokens(data, 8192)
    for name, options in PLANS.items():
        plan = os.path.join(work, name + ".plan")
        run(["offc", "compile", *MODEL, *options, "-o", plan])
        outputs = {}
        for opaque in (False, True):
            tag = os.path.join(work, f"{name}-{int(opaque)}")
            common = [plan, "--data", data, "--quiet", "--allow-unpinned"]
            offrt(["train", *common, "--seed", "5", "--steps", "4", "--log", tag + ".jsonl",
                   "--eval-data", data, "--eval-every", "2", "--eval-batches", "2",
                   "--save-grads", tag + ".grads.safetensors", "--save-dir", tag + ".ckpt",
                   "--save-every", "2"], opaque)
            # Resume from step 2 and from --init of the step-4 weights.
            offrt(["train", *common, "--steps", "4", "--resume", tag + ".ckpt/step-2",
                   "--log", tag + ".resumed.jsonl"], opaque)
            offrt(["train", *common, "--steps", "1", "--init", tag + ".ckpt/step-4", "--log", tag + ".init.jsonl"], opaque)
            outputs[opaque] = tag
        plain, staged = outputs[False], outputs[True]
        for suffix in (".jsonl", ".resumed.jsonl", ".init.jsonl"):
            with open(plain + suffix) as a, open(staged + suffix) as b:
                strip = lambda lines: [",".join(l.split(",")[:3]) for l in lines]
                lines_a, lines_b = a.readlines(), b.readlines()
                check(len(lines_a) > 0 and strip(lines_a) == strip(lines_b),
                      f"{name}: {suffix[1:]}: {len(lines_a)} log lines (steps, losses, norms, "
                      f"eval losses) equal with opaque device memory")
        check(same_bytes(plain + ".grads.safetensors", staged + ".grads.safetensors"),
              f"{name}: --save-grads files equal")
        for step in ("step-2", "step-4"):
            ckpt = os.path.join(plain + ".ckpt", step)
            for file in sorted(os.listdir(ckpt)):
                if file.endswith(".safetensors"):
                    check(same_bytes(os.path.join(ckpt, file),
                                     os.path.join(staged + ".ckpt", step, file)),
                          f"{name}: checkpoint {step}/{file} equal")
    # Forward: logits read back from device memory.
    plan = os.path.join(work, "forward.plan")
    run(["offc", "compile", *MODEL, "--forward", "-o", plan])
    for opaque in (False, True):
        offrt(["forward", plan, "--data", data, "--seed", "5", "--allow-unpinned",
               "-o", os.path.join(work, f"logits-{int(opaque)}.safetensors")], opaque)
    check(same_bytes(os.path.join(work, "logits-0.safetensors"),
                     os.path.join(work, "logits-1.safetensors")),
          "forward: logits files equal with opaque device memory")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
