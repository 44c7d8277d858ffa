"""`offc compile` + `offrt train` / `offrt forward` against PyTorch, end to end.

transformers' LlamaForCausalLM (fp32, eager attention, HF init from a fixed
torch seed) is saved as safetensors and trained for 20 steps of
torch.optim.AdamW (foreach=False) with clip_grad_norm_ and gradient
accumulation 2 (`(loss / 2).backward()` per micro-batch), on an llm.c token
file read in llm.c's order (torch_training.py). offc compiles the same model
and hyper-parameters; offrt runs from the same weights and file. Checked:

* step-0 logits of micro-batch 0 (`offrt forward`):  rel <= 1e-5
* every element of every parameter's step-1 gradient (`--save-grads`):
  |ours - torch| <= 1e-5 * |torch| + GRAD_FLOOR, GRAD_FLOOR = 2e-5 * the
  tensor's RMS (see below)
* all 20 losses and all 20 global gradient norms (`--log`): rel <= 1e-5

For logits, rel is max|ours - torch| / max|torch| over the tensor (for a
loss or a norm, a scalar: |ours - torch| / |torch|). The worst of each kind
is printed.

The gradient floor: a weight gradient element is an f32 sum over the B*T
rows of a micro-batch (256 in the wide case) of products whose sizes are
those of the tensor's typical element, so its rounding error is about
sqrt(B*T) * 2^-24 of that size (measured: at most 3.7e-6 of the RMS).
Elements far below the RMS, where the sum cancels, cannot hold 1e-5 of
their own size; they are held to 2e-5 of the RMS instead. Measured worst
(|ours - torch| / (1e-5 |torch| + floor)): about 0.1 tiny, 0.5 wide.

Cases: `--case tiny` (models/llama/tiny.json) and `--case wide` (hidden 256,
4 layers, 8 heads / 2 KV heads, intermediate 688, vocab 512: kernels at real
sizes; its config.json is written into the work directory).
`--check-residency` runs offrt train under the residency checker.
Run by ctest (off_python_test); needs offc and offrt on PATH.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import BUILD_DIR, SOURCE_DIR, check, finish, run  # noqa: E402
import torch_training as ref  # noqa: E402


LOGITS_RTOL = 1e-5
GRAD_RTOL = 1e-5
GRAD_FLOOR_OF_RMS = 2e-5
LOSS_RTOL = 1e-5
NORM_RTOL = 1e-5
STEPS = 20
ACCUM = 2
SEED = 1234
# Not torch's defaults on purpose, so each option has to reach the AdamW step.
HYPER = {"lr": 2e-3, "beta1": 0.85, "beta2": 0.99, "eps": 1e-7,
         "weight_decay": 0.05, "clip": 1.0}

WIDE_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4,
    "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 512,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "initializer_range": 0.02, "hidden_act": "silu",
    "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
    "torch_dtype": "float32",
}
CASES = {  # name: (batch, seq); the file holds 13 windows, so the run wraps
    "tiny": (4, 64),
    "wide": (2, 128),
}


def rel_error(ours, theirs):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    scale = np.abs(theirs).max()
    return float(np.abs(ours - theirs).max() / scale) if scale else float(
        np.abs(ours).max())


def compile_plans(config, batch, seq, workdir):
    model = ["--model", "llama", "--config", config,
             "--batch", str(batch), "--seq", str(seq)]
    train_plan = os.path.join(workdir, "train.bin")
    forward_plan = os.path.join(workdir, "forward.bin")
    run(["offc", "compile", *model, "--grad-accum", str(ACCUM),
         "--lr", str(HYPER["lr"]), "--beta1", str(HYPER["beta1"]),
         "--beta2", str(HYPER["beta2"]), "--eps", str(HYPER["eps"]),
         "--weight-decay", str(HYPER["weight_decay"]),
         "--clip", str(HYPER["clip"]), "-o", train_plan])
    run(["offc", "compile", *model, "--forward", "-o", forward_plan])
    return train_plan, forward_plan


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_logits(out_path, inputs, torch_logits, label):
    out = load_file(out_path)
    check(np.array_equal(out["input_ids"].astype(np.int64), inputs.numpy()),
          f"{label}: offrt forward read micro-batch 0 as the reference did")
    logits = out["logits"]
    check(logits.shape == tuple(torch_logits.shape),
          f"{label}: logits shape {logits.shape} vs {tuple(torch_logits.shape)}")
    if logits.shape == tuple(torch_logits.shape):
        rel = rel_error(logits, torch_logits.numpy())
        check(rel <= LOGITS_RTOL,
              f"{label}: step-0 logits rel {rel:.2e} (<= {LOGITS_RTOL})")


def check_gradients(grads_path, torch_grads, label):
    ours = load_file(grads_path)
    missing = sorted(set(torch_grads) - set(ours))
    extra = sorted(set(ours) - set(torch_grads))
    check(not missing and not extra,
          f"{label}: --save-grads holds the {len(torch_grads)} HF parameters"
          + (f" (missing {missing[:3]}, extra {extra[:3]})"
             if missing or extra else ""))
    worst, worst_name = 0.0, None
    for name, theirs in torch_grads.items():
        if name not in ours or ours[name].shape != tuple(theirs.shape):
            check(name in ours, f"{label}: gradient of {name} present, "
                  f"shape {tuple(theirs.shape)}")
            continue
        t = theirs.numpy().astype(np.float64)
        diff = np.abs(ours[name].astype(np.float64) - t)
        floor = GRAD_FLOOR_OF_RMS * np.sqrt(np.mean(t * t))
        ratio = float((diff / (GRAD_RTOL * np.abs(t) + floor)).max())
        if ratio > 1.0:
            at = np.unravel_index(np.argmax(diff / (GRAD_RTOL * np.abs(t) + floor)), t.shape)
            check(False, f"{label}: gradient of {name} at {tuple(int(i) for i in at)}: "
                  f"{ours[name][at]:.9g} vs torch {t[at]:.9g} (floor {floor:.2e})")
        if ratio >= worst:
            worst, worst_name = ratio, name
    check(worst <= 1.0, f"{label}: every element of every step-1 gradient within "
          f"{GRAD_RTOL} relative + {GRAD_FLOOR_OF_RMS} x RMS (worst at "
          f"{worst:.2f} of the bound, {worst_name})")


def check_losses(log, torch_losses, torch_norms, label):
    check([entry["step"] for entry in log] == list(range(1, STEPS + 1)),
          f"{label}: the log has steps 1..{STEPS}")
    if len(log) != STEPS:
        return
    print(f"{'step':>4} {'offrt loss':>12} {'torch loss':>12} {'rel':>9}"
          f" {'offrt norm':>11} {'torch norm':>11} {'rel':>9}")
    worst_loss = worst_norm = 0.0
    for i, entry in enumerate(log):
        loss_rel = rel_error(entry["loss"], torch_losses[i])
        norm_rel = rel_error(entry["grad_norm"], torch_norms[i])
        worst_loss, worst_norm = max(worst_loss, loss_rel), max(worst_norm, norm_rel)
        print(f"{i + 1:>4} {entry['loss']:>12.7f} {torch_losses[i]:>12.7f} "
              f"{loss_rel:>9.2e} {entry['grad_norm']:>11.6f} "
              f"{torch_norms[i]:>11.6f} {norm_rel:>9.2e}")
    check(worst_loss <= LOSS_RTOL,
          f"{label}: all {STEPS} losses rel <= {LOSS_RTOL} (worst {worst_loss:.2e})")
    check(worst_norm <= NORM_RTOL, f"{label}: all {STEPS} global gradient norms rel "
          f"<= {NORM_RTOL} (worst {worst_norm:.2e})")
    clipped = sum(norm > HYPER["clip"] for norm in torch_norms)
    print(f"  clipping was active in {clipped} of {STEPS} steps "
          f"(global norm > {HYPER['clip']})")
    check(all(abs(entry["lr"] - HYPER["lr"]) <= 1e-12 for entry in log),
          f"{label}: the log's lr is the compiled {HYPER['lr']}")
    check(torch_losses[-1] < torch_losses[0] - 0.1,
          f"{label}: the reference learns ({torch_losses[0]:.3f} -> "
          f"{torch_losses[-1]:.3f}), so the comparison is not of a flat run")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="tiny")
    parser.add_argument("--check-residency", action="store_true")
    parser.add_argument("--threads", type=int, default=2,
                        help="offrt train --threads")
    args = parser.parse_args()
    label = args.case + (" (--check-residency)" if args.check_residency else "")
    batch, seq = CASES[args.case]
    # One torch thread: the reference's speed does not matter, and on a
    # shared 2-core machine torch's 2 OpenMP threads took 150 s where one
    # took 9 s (its workers spin against the other processes).
    torch.set_num_threads(1)

    workdir = os.path.join(BUILD_DIR, "test", "e2e", "train_vs_torch_" +
                           args.case + ("_residency" if args.check_residency else ""))
    os.makedirs(workdir, exist_ok=True)
    if args.case == "tiny":
        config = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
    else:
        config = os.path.join(workdir, "config.json")
        with open(config, "w") as f:
            json.dump(WIDE_CONFIG, f, indent=2)

    model = ref.build_model(config, SEED)
    vocab = model.config.vocab_size
    weights = os.path.join(workdir, "init.safetensors")
    ref.save_weights(model, weights)
    tokens = ref.markov_tokens(vocab, 13 * batch * seq + 1 + seq // 2, SEED)
    data = os.path.join(workdir, "tokens.bin")
    ref.write_llmc_tokens(data, tokens)
    print(f"== {label}: batch {batch}, seq {seq}, grad-accum {ACCUM}, "
          f"{STEPS} steps, {sum(p.numel() for p in model.parameters())} "
          f"params, {len(tokens)} tokens, work dir {workdir}", flush=True)

    inputs, _ = ref.micro_batch(tokens, 0, batch, seq)
    torch_logits = ref.logits_of(model, inputs)
    started = time.monotonic()
    torch_losses, torch_norms, torch_grads = ref.train(
        model, tokens, batch, seq, ACCUM, STEPS, HYPER)
    print(f"  torch: {STEPS} steps in {time.monotonic() - started:.1f} s",
          flush=True)

    train_plan, forward_plan = compile_plans(config, batch, seq, workdir)
    out = os.path.join(workdir, "forward.safetensors")
    run(["offrt", "forward", forward_plan, "--data", data, "--init", weights,
         "--micro-batch", "0", "-o", out])
    check_logits(out, inputs, torch_logits, label)

    log = os.path.join(workdir, "log.jsonl")
    grads = os.path.join(workdir, "grads.safetensors")
    for stale in (log, grads):
        if os.path.exists(stale):
            os.remove(stale)
    run(["offrt", "train", train_plan, "--data", data, "--init", weights,
         "--steps", str(STEPS), "--threads", str(args.threads), "--log", log,
         "--save-grads", grads]
        + (["--check-residency"] if args.check_residency else []))
    check_gradients(grads, torch_grads, label)
    check_losses(read_log(log), torch_losses, torch_norms, label)

    return finish()


if __name__ == "__main__":
    sys.exit(main())
