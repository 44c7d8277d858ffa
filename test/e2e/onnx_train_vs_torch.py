"""Training from ONNX exports as users make them equals PyTorch's training.

The fixtures (onnx_fixtures.py) are a transformers LlamaForCausalLM fresh
from tiny.json (transformers' own init: RMSNorm weights all ones, which the
exporters merge into one initializer) exported by TorchScript and by dynamo
(default opset; and opset 23 at a static shape), each at dynamic and at
static shape (where the exporters fold the RoPE tables and the causal mask
into initializers), and a Llama written by hand (handwritten_llama.py)
exported by dynamo at a static shape. For each:

1. `offc import` gives the model's parameters, as many tensors and elements
   as torch's named_parameters(), all trainable; the --weights-out values
   are the model's (bit for bit, by name for transformers models; by value
   for the hand-written one, whose Linear weights the exporter renames);
   for the transformers models the fused op sequence and dataflow equal the
   built-in Llama's (onnx_import_vs_builtin.check_structure).
2. `offc compile MODEL.onnx --weights-out W` + `offrt train --init W` for
   STEPS steps equals the source module trained by torch.optim.AdamW with
   clip_grad_norm_ on the same tokens (torch_training.py): every step's loss
   and global gradient norm within rel 1e-5.

   Without any weight option (`offrt train PLAN` alone) the run starts from
   the export's weights that the plan names (read in place from the
   export's external data, or from PLAN.weights that offc wrote beside the
   plan for weights stored inside the .onnx file): the first progress line
   says so and step 1's loss is the --init run's, bit for bit, so PyTorch's.
   A data file changed after compiling is an error naming it.

3. The options that override the rule: --shared-weights tied/split,
   --frozen, --trainable, and their errors (exit 1 with the reason; a bad
   value exit 2).

Run by ctest after e2e_onnx_fixtures; needs offc, offrt, off-opt on PATH.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import check, finish, run  # noqa: E402
import handwritten_llama  # noqa: E402
import onnx_fixtures  # noqa: E402
import onnx_import_vs_builtin as structure  # noqa: E402
import torch_training as ref  # noqa: E402

STEPS = 10
RTOL = 1e-5
HYPER = {"lr": 2e-3, "beta1": 0.85, "beta2": 0.99, "eps": 1e-7,
         "weight_decay": 0.05, "clip": 1.0}
HF_FIXTURES = ("fresh_torchscript", "fresh_dynamo", "fresh_torchscript_static",
               "fresh_dynamo_static", "fresh_dynamo23_static", "fresh_tied_torchscript",
               "fresh_tied_dynamo")
FIXTURES = HF_FIXTURES + ("handwritten_dynamo_static",)

def rel(ours, theirs):
    return abs(ours - theirs) / max(abs(theirs), 1e-30)


def source_model(exporter, folder):
    """The module the fixture was exported from, with its weights, and a
    function giving its logits."""
    if exporter.startswith("handwritten"):
        model = handwritten_llama.HandwrittenLlama()
        model.load_state_dict(load_torch(os.path.join(folder, "weights.safetensors")))
        return model.float().train(), lambda m, ids: m(ids)
    model = ref.build_model(os.path.join(folder, "config.json"), onnx_fixtures.SEED)
    weights = load_torch(os.path.join(folder, "weights.safetensors"))
    missing = model.load_state_dict(weights, strict=False).missing_keys
    # A tied LM head is the embedding: named_parameters() lists it once.
    assert sorted(weights) == sorted(dict(model.named_parameters())), missing
    return model, lambda m, ids: m(input_ids=ids).logits


def check_import(exporter, path, model, shape_args, workdir):
    stem = os.path.join(workdir, exporter)
    result = run(["offc", "import", path, *shape_args, "-o", stem + ".mlir",
                  "--stats", stem + ".json", "--weights-out", stem + ".safetensors"])
    print("\n".join("  " + line for line in result.stderr.splitlines()
                    if not line.startswith("remark")))
    with open(stem + ".json") as f:
        stats = json.load(f)
    named = dict(model.named_parameters())
    count = sum(p.numel() for p in named.values())
    check(stats["parameters"] == count and stats["parameter_tensors"] == len(named),
          f"{exporter}: {stats['parameter_tensors']} params, {stats['parameters']} "
          f"elements == the model's {len(named)}, {count}")
    check(stats["trainable_parameters"] == count,
          f"{exporter}: every parameter is trainable ({stats['trainable_parameters']})")
    weights = load_file(stem + ".safetensors")
    state = {k: v.detach().numpy() for k, v in named.items()}
    if exporter in HF_FIXTURES:
        same = sorted(weights) == sorted(state) and all(
            np.array_equal(weights[k], state[k]) for k in state)
        check(same, f"{exporter}: --weights-out holds the model's parameters under "
              "their names, bit for bit")
        builtin = os.path.join(workdir, "builtin_" + exporter)
        batch, seq = onnx_fixtures.STATIC_SHAPE
        run(["offc", "import", "--model", "llama", "--config",
             os.path.join(os.path.dirname(path), "config.json"),
             "--batch", str(batch), "--seq", str(seq), "-o", builtin + ".mlir"])
        structure.check_structure(exporter, structure.generic(stem + ".mlir"),
                                  structure.generic(builtin + ".mlir"))
    else:
        # Renamed by the exporter (`x @ W.T` folds into `permute_N`): match
        # every parameter with one weight of equal values, or its transpose.
        unmatched = dict(weights)
        for name, value in state.items():
            hit = next((k for k, w in unmatched.items()
                        if (w.shape == value.shape and np.array_equal(w, value)) or
                        (w.shape == value.T.shape and np.array_equal(w, value.T))), None)
            check(hit is not None, f"{exporter}: parameter {name} is a weight of the "
                  f"import ({hit})")
            unmatched.pop(hit, None)
        check(not unmatched, f"{exporter}: no other weights ({sorted(unmatched)})")


def check_training(exporter, path, model, logits_of, shape_args, workdir):
    batch, seq = onnx_fixtures.STATIC_SHAPE
    tokens = ref.markov_tokens(256, 13 * batch * seq + 1, onnx_fixtures.SEED)
    data = os.path.join(workdir, "tokens.bin")
    ref.write_llmc_tokens(data, tokens)
    stem = os.path.join(workdir, exporter + "_train")
    run(["offc", "compile", path, *shape_args, "--weights-out", stem + ".safetensors",
         "--lr", str(HYPER["lr"]), "--beta1", str(HYPER["beta1"]),
         "--beta2", str(HYPER["beta2"]), "--eps", str(HYPER["eps"]),
         "--weight-decay", str(HYPER["weight_decay"]), "--clip", str(HYPER["clip"]),
         "-o", stem + ".bin"])
    log = stem + ".jsonl"
    run(["offrt", "train", stem + ".bin", "--data", data, "--init",
         stem + ".safetensors", "--steps", str(STEPS), "--threads", "2", "--log", log])
    with open(log) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    losses, norms, _ = ref.train(model, tokens, batch, seq, 1, STEPS, HYPER,
                                 logits_of=logits_of)
    check(len(entries) == STEPS, f"{exporter}: offrt logged {len(entries)} steps")
    worst_loss = worst_norm = 0.0
    for i, entry in enumerate(entries[:STEPS]):
        worst_loss = max(worst_loss, rel(entry["loss"], losses[i]))
        worst_norm = max(worst_norm, rel(entry["grad_norm"], norms[i]))
        print(f"  step {i + 1:2}: loss {entry['loss']:.7f} vs torch {losses[i]:.7f}, "
              f"grad_norm {entry['grad_norm']:.6f} vs {norms[i]:.6f}")
    check(worst_loss <= RTOL, f"{exporter}: {STEPS} losses equal torch's, rel <= {RTOL} "
          f"(worst {worst_loss:.2e})")
    check(worst_norm <= RTOL, f"{exporter}: {STEPS} gradient norms equal torch's, rel <= "
          f"{RTOL} (worst {worst_norm:.2e})")
    check(losses[-1] < losses[0] - 0.02, f"{exporter}: the reference learns "
          f"({losses[0]:.3f} -> {losses[-1]:.3f})")
    check_default_weights(exporter, path, stem, data, entries[0]["loss"], losses[0])


def check_default_weights(exporter, path, stem, data, init_loss, torch_loss):
    """The plan keeps the export's weights: offrt starts from them."""
    log = stem + "_default.jsonl"
    result = run(["offrt", "train", stem + ".bin", "--data", data, "--steps", "1",
                  "--threads", "2", "--log", log])
    first = next((line for line in result.stderr.splitlines()
                  if line.startswith("offrt train: " + stem + ".bin:")), "")
    places = ([os.path.realpath(path + ".data")] if os.path.exists(path + ".data") else []) + \
        ([stem + ".bin.weights"] if os.path.exists(stem + ".bin.weights") else [])
    check("weights from the export (" in first and places and
          all(place in first for place in places),
          f"{exporter}: the first progress line says where the weights came from: "
          f"{', '.join(places)} ({first.split(', ', 4)[-1] if first else result.stderr[-200:]})")
    with open(log) as f:
        loss = json.loads(f.readline())["loss"]
    check(loss == init_loss and rel(loss, torch_loss) <= RTOL,
          f"{exporter}: with no weight option step 1's loss is the export's "
          f"({loss:.7f} == --init's {init_loss:.7f}; torch {torch_loss:.7f})")
    seeded = run(["offrt", "train", stem + ".bin", "--data", data, "--steps", "1",
                  "--seed", "3", "--quiet", "--log", log + ".seed"])
    with open(log + ".seed") as f:
        seed_loss = json.loads(f.readline())["loss"]
    check(seed_loss != loss and seeded.returncode == 0,
          f"{exporter}: --seed 3 starts from the seed instead ({seed_loss:.5f})")


