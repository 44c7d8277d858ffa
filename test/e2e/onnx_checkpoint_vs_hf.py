"""Checkpoints of ONNX-imported models against transformers and onnxruntime.

An ONNX export carries no config.json; offc derives one from the graph
(compiler/Import/OnnxHfConfig.cpp) so that checkpoints of an imported Llama
load with LlamaForCausalLM.from_pretrained. For the tiny Llama's exports
(onnx_fixtures.py: both exporters, dynamic and static shapes, tied
embeddings):

1. the derived config against the config the model was exported from
   (models/llama/tiny.json, or the fixture's own config.json written by
   transformers): every size, eps, rope theta and the tying;
2. the export's own weights (offc --weights-out) loaded by from_pretrained
   with the derived config: logits equal onnxruntime's on the .onnx file
   (rel <= 1e-5), so the config describes what the export computes;
3. `offrt train --save-dir` for 2 steps, then from_pretrained on the
   checkpoint: logits equal `offrt forward --init` on the same checkpoint
   (rel <= 1e-5).

A graph that is not a Hugging Face Llama (handwritten_llama.py's own names):
offc and offrt say so, the checkpoint has a README.txt saying why and no
config.json (AutoModelForCausalLM refuses it; LlamaForCausalLM would build its
default Llama without one), and --resume reads it.

Run by ctest (off_python_test) after e2e_onnx_fixtures.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnxruntime
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import SOURCE_DIR, check, finish, run  # noqa: E402
import onnx_fixtures  # noqa: E402
import torch_training  # noqa: E402

BATCH, SEQ = 2, 16
LOGITS_RTOL = 1e-5
EXPORTERS = ["torchscript", "dynamo", "fresh_dynamo_static", "fresh_tied_dynamo"]


def source_config(exporter, model_path):
    """What the export was made from: its transformers config.json, or tiny.json."""
    beside = os.path.join(os.path.dirname(model_path), "config.json")
    path = beside if exporter.startswith("fresh_") else os.path.join(
        SOURCE_DIR, "models", "llama", "tiny.json")
    config = transformers.LlamaConfig.from_pretrained(path) if path == beside else \
        transformers.LlamaConfig(**json.load(open(path)))
    if not exporter.startswith("fresh_tied_"):
        config.tie_word_embeddings = False
    return config


def theta_of(config):
    params = getattr(config, "rope_parameters", None) or {}
    return params.get("rope_theta", getattr(config, "rope_theta", None))


def hf_logits(model_dir, ids):
    model = transformers.LlamaForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(ids)).logits.double().numpy()


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def check_exporter(exporter, cache, workdir):
    model_path = onnx_fixtures.fixture(exporter, cache)
    stem = os.path.join(workdir, exporter)
    os.makedirs(stem)
    tokens = torch_training.markov_tokens(256, 4 * BATCH * SEQ + 1, seed=7)
    torch_training.write_llmc_tokens(os.path.join(stem, "tok.bin"), tokens)
    ids = np.asarray(tokens[:BATCH * SEQ], dtype=np.int64).reshape(BATCH, SEQ)
    shape = ["--shape", f"input_ids={BATCH}x{SEQ}"]

    # 1. The derived config against the one the export was made from.
    run(["offc", "compile", model_path, *shape, "-o", os.path.join(stem, "train.plan")])
    run(["offrt", "train", os.path.join(stem, "train.plan"), "--data",
         os.path.join(stem, "tok.bin"), "--steps", "2", "--save-dir",
         os.path.join(stem, "ck"), "--quiet"])
    checkpoint = os.path.join(stem, "ck", "step-2")
    derived = transformers.LlamaConfig.from_pretrained(checkpoint)
    want = source_config(exporter, model_path)
    fields = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "intermediate_size", "rms_norm_eps", "head_dim",
              "tie_word_embeddings", "hidden_act"]
    differ = [f"{f}: {getattr(derived, f)} vs {getattr(want, f)}" for f in fields
              if getattr(derived, f) != getattr(want, f)]
    if theta_of(derived) != theta_of(want):
        differ.append(f"rope theta: {theta_of(derived)} vs {theta_of(want)}")
    check(not differ, f"{exporter}: the checkpoint's config.json equals the source config "
          f"({', '.join(fields)}, rope theta)" + (": " + "; ".join(differ) if differ else ""))
    check(not os.path.exists(os.path.join(checkpoint, "README.txt")),
          f"{exporter}: no README.txt (the checkpoint is from_pretrained-loadable)")

    # 2. The export's weights with the derived config: onnxruntime's logits.
    start = os.path.join(stem, "start")
    os.makedirs(start)
    run(["offc", "compile", model_path, "--forward", *shape, "-o",
         os.path.join(stem, "fwd.plan"), "--weights-out",
         os.path.join(start, "model.safetensors")])
    shutil.copy(os.path.join(checkpoint, "config.json"), start)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ort = session.run(None, {"input_ids": ids})[0].astype(np.float64)
    r = rel(hf_logits(start, ids), ort)
    check(r <= LOGITS_RTOL, f"{exporter}: from_pretrained(derived config, the export's "
          f"weights) logits vs onnxruntime rel {r:.2e} (<= {LOGITS_RTOL})")

    # 3. The trained checkpoint: transformers and offrt forward agree.
    out = os.path.join(stem, "out.safetensors")
    run(["offrt", "forward", os.path.join(stem, "fwd.plan"), "--data",
         os.path.join(stem, "tok.bin"), "--init", checkpoint, "-o", out])
    from safetensors.numpy import load_file
    ours = load_file(out)["logits"].astype(np.float64)
    theirs = hf_logits(checkpoint, ids)
    r = rel(theirs, ours)
    check(r <= LOGITS_RTOL, f"{exporter}: from_pretrained(step-2 checkpoint) logits vs "
          f"offrt forward --init step-2 rel {r:.2e} (<= {LOGITS_RTOL})")
    check(rel(theirs, ort) > 1e-4, f"{exporter}: the 2 steps changed the logits (vs the "
          f"export's, rel {rel(theirs, ort):.2e}), so step 3 compares trained weights")


def check_not_a_llama(cache, workdir):
    model_path = onnx_fixtures.fixture("handwritten_dynamo_static", cache)
    stem = os.path.join(workdir, "handwritten")
    os.makedirs(stem)
    tokens = torch_training.markov_tokens(256, 4 * BATCH * SEQ + 1, seed=7)
    torch_training.write_llmc_tokens(os.path.join(stem, "tok.bin"), tokens)
    compiled = run(["offc", "compile", model_path, "-o", os.path.join(stem, "train.plan")])
    check("will not load with transformers' from_pretrained" in compiled.stderr
          and "layers.0." in compiled.stderr,
          "handwritten: offc compile says its checkpoints will not load with from_pretrained, "
          "and why (its parameter names)")
    trained = run(["offrt", "train", os.path.join(stem, "train.plan"), "--data",
                   os.path.join(stem, "tok.bin"), "--steps", "1", "--save-dir",
                   os.path.join(stem, "ck")])
    check("the checkpoints will not load with from_pretrained" in trained.stderr,
          "handwritten: offrt train says the checkpoints will not load with from_pretrained")
    checkpoint = os.path.join(stem, "ck", "step-1")
    readme = open(os.path.join(checkpoint, "README.txt")).read()
    check("does not load with transformers' from_pretrained" in readme
          and "parameters are not named as a Hugging Face Llama's" in readme,
          "handwritten: README.txt says the checkpoint does not load and why")
    # No config.json rather than "{}" (from which LlamaForCausalLM would
    # build its default 7B Llama): AutoModelForCausalLM refuses it at once.
    check(not os.path.exists(os.path.join(checkpoint, "config.json")),
          "handwritten: no config.json (instead of {})")
    try:
        transformers.AutoModelForCausalLM.from_pretrained(checkpoint)
        refused = ""
    except (OSError, ValueError) as error:
        refused = str(error)
    check("config.json" in refused, "handwritten: AutoModelForCausalLM.from_pretrained "
          "refuses the checkpoint for want of a config.json")
    run(["offrt", "train", os.path.join(stem, "train.plan"), "--data",
         os.path.join(stem, "tok.bin"), "--resume", os.path.join(stem, "ck"), "--steps", "2",
         "--save-dir", os.path.join(stem, "ck"), "--quiet"])
    check(os.path.exists(os.path.join(stem, "ck", "step-2", "README.txt")),
          "handwritten: --resume reads such a checkpoint and saves the next one likewise")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cache = onnx_fixtures.build_cache_dir()
    with tempfile.TemporaryDirectory() as workdir:
        for exporter in EXPORTERS:
            check_exporter(exporter, cache, workdir)
        check_not_a_llama(cache, workdir)
    sys.exit(finish())


if __name__ == "__main__":
    main()
