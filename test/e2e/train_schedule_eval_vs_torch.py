"""`offrt train --lr-schedule` and `--eval-data` against transformers and
PyTorch (issue 15, done-when 3).

* Schedules: for constant, linear and cosine with warmup, and cosine with
  --min-lr, the lr the log reports for every step equals, as a double, the
  lr torch's AdamW uses at that step under transformers'
  get_constant/linear/cosine(_with_min_lr)_schedule_with_warmup (scheduler
  stepped after each optimizer.step()). A run stopped at step 10 and resumed
  without the schedule options continues with the same lrs (the schedule and
  the target step are stored in the checkpoint).
* The schedule reaches AdamW: 12 steps of the tiny Llama from the same
  weights and tokens with a cosine schedule give torch's losses
  (rel <= 1e-5).
* Evaluation: the eval_loss logged after steps 4, 8 and 12 equals the mean
  cross-entropy torch computes on the same held-out micro-batches with the
  weights after those steps (rel <= 1e-5); the updates are skipped while
  evaluating, so the training losses are those of a run without --eval-data.

Run by ctest (off_python_test): offc and offrt on PATH.
"""

import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import SOURCE_DIR, check, finish, run  # noqa: E402
import torch_training as ref  # noqa: E402

TINY = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
LOSS_RTOL = 1e-5


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def torch_lrs(kind, lr, warmup, steps, min_lr=None):
    """The lr torch's AdamW uses at steps 1..steps under transformers' schedule."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=lr)
    if kind == "constant":
        scheduler = transformers.get_constant_schedule_with_warmup(optimizer, warmup)
    elif kind == "linear":
        scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, steps)
    elif min_lr is None:
        scheduler = transformers.get_cosine_schedule_with_warmup(optimizer, warmup, steps)
    else:
        scheduler = transformers.get_cosine_with_min_lr_schedule_with_warmup(
            optimizer, warmup, steps, min_lr=min_lr)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def check_schedules(work):
    plan = os.path.join(work, "sched.bin")
    run(["offc", "compile", "--model", "llama", "--size", "tiny", "--batch", "2", "--seq", "16",
         "-o", plan])
    tokens = os.path.join(work, "sched.bin.tokens")
    ref.write_llmc_tokens(tokens, np.arange(4000) % 256)
    steps, warmup, lr = 23, 5, 3e-3
    cases = [("constant", None), ("linear", None), ("cosine", None), ("cosine", 2e-4)]
    for kind, min_lr in cases:
        label = kind + (f" --min-lr {min_lr}" if min_lr else "")
        log = os.path.join(work, f"sched-{kind}-{min_lr}.jsonl")
        extra = ["--min-lr", str(min_lr)] if min_lr else []
        run(["offrt", "train", plan, "--data", tokens, "--steps", str(steps), "--lr", str(lr),
             "--lr-schedule", kind, "--warmup-steps", str(warmup), "--log", log, "--quiet",
             *extra])
        ours = [entry["lr"] for entry in read_log(log)]
        theirs = torch_lrs(kind, lr, warmup, steps, min_lr)
        mismatches = [(i + 1, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
        check(len(ours) == steps and not mismatches,
              f"--lr-schedule {label}, warmup {warmup}: {steps} per-step lrs equal transformers' "
              f"(first differences: {mismatches[:3]})")

    # Stopped at step 10, resumed with no schedule options: the same lrs.
    save_dir, log = os.path.join(work, "resumed"), os.path.join(work, "resumed.jsonl")
    run(["offrt", "train", plan, "--data", tokens, "--steps", str(steps), "--lr", str(lr),
         "--lr-schedule", "cosine", "--warmup-steps", str(warmup), "--min-lr", "2e-4",
         "--save-dir", save_dir, "--save-every", "10", "--log", log, "--quiet"])
    shutil.rmtree(os.path.join(save_dir, "step-20"))
    shutil.rmtree(os.path.join(save_dir, f"step-{steps}"))
    with open(os.path.join(save_dir, "latest"), "w") as f:
        f.write("step-10\n")
    run(["offrt", "train", plan, "--data", tokens, "--resume", save_dir, "--save-dir", save_dir,
         "--log", log, "--quiet"])
    entries = read_log(log)
    theirs = torch_lrs("cosine", lr, warmup, steps, 2e-4)
    check([e["step"] for e in entries] == list(range(1, steps + 1)) and
          [e["lr"] for e in entries] == theirs,
          "a cosine run resumed at step 10 without the schedule options logs each step once "
          "with transformers' lrs")


def check_training_and_eval(work):
    batch, seq, steps, warmup = 2, 32, 12, 3
    hyper = {"lr": 3e-3, "beta1": 0.9, "beta2": 0.98, "eps": 1e-7, "weight_decay": 0.05,
             "clip": 1.0}
    model = ref.build_model(TINY, 4321)
    weights = os.path.join(work, "init.safetensors")
    ref.save_weights(model, weights)
    vocab = model.config.vocab_size
    train_tokens = ref.markov_tokens(vocab, 20 * batch * seq + 1, 11)
    held_out = ref.markov_tokens(vocab, 3 * batch * seq + 1, 12)
    data, eval_data = os.path.join(work, "train.bin"), os.path.join(work, "eval.bin")
    ref.write_llmc_tokens(data, train_tokens)
    ref.write_llmc_tokens(eval_data, held_out)

    # PyTorch: AdamW + clip + transformers' cosine schedule; evaluation on
    # the 3 held-out micro-batches after steps 4, 8, 12.
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                                  eps=hyper["eps"], weight_decay=hyper["weight_decay"],
                                  foreach=False)
    scheduler = transformers.get_cosine_schedule_with_warmup(optimizer, warmup, steps)
    torch_losses, torch_evals = [], {}
    for step in range(1, steps + 1):
        inputs, targets = ref.micro_batch(train_tokens, step - 1, batch, seq)
        loss = F.cross_entropy(model(input_ids=inputs).logits.reshape(-1, vocab),
                               targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, hyper["clip"])
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        torch_losses.append(loss.item())
        if step % 4 == 0:
            with torch.no_grad():
                held = [F.cross_entropy(model(input_ids=i).logits.reshape(-1, vocab),
                                        t.reshape(-1)).item()
                        for i, t in (ref.micro_batch(held_out, k, batch, seq) for k in range(3))]
            torch_evals[step] = sum(held) / len(held)

    plan = os.path.join(work, "train.plan")
    run(["offc", "compile", "--model", "llama", "--config", TINY, "--batch", str(batch),
         "--seq", str(seq), "--lr", str(hyper["lr"]), "--betas",
         f"{hyper['beta1']},{hyper['beta2']}", "--eps", str(hyper["eps"]),
         "--weight-decay", str(hyper["weight_decay"]), "--clip", str(hyper["clip"]), "-o", plan])
    log = os.path.join(work, "train.jsonl")
    run(["offrt", "train", plan, "--data", data, "--init", weights, "--steps", str(steps),
         "--lr-schedule", "cosine", "--warmup-steps", str(warmup), "--eval-data", eval_data,
         "--eval-every", "4", "--eval-batches", "3", "--log", log, "--quiet"])
    entries = read_log(log)
    losses = [e["loss"] for e in entries if "loss" in e]
    evals = {e["step"]: e for e in entries if "eval_loss" in e}
    worst = max(abs(a - b) / abs(b) for a, b in zip(losses, torch_losses))
    check(len(losses) == steps and worst <= LOSS_RTOL,
          f"{steps} losses with a cosine schedule (warmup {warmup}) equal torch's "
          f"(worst rel {worst:.2e})")
    check(sorted(evals) == [4, 8, 12], f"evaluations after steps 4, 8, 12 (got {sorted(evals)})")
    for step, theirs in sorted(torch_evals.items()):
        ours = evals.get(step, {}).get("eval_loss", float("nan"))
        rel = abs(ours - theirs) / abs(theirs)
        check(rel <= LOSS_RTOL, f"eval loss after step {step}: {ours:.6f} vs torch's "
                                f"{theirs:.6f} (rel {rel:.2e})")
        ppl = evals.get(step, {}).get("eval_ppl", float("nan"))
        check(abs(ppl - math.exp(ours)) <= 1e-9 * ppl, f"eval perplexity after step {step} "
              "is exp(eval loss)")
        check(evals.get(step, {}).get("eval_tokens") == 3 * batch * seq,
              f"eval after step {step} counted {3 * batch * seq} tokens")


def main():
    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="schedule_eval_")
    try:
        check_schedules(work)
        check_training_and_eval(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
