"""bf16 mixed precision end to end: `offc compile --precision bf16-mixed` +
`offrt train` against PyTorch autocast.

transformers' LlamaForCausalLM in fp32 (sdpa attention, HF init from a fixed
torch seed) is trained for 20 steps under
`torch.autocast("cpu", dtype=torch.bfloat16)`: bf16 matmuls and attention,
fp32 master weights, fp32 `.grad`, torch.optim.AdamW (foreach=False),
clip_grad_norm_ and gradient accumulation 2, on an llm.c token file
(torch_training.py). offc compiles the same model and hyper-parameters with
`--precision bf16-mixed`; offrt trains from the same weights and file.
Checked:

* step-0 logits of micro-batch 0 (a bf16-mixed `offrt forward` plan):
  rel <= 2e-2 against autocast's
* the step-1 global gradient norm:                    rel <= 2e-2
* all 20 losses (`--log`):                            rel <= 5e-3 each

rel is max|ours - torch| / max|torch| over a tensor (a loss: |ours - torch| /
|torch|). For scale, the fp32 run's losses are printed beside (how far
bf16 itself moves them), and the worst of each kind.

Cases: `--case tiny` (models/llama/tiny.json, bf16 gradients, the default)
and `--case wide` (hidden 256, 4 layers, 8 heads / 2 KV heads, intermediate
688, vocab 512; `--grad-dtype f32`, torch's accumulation of .grad).
Run by ctest (off_python_test); needs offc and offrt on PATH.
"""

import argparse
import json
import os
import sys
import time

import torch
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import BUILD_DIR, SOURCE_DIR, check, finish, run  # noqa: E402
import torch_training as ref  # noqa: E402
from train_vs_torch import WIDE_CONFIG, rel_error, read_log  # noqa: E402


LOGITS_RTOL = 2e-2
NORM_RTOL = 2e-2
LOSS_RTOL = 5e-3
STEPS = 20
ACCUM = 2
SEED = 4321
HYPER = {"lr": 2e-3, "beta1": 0.85, "beta2": 0.99, "eps": 1e-7,
         "weight_decay": 0.05, "clip": 0.5}
CASES = {  # name: (batch, seq, --grad-dtype)
    "tiny": (4, 64, "bf16"),
    "wide": (2, 128, "f32"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="tiny")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    batch, seq, grad_dtype = CASES[args.case]
    label = f"{args.case} bf16-mixed (--grad-dtype {grad_dtype})"
    torch.set_num_threads(1)

    workdir = os.path.join(BUILD_DIR, "test", "e2e", "bf16_vs_torch_" + args.case)
    os.makedirs(workdir, exist_ok=True)
    if args.case == "tiny":
        config = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
    else:
        config = os.path.join(workdir, "config.json")
        with open(config, "w") as f:
            json.dump(WIDE_CONFIG, f, indent=2)

    model = ref.build_model(config, SEED, attention="sdpa")
    vocab = model.config.vocab_size
    weights = os.path.join(workdir, "init.safetensors")
    ref.save_weights(model, weights)
    tokens = ref.markov_tokens(vocab, 13 * batch * seq + 1 + seq // 2, SEED)
    data = os.path.join(workdir, "tokens.bin")
    ref.write_llmc_tokens(data, tokens)
    print(f"== {label}: batch {batch}, seq {seq}, grad-accum {ACCUM}, "
          f"{STEPS} steps, {sum(p.numel() for p in model.parameters())} "
          f"params, work dir {workdir}", flush=True)

    inputs, _ = ref.micro_batch(tokens, 0, batch, seq)
    torch_logits = ref.logits_of(model, inputs, bf16=True)
    fp32_model = ref.build_model(config, SEED, attention="sdpa")
    started = time.monotonic()
    torch_losses, torch_norms, _ = ref.train(
        model, tokens, batch, seq, ACCUM, STEPS, HYPER, bf16=True)
    fp32_losses, _, _ = ref.train(fp32_model, tokens, batch, seq, ACCUM, STEPS, HYPER)
    print(f"  torch: 2 x {STEPS} steps in {time.monotonic() - started:.1f} s",
          flush=True)

    common = ["--model", "llama", "--config", config, "--batch", str(batch),
              "--seq", str(seq), "--precision", "bf16-mixed"]
    train_plan = os.path.join(workdir, "train.bin")
    forward_plan = os.path.join(workdir, "forward.bin")
    compiled = run(["offc", "compile", *common, "--grad-dtype", grad_dtype,
                    "--grad-accum", str(ACCUM),
                    "--lr", str(HYPER["lr"]), "--beta1", str(HYPER["beta1"]),
                    "--beta2", str(HYPER["beta2"]), "--eps", str(HYPER["eps"]),
                    "--weight-decay", str(HYPER["weight_decay"]),
                    "--clip", str(HYPER["clip"]), "-o", train_plan])
    report = [line for line in compiled.stderr.splitlines() if "bf16-mixed:" in line]
    grads = report[0].split("gradients")[-1] if report else ""
    check(bool(report) and "f32" in grads and ("bf16" in grads) == (grad_dtype == "bf16"),
          f"{label}: offc reports the gradients by dtype ({grads.strip()})")
    run(["offc", "compile", *common, "--forward", "-o", forward_plan])

    out = os.path.join(workdir, "forward.safetensors")
    run(["offrt", "forward", forward_plan, "--data", data, "--init", weights,
         "--micro-batch", "0", "-o", out])
    logits = load_file(out)["logits"]
    rel = rel_error(logits, torch_logits.numpy())
    check(rel <= LOGITS_RTOL, f"{label}: step-0 logits rel {rel:.2e} "
          f"(<= {LOGITS_RTOL}) against autocast")

    log_path = os.path.join(workdir, "log.jsonl")
    if os.path.exists(log_path):
        os.remove(log_path)
    run(["offrt", "train", train_plan, "--data", data, "--init", weights,
         "--steps", str(STEPS), "--threads", str(args.threads), "--log", log_path])
    log = read_log(log_path)
    check([e["step"] for e in log] == list(range(1, STEPS + 1)),
          f"{label}: the log has steps 1..{STEPS}")
    if len(log) == STEPS:
        print(f"{'step':>4} {'offrt loss':>11} {'autocast':>11} {'rel':>9}"
              f" {'fp32 torch':>11} {'bf16 vs fp32':>12}")
        worst = 0.0
        for i, entry in enumerate(log):
            loss_rel = rel_error(entry["loss"], torch_losses[i])
            worst = max(worst, loss_rel)
            print(f"{i + 1:>4} {entry['loss']:>11.6f} {torch_losses[i]:>11.6f} "
                  f"{loss_rel:>9.2e} {fp32_losses[i]:>11.6f} "
                  f"{rel_error(torch_losses[i], fp32_losses[i]):>12.2e}")
        check(worst <= LOSS_RTOL,
              f"{label}: all {STEPS} losses rel <= {LOSS_RTOL} (worst {worst:.2e})")
        norm_rel = rel_error(log[0]["grad_norm"], torch_norms[0])
        check(norm_rel <= NORM_RTOL,
              f"{label}: step-1 grad norm {log[0]['grad_norm']:.6f} vs "
              f"{torch_norms[0]:.6f}, rel {norm_rel:.2e} (<= {NORM_RTOL})")
        clipped = sum(norm > HYPER["clip"] for norm in torch_norms)
        print(f"  clipping was active in {clipped} of {STEPS} steps")
        check(torch_losses[-1] < torch_losses[0] - 0.1,
              f"{label}: the reference learns ({torch_losses[0]:.3f} -> "
              f"{torch_losses[-1]:.3f})")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
