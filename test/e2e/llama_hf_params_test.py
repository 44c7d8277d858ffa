"""The built-in Llama against Hugging Face's LlamaForCausalLM.

For every config in models/llama/, transformers builds the model on the meta
device (shapes only, no memory, nothing downloaded) and its parameter names,
shapes and count must equal the off.param ops that `offc import` writes and
the `parameters` of its --stats. For the tiny and Llama 3.1 8B configs the
RoPE cos/sin tables in the module are compared with transformers'
LlamaRotaryEmbedding.

Run by ctest (off_python_test); needs offc on PATH and OFF_SOURCE_DIR.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import SOURCE_DIR, check, finish  # noqa: E402

MODELS_DIR = os.path.join(SOURCE_DIR, "models", "llama")

PARAM_RE = re.compile(r'off\.param "([^"]+)"( \{trainable\})? : tensor<([0-9x]+)xf32>')
CONST_RE = re.compile(r'off\.constant dense<(.+?)> : tensor<([0-9]+)x([0-9]+)xf32>')


def offc_import(size, batch, seq, workdir):
    mlir = os.path.join(workdir, f"{size}.mlir")
    stats = os.path.join(workdir, f"{size}.json")
    subprocess.run(["offc", "import", "--model", "llama", "--size", size,
                    "--batch", str(batch), "--seq", str(seq), "-o", mlir,
                    "--stats", stats], check=True)
    with open(mlir) as f, open(stats) as g:
        return f.read(), json.load(g)


def ir_params(text):
    params = {}
    for name, trainable, shape in PARAM_RE.findall(text):
        check(name not in params, f"param {name} declared twice")
        check(trainable != "", f"param {name} is not trainable")
        params[name] = tuple(int(d) for d in shape.split("x"))
    return params


def decode_dense(body, rows, cols):
    """An f32 DenseElementsAttr body as MLIR prints it: "0x<hex>" or a list."""
    if body.startswith('"0x'):
        data = np.frombuffer(bytes.fromhex(body[3:-1]), dtype="<f4")
    else:
        data = np.array([float(v) for v in re.findall(r"[-+0-9.eE]+", body)],
                        dtype=np.float32)
    return data.reshape(rows, cols)


def hf_config(size):
    with open(os.path.join(MODELS_DIR, f"{size}.json")) as f:
        return LlamaConfig.from_dict(json.load(f))


def check_params(size, workdir):
    config = hf_config(size)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    # named_parameters() lists a tied lm_head once, as embed_tokens: the
    # count model cards publish and the tensors a checkpoint stores.
    hf = {name: tuple(p.shape) for name, p in model.named_parameters()}
    hf_count = sum(p.numel() for p in model.parameters())

    text, stats = offc_import(size, batch=1, seq=4, workdir=workdir)
    ours = ir_params(text)
    check(set(ours) == set(hf),
          f"{size}: names differ: only ours {sorted(set(ours) - set(hf))[:5]}, "
          f"only HF {sorted(set(hf) - set(ours))[:5]}")
    for name in set(ours) & set(hf):
        check(ours[name] == hf[name],
              f"{size}: {name} is {ours[name]} here, {hf[name]} in HF")
    check(stats["parameters"] == hf_count,
          f"{size}: --stats parameters {stats['parameters']} != HF {hf_count}")
    check(stats["trainable_parameters"] == hf_count,
          f"{size}: trainable_parameters {stats['trainable_parameters']} != {hf_count}")
    check(stats["layers"] == config.num_hidden_layers,
          f"{size}: layers {stats['layers']} != {config.num_hidden_layers}")
    print(f"{size}: {len(ours)} tensors, {hf_count:,} parameters, as HF")


def check_rope(size, seq, workdir):
    config = hf_config(size)
    text, _ = offc_import(size, batch=1, seq=seq, workdir=workdir)
    tables = [decode_dense(body, int(r), int(c)) for body, r, c in CONST_RE.findall(text)]
    check(len(tables) == 2, f"{size}: expected 2 rope tables, found {len(tables)}")
    if len(tables) != 2:
        return
    rotary = LlamaRotaryEmbedding(config)
    positions = torch.arange(seq).unsqueeze(0)
    cos, sin = rotary(torch.zeros(1, dtype=torch.float32), positions)
    hf_cos, hf_sin = cos[0].numpy(), sin[0].numpy()
    for ours, theirs, which in ((tables[0], hf_cos, "cos"), (tables[1], hf_sin, "sin")):
        check(ours.shape == theirs.shape, f"{size}: {which} shape {ours.shape} vs {theirs.shape}")
        if ours.shape != theirs.shape:
            continue
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        # HF forms each angle t * inv_freq in f32 (inv_freq itself rounded to
        # f32), so its angle at position t is off by about an ulp of t, up to
        # t * 2^-23 rad; we form it in double. Row t may differ by that much.
        row_bound = (np.arange(seq) + 1) * 2.0 ** -23 + 1e-6
        worst = diff.max(axis=1) / row_bound
        print(f"{size}: {which}[{seq}x{ours.shape[1]}] max |ours - HF| = "
              f"{diff.max():.3g}; at t < 64: {diff[:64].max():.3g}; "
              f"worst row at {worst.max():.2f} of its bound")
        check(worst.max() <= 1.0,
              f"{size}: {which} row {worst.argmax()} differs from HF by "
              f"{diff.max(axis=1)[worst.argmax()]:.3g} > {row_bound[worst.argmax()]:.3g}")


def main():
    sizes = sorted(f[:-5] for f in os.listdir(MODELS_DIR) if f.endswith(".json"))
    check("tiny" in sizes and "llama3.1-405b" in sizes, f"sizes found: {sizes}")
    with tempfile.TemporaryDirectory() as workdir:
        for size in sizes:
            check_params(size, workdir)
        check_rope("tiny", 256, workdir)
        check_rope("llama3.1-8b", 2048, workdir)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
