"""ONNX exports of the tiny Llama, made with torch and cached in the build dir.

A randomly initialised transformers.LlamaForCausalLM with
models/llama/tiny.json (every weight drawn from a fixed seed, the norm
weights too, so that no two weights are equal and a mixed-up name shows),
exported by both torch exporters:

* torchscript: torch.onnx.export(..., dynamo=False), opset 17 (the newest
  Debian's libonnx 1.12 checks), weights inline. This exporter cannot
  translate aten::diff, which transformers' packed-sequence detection runs
  when no attention mask is given, so the exported forward passes an all-ones
  mask (a common way to export; the mask is still built from input_ids).
* dynamo: torch.onnx.export(..., dynamo=True), the exporter's default opset
  (20 with torch 2.15), weights in an external data file; no mask.
* dynamo23 (only when asked): dynamo at opset 23, where the exporter writes
  RMSNormalization, RotaryEmbedding and Attention.

Input ids are int64 [batch, seq] with both dimensions dynamic.

Models as users have them (the same exporters, fresh weights):

* fresh_torchscript, fresh_dynamo: a transformers LlamaForCausalLM fresh from
  tiny.json with transformers' own initialisation from a fixed seed (so its
  RMSNorm weights are all ones and the exporters merge them into one
  initializer), dynamic [batch, seq];
* fresh_torchscript_static, fresh_dynamo_static, fresh_dynamo23_static: the
  same model exported at the static shape STATIC_SHAPE, where the exporters
  fold the RoPE tables and the causal mask into initializers;
* fresh_tied_torchscript, fresh_tied_dynamo: the same with
  tie_word_embeddings (one weight used by the embedding and the LM head;
  TorchScript stores the head's as a transposed copy), dynamic shapes;
* handwritten_dynamo_static: handwritten_llama.py (its own module names,
  `x @ W.T`, RoPE and an additive -inf mask computed in the forward),
  dynamo at STATIC_SHAPE.

Their folders also hold weights.safetensors (the source module's
named_parameters(), a tied weight once) and, for the transformers models,
config.json. The cache key
is the torch/transformers/onnx versions plus this file's hash; a fixture is
exported into a temporary folder and renamed into place, so concurrent tests
never see half a fixture.

    python onnx_fixtures.py OUT_DIR [EXPORTER]...
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE_DIR = os.environ.get("OFF_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TINY_CONFIG = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
SEED = 1234
EXPORTERS = ("torchscript", "dynamo", "dynamo23", "fresh_torchscript", "fresh_dynamo",
             "fresh_torchscript_static", "fresh_dynamo_static", "fresh_dynamo23_static",
             "fresh_tied_torchscript", "fresh_tied_dynamo", "handwritten_dynamo_static")
STATIC_SHAPE = (2, 16)


def tiny_model():
    """The tiny Llama with the fixtures' weights (deterministic)."""
    import torch
    import transformers

    with open(TINY_CONFIG) as f:
        config = transformers.LlamaConfig(**json.load(f))
    config.use_cache = False
    torch.manual_seed(SEED)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(1.0 + 0.2 * torch.randn_like(param))
            else:
                param.normal_(0.0, 0.2)
    return model


def fresh_model(tied=False):
    """The tiny Llama as transformers initialises it (norm weights all ones)."""
    import torch
    import transformers

    with open(TINY_CONFIG) as f:
        config = transformers.LlamaConfig(**json.load(f))
    config.use_cache = False
    config.tie_word_embeddings = tied
    torch.manual_seed(SEED)
    return transformers.LlamaForCausalLM(config).eval()


def _export_handwritten(path):
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import handwritten_llama

    model = handwritten_llama.build(SEED).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(os.path.dirname(path), "weights.safetensors"))
    ids = torch.zeros(*STATIC_SHAPE, dtype=torch.int64)
    torch.onnx.export(model, (ids,), path, dynamo=True, input_names=["input_ids"],
                      output_names=["logits"], external_data=True)