def check_changed_data(cache, workdir):
    """A weights file changed after compiling is refused, by name."""
    import shutil
    for exporter, name in (("fresh_dynamo_static", "tiny.onnx.data"),
                           ("fresh_torchscript_static", None)):
        folder = os.path.join(workdir, "changed_" + exporter)
        shutil.copytree(os.path.dirname(onnx_fixtures.fixture(exporter, cache)), folder)
        plan = os.path.join(folder, "plan.bin")
        run(["offc", "compile", os.path.join(folder, "tiny.onnx"), "-o", plan])
        target = os.path.join(folder, name) if name else plan + ".weights"
        with open(target, "r+b") as f:  # same size, other bytes
            f.seek(8)
            byte = f.read(1)
            f.seek(8)
            f.write(bytes([byte[0] ^ 0x40]))
        batch, seq = onnx_fixtures.STATIC_SHAPE
        data = os.path.join(folder, "tokens.bin")
        ref.write_llmc_tokens(data, ref.markov_tokens(256, 2 * batch * seq + 1, 1))
        result = subprocess.run(["offrt", "train", plan, "--data", data, "--steps", "1"],
                                capture_output=True, text=True)
        check(result.returncode == 1 and os.path.realpath(target) in result.stderr
              and "not those the plan was compiled against" in result.stderr,
              f"{exporter}: a changed {os.path.basename(target)} is an error naming it "
              f"({result.stderr.strip()[-160:]})")


