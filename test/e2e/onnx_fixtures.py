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

Input ids are int64 [batch, seq] with both dimensions dynamic. The cache key
is the torch/transformers/onnx versions plus this file's hash; a fixture is
exported into a temporary folder and renamed into place, so concurrent tests
never see half a fixture.

    python onnx_fixtures.py OUT_DIR [torchscript|dynamo|dynamo23]...
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
EXPORTERS = ("torchscript", "dynamo", "dynamo23")


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


def _export(exporter, path):
    import torch
    import transformers

    base = tiny_model()
    with_mask = exporter == "torchscript"

    class Exportable(transformers.LlamaForCausalLM):
        """forward(input_ids) -> logits, keeping Hugging Face's param names."""

        def forward(self, input_ids):
            mask = torch.ones_like(input_ids) if with_mask else None
            return super().forward(input_ids=input_ids, attention_mask=mask,
                                   use_cache=False).logits

    model = Exportable(base.config).eval()
    model.load_state_dict(base.state_dict())
    ids = torch.zeros(2, 8, dtype=torch.int64)
    common = dict(input_names=["input_ids"], output_names=["logits"])
    if exporter == "torchscript":
        torch.onnx.export(model, (ids,), path, dynamo=False, opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}},
                          **common)
    else:
        dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}
        extra = {"opset_version": 23} if exporter == "dynamo23" else {}
        torch.onnx.export(model, (ids,), path, dynamo=True,
                          dynamic_shapes={"input_ids": dims},
                          external_data=True, **common, **extra)


def _stamp():
    import onnx
    import torch
    import transformers

    with open(__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
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
