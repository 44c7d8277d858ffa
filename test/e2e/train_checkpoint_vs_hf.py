"""A checkpoint of `offrt train` is the trained model as transformers sees it,
and the other files of a run say what they claim; driven as a user drives
the commands, on plans `offc compile` writes for the tiny built-in Llama.

* `LlamaForCausalLM.from_pretrained(SAVE_DIR/step-N)` loads the checkpoint,
  and its logits equal those of `offrt forward --init step-N/model.safetensors`
  on the same micro-batch (rel <= 1e-5): the saved weights are the trained
  ones, under Hugging Face's names, with a config transformers reads.
* `offrt forward` writes the input_ids of the micro-batch it was asked for.
* `--save-grads` writes one f32 tensor per trained parameter under its
  name; their global norm, computed here in numpy, equals the grad_norm the
  log reports for that step (rel <= 1e-6).
* Exit codes: 2 for a bad command line, 1 for bad input.
(Resume, thread counts and the residency checker: test/lit/offrt.)

Run by ctest (off_python_test): offc and offrt on PATH.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import check, finish, run  # noqa: E402

K, B, T = 2, 2, 32


def main():
    work = tempfile.mkdtemp(prefix="train_checkpoint_")
    try:
        plan = os.path.join(work, "plan.bin")
        run(["offc", "compile", "--model", "llama", "--size", "tiny", "--batch", str(B),
             "--seq", str(T), "--grad-accum", str(K), "-o", plan])
        # Raw uint16 tokens: a fixed random phrase of 37 ids, repeated.
        tokens = os.path.join(work, "tokens.u16")
        phrase = np.random.default_rng(7).integers(0, 256, 37, dtype=np.uint16)
        np.resize(phrase, 3000).tofile(tokens)
        data = ["--data", tokens, "--data-dtype", "uint16"]
        save_dir = os.path.join(work, "ck")
        log = os.path.join(work, "log.jsonl")
        grads_path = os.path.join(work, "grads.safetensors")
        run(["offrt", "train", plan, *data, "--steps", "8", "--seed", "5", "--save-dir", save_dir,
             "--log", log, "--save-grads", grads_path, "--quiet"])
        step_dir = os.path.join(save_dir, "step-8")
        entries = [json.loads(line) for line in open(log)]
        check([e["step"] for e in entries] == list(range(1, 9)), "8 log lines")
        check(entries[-1]["loss"] < entries[0]["loss"] - 0.1,
              f"the loss falls: {entries[0]['loss']} -> {entries[-1]['loss']}")

        from safetensors.numpy import load_file
        grads = load_file(grads_path)
        weights = load_file(os.path.join(step_dir, "model.safetensors"))
        check(set(grads) == set(weights),
              f"--save-grads names vs the checkpoint's: {sorted(set(grads) ^ set(weights))}")
        for name, grad in grads.items():
            check(grad.dtype == np.float32 and grad.shape == weights[name].shape,
                  f"--save-grads {name}: {grad.dtype} {grad.shape}")
        norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values()))
        logged = entries[0]["grad_norm"]
        check(abs(norm - logged) <= 1e-6 * logged,
              f"--save-grads: global norm {norm} vs the logged grad_norm {logged}")

        forward_plan = os.path.join(work, "forward.bin")
        run(["offc", "compile", "--model", "llama", "--size", "tiny", "--batch", str(B),
             "--seq", str(T), "--forward", "-o", forward_plan])
        logits_path = os.path.join(work, "logits.safetensors")
        run(["offrt", "forward", forward_plan, *data, "--micro-batch", "1",
             "--init", os.path.join(step_dir, "model.safetensors"), "-o", logits_path])
        ours = load_file(logits_path)
        ids = np.fromfile(tokens, dtype=np.uint16).astype(np.int64)[B * T:2 * B * T]
        check(np.array_equal(ours["input_ids"], ids.reshape(B, T)),
              "offrt forward: the input_ids of micro-batch 1")
        import torch
        from transformers import LlamaForCausalLM
        model = LlamaForCausalLM.from_pretrained(step_dir)
        with torch.no_grad():
            theirs = model(torch.from_numpy(ids.reshape(B, T))).logits.numpy()
        error = np.max(np.abs(ours["logits"] - theirs)) / np.max(np.abs(theirs))
        check(error <= 1e-5, f"logits of the checkpoint, offrt vs transformers: rel {error}")
        print(f"checkpoint logits, offrt forward vs transformers: rel {error:.2e}")

        # Exit codes: usage 2, bad input 1 (the messages: test/lit/offrt).
        run(["offrt", "train", plan], expect=2)
        run(["offrt", "train", plan, "--data", tokens, "--steps", "0"], expect=2)
        run(["offrt", "train", plan, "--data", os.path.join(work, "none.bin")], expect=1)
        run(["offrt", "train", forward_plan, *data], expect=1)
        run(["offrt", "forward", forward_plan, *data], expect=2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(finish("offrt checkpoints load in transformers with the same logits; "
                    "--save-grads, exit codes: OK"))


if __name__ == "__main__":
    main()