def import_stats(path, args, workdir):
    stem = os.path.join(workdir, "options")
    result = subprocess.run(["offc", "import", path, *args, "-o", stem + ".mlir",
                             "--stats", stem + ".json"], capture_output=True, text=True)
    if result.returncode != 0:
        return result, None
    with open(stem + ".json") as f:
        return result, json.load(f)


def check_options(cache, workdir):
    batch, seq = onnx_fixtures.STATIC_SHAPE
    shape = ["--shape", f"input_ids={batch}x{seq}"]
    dynamo = onnx_fixtures.fixture("fresh_dynamo", cache)
    tiny = 123712  # models/llama/tiny.json
    _, stats = import_stats(dynamo, shape + ["--shared-weights", "tied"], workdir)
    check(stats["parameter_tensors"] == 17 and stats["parameters"] == tiny - 4 * 64,
          f"--shared-weights tied keeps the merged norm weights one weight "
          f"({stats['parameter_tensors']} params)")
    for exporter in ("fresh_tied_dynamo", "fresh_tied_torchscript"):
        _, stats = import_stats(onnx_fixtures.fixture(exporter, cache),
                                shape + ["--shared-weights", "split"], workdir)
        check(stats["parameter_tensors"] == 21 and stats["parameters"] == tiny,
              f"{exporter}: --shared-weights split unties the LM head "
              f"({stats['parameter_tensors']} params, {stats['parameters']})")
    _, stats = import_stats(dynamo, shape + ["--frozen", "model.norm.weight",
                                             "--frozen", "*.mlp.*"], workdir)
    frozen = 64 + 2 * 3 * 64 * 172
    names = {w["name"]: w["trainable"] for w in stats["initializers"]["weights"]}
    check(stats["trainable_parameters"] == tiny - frozen and stats["parameters"] == tiny
          and not names["model.norm.weight"] and names["model.layers.1.input_layernorm.weight"],
          f"--frozen keeps {frozen} elements as params without training "
          f"(trainable {stats['trainable_parameters']})")
    static = onnx_fixtures.fixture("fresh_dynamo_static", cache)
    _, stats = import_stats(static, ["--trainable", "unsqueeze_14"], workdir)
    check(stats["parameter_tensors"] == 22 and "off.rope" not in stats["op_counts"],
          "--trainable makes the cos table a weight (22 params; rope then stays "
          "generic: its tables must be constants)")
    errors = [
        (dynamo, ["--frozen", "nothing*"], 1, "'nothing*' matches no weight"),
        (dynamo, ["--trainable", "model.rotary_emb.inv_freq"], 1,
         "must be a constant: it feeds ops evaluated while importing"),
        (dynamo, ["--shared-weights", "sometimes"], 2, "needs one of auto, split, tied"),
    ]
    for path, args, code, text in errors:
        result, _ = import_stats(path, shape + args, workdir)
        check(result.returncode == code and text in result.stderr,
              f"{' '.join(args)}: exit {result.returncode} (want {code}), says '{text}'"
              + ("" if text in result.stderr else f": {result.stderr[-300:]}"))


def main():
    torch.set_num_threads(1)
    cache = onnx_fixtures.build_cache_dir()
    batch, seq = onnx_fixtures.STATIC_SHAPE
    with tempfile.TemporaryDirectory() as workdir:
        check_options(cache, workdir)
        check_changed_data(cache, workdir)
        for exporter in FIXTURES:
            path = onnx_fixtures.fixture(exporter, cache)
            folder = os.path.dirname(path)
            shape_args = ([] if exporter.endswith("_static")
                          else ["--shape", f"input_ids={batch}x{seq}"])
            print(f"== {exporter}: {path}", flush=True)
            model, logits_of = source_model(exporter, folder)
            check_import(exporter, path, model, shape_args, workdir)
            check_training(exporter, path, model, logits_of, shape_args, workdir)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