def _export(exporter, path):
    import torch
    import transformers

    if exporter.startswith("handwritten"):
        return _export_handwritten(path)
    fresh = exporter.startswith("fresh_")
    static = exporter.endswith("_static")
    tied = exporter.startswith("fresh_tied_")
    kind = exporter.removeprefix("fresh_").removeprefix("tied_").removesuffix("_static")
    base = fresh_model(tied) if fresh else tiny_model()
    if fresh:
        from safetensors.torch import save_file
        folder = os.path.dirname(path)
        # named_parameters: a tied weight once, under its first name.
        save_file({k: v.detach().contiguous() for k, v in base.named_parameters()},
                  os.path.join(folder, "weights.safetensors"))
        base.config.to_json_file(os.path.join(folder, "config.json"))
    with_mask = kind == "torchscript"

    class Exportable(transformers.LlamaForCausalLM):
        """forward(input_ids) -> logits, keeping Hugging Face's param names."""

        def forward(self, input_ids):
            mask = torch.ones_like(input_ids) if with_mask else None
            return super().forward(input_ids=input_ids, attention_mask=mask,
                                   use_cache=False).logits

    model = Exportable(base.config).eval()
    model.load_state_dict(base.state_dict())
    ids = torch.zeros(*(STATIC_SHAPE if static else (2, 8)), dtype=torch.int64)
    common = dict(input_names=["input_ids"], output_names=["logits"])
    if kind == "torchscript":
        dynamic = {} if static else {
            "dynamic_axes": {"input_ids": {0: "batch", 1: "seq"}}}
        torch.onnx.export(model, (ids,), path, dynamo=False, opset_version=17,
                          **dynamic, **common)
    else:
        dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}
        dynamic = {} if static else {"dynamic_shapes": {"input_ids": dims}}
        extra = {"opset_version": 23} if kind == "dynamo23" else {}
        torch.onnx.export(model, (ids,), path, dynamo=True, external_data=True,
                          **dynamic, **common, **extra)


def _stamp():
    import onnx
    import torch
    import transformers

    digest = hashlib.sha256()
    for source in (__file__, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "handwritten_llama.py")):
        with open(source, "rb") as f:
            digest.update(f.read())
    digest = digest.hexdigest()[:12]
    return f"torch{torch.__version__}-tf{transformers.__version__}-onnx{onnx.__version__}-{digest}"


def fixture(exporter, cache_dir):
    """Path of the exporter's .onnx in cache_dir, exporting it when missing."""
    if exporter not in EXPORTERS:
        raise SystemExit(f"unknown exporter '{exporter}' (one of {EXPORTERS})")
    folder = os.path.join(cache_dir, _stamp(), exporter)
    path = os.path.join(folder, "tiny.onnx")
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=exporter + ".", dir=os.path.dirname(folder))
    # A child process: the exporters print a lot and leave global state.
    result = subprocess.run([sys.executable, __file__, "--export-one", exporter,
                             os.path.join(staging, "tiny.onnx")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise SystemExit(f"exporting the tiny Llama with {exporter} failed:\n"
                         + result.stdout[-4000:] + result.stderr[-4000:])
    try:
        os.rename(staging, folder)
    except OSError:  # another test exported it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return path


def build_cache_dir():
    build = os.environ.get("OFF_BUILD_DIR")
    if not build:
        raise SystemExit("OFF_BUILD_DIR is not set (run through ctest)")
    return os.path.join(build, "test", "onnx_fixtures")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--export-one":
        _export(sys.argv[2], sys.argv[3])
        sys.exit(0)
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for name in sys.argv[2:] or ("torchscript", "dynamo"):
        print(fixture(name, sys.argv[1]))
    # Fixtures of older torch/transformers versions or of an older version of
    # this script are never read again.
    current = _stamp()
    for entry in os.listdir(sys.argv[1]):
        if entry != current and entry.startswith("torch") and not entry.endswith(".tmp"):
            shutil.rmtree(os.path.join(sys.argv[1], entry), ignore_errors=True)
