"""Hugging Face model directories in, sharded checkpoints out.

A transformers LlamaForCausalLM (tiny.json, rounded to bf16) is saved the
way models are downloaded: `save_pretrained(DIR, max_shard_size="100KB")`,
bf16 shards model-0000K-of-0000M.safetensors with
model.safetensors.index.json and config.json. Checked:

1. `offc compile --model llama --hf DIR` takes DIR's config.json, and
   `offrt train --init DIR` (and `--init DIR/model.safetensors.index.json`)
   gives the same step-1 loss, bit for bit, as `--init` of one fp32
   safetensors file of the same (bf16-rounded) model; that loss equals
   transformers' on the same micro-batch (rel <= 1e-5). `offrt forward
   --init DIR` works the same.
2. A missing shard, or a tensor the index leaves out, is an error (exit 1)
   naming the shard or the tensor.
3. `offrt train --save-dir CK --max-shard-size 100K` writes the weights as
   shards with an index; `LlamaForCausalLM.from_pretrained(CK/step-N)` loads
   them and its logits equal `offrt forward --init CK/step-N`'s (rel <=
   1e-5); `--resume CK` continues from them.

Run by ctest (off_python_test): offc and offrt on PATH.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import SOURCE_DIR, check, finish, run  # noqa: E402
import torch_training as ref  # noqa: E402

TINY = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
B, T = 2, 32


def first_loss(log_path):
    with open(log_path) as f:
        return json.loads(f.readline())["loss"]


def main():
    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="hf_sharded_")
    try:
        model = ref.build_model(TINY, 1234).to(torch.bfloat16).eval()
        hf_dir = os.path.join(work, "hf")
        model.save_pretrained(hf_dir, max_shard_size="100KB")
        shards = sorted(f for f in os.listdir(hf_dir) if f.startswith("model-"))
        check(len(shards) >= 2 and os.path.exists(
            os.path.join(hf_dir, "model.safetensors.index.json")),
              f"save_pretrained wrote {len(shards)} bf16 shards and an index")
        reference = model.float()
        single = os.path.join(work, "single.safetensors")
        save_file({n: p.detach().contiguous() for n, p in reference.named_parameters()},
                  single)

        tokens = ref.markov_tokens(256, 8 * B * T + 1, 7)
        data = os.path.join(work, "tokens.bin")
        ref.write_llmc_tokens(data, tokens)
        plan = os.path.join(work, "train.bin")
        run(["offc", "compile", "--model", "llama", "--hf", hf_dir, "--batch", str(B),
             "--seq", str(T), "-o", plan])

        losses = {}
        for label, init in (("fp32 file", single), ("bf16 shards (DIR)", hf_dir),
                            ("bf16 shards (index)",
                             os.path.join(hf_dir, "model.safetensors.index.json"))):
            log = os.path.join(work, "log_" + str(len(losses)) + ".jsonl")
            run(["offrt", "train", plan, "--data", data, "--init", init, "--steps", "1",
                 "--log", log, "--quiet"])
            losses[label] = first_loss(log)
        check(len(set(losses.values())) == 1,
              f"step-1 loss is the same bit for bit from each: {losses}")
        inputs, targets = ref.micro_batch(tokens, 0, B, T)
        with torch.no_grad():
            logits = reference(input_ids=inputs).logits
            torch_loss = F.cross_entropy(logits.reshape(-1, 256), targets.reshape(-1)).item()
        rel = abs(losses["fp32 file"] - torch_loss) / torch_loss
        check(rel <= 1e-5, f"and equals transformers' loss {torch_loss:.7f} (rel {rel:.1e})")

        forward = os.path.join(work, "forward.bin")
        run(["offc", "compile", "--model", "llama", "--hf", hf_dir, "--batch", str(B),
             "--seq", str(T), "--forward", "-o", forward])
        outs = []
        for init in (hf_dir, single):
            out = os.path.join(work, f"logits_{len(outs)}.safetensors")
            run(["offrt", "forward", forward, "--data", data, "--init", init, "-o", out])
            outs.append(load_file(out)["logits"])
        check(np.array_equal(outs[0], outs[1]),
              "offrt forward --init DIR gives the fp32 file's logits")

        # Broken directories: the error names the shard or the tensor.
        broken = os.path.join(work, "broken")
        shutil.copytree(hf_dir, broken)
        os.remove(os.path.join(broken, shards[-1]))
        result = run(["offrt", "train", plan, "--data", data, "--init", broken, "--steps",
                      "1"], expect=1)
        check(f"shard '{shards[-1]}'" in result.stderr and "is missing" in result.stderr,
              f"a missing shard is named: {result.stderr.strip()[-200:]}")
        shutil.rmtree(broken)
        shutil.copytree(hf_dir, broken)
        index_path = os.path.join(broken, "model.safetensors.index.json")
        with open(index_path) as f:
            index = json.load(f)
        del index["weight_map"]["model.norm.weight"]
        with open(index_path, "w") as f:
            json.dump(index, f)
        result = run(["offrt", "train", plan, "--data", data, "--init", broken, "--steps",
                      "1"], expect=1)
        check("model.norm.weight" in result.stderr,
              f"a tensor left out of the index is named: {result.stderr.strip()[-240:]}")

        # Our checkpoints, sharded past --max-shard-size, in from_pretrained.
        save_dir = os.path.join(work, "ck")
        run(["offrt", "train", plan, "--data", data, "--init", hf_dir, "--steps", "2",
             "--save-dir", save_dir, "--max-shard-size", "100K", "--quiet"])
        step_dir = os.path.join(save_dir, "step-2")
        ours = sorted(f for f in os.listdir(step_dir) if f.startswith("model-"))
        check(len(ours) >= 2 and not os.path.exists(os.path.join(step_dir, "model.safetensors"))
              and os.path.exists(os.path.join(step_dir, "model.safetensors.index.json")),
              f"the checkpoint is {len(ours)} shards and an index")
        loaded = LlamaForCausalLM.from_pretrained(step_dir, torch_dtype=torch.float32).eval()
        out = os.path.join(work, "trained.safetensors")
        run(["offrt", "forward", forward, "--data", data, "--init", step_dir, "-o", out])
        ids = torch.from_numpy(load_file(out)["input_ids"].astype(np.int64))
        with torch.no_grad():
            theirs = loaded(input_ids=ids).logits.numpy()
        ours_logits = load_file(out)["logits"]
        rel = float(np.abs(ours_logits - theirs).max() / np.abs(theirs).max())
        check(rel <= 1e-5, f"from_pretrained of the sharded checkpoint gives offrt forward's "
              f"logits (rel {rel:.1e})")
        run(["offrt", "train", plan, "--data", data, "--resume", save_dir, "--steps", "3",
             "--save-dir", save_dir, "--max-shard-size", "100K", "--quiet"])
        check(os.path.isdir(os.path.join(save_dir, "step-3")),
              "--resume reads the sharded checkpoint and continues to step 3")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
