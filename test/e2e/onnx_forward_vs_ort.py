"""An ONNX model through offc and offrt against onnxruntime, end to end.

For the tiny Llama exported by the torch exporters (onnx_fixtures.py):

    offc compile tiny.onnx --forward --shape input_ids=BxT -o plan.bin \
        --weights-out w.safetensors
    offrt forward plan.bin --data tokens.bin --init w.safetensors -o out

(compiled twice: the plan.bin and weights files must be byte-identical; and
the training step of the TorchScript export likewise) and the logits offrt
computes (its CPU kernels, from the weights offc
extracted) must equal onnxruntime's on the same .onnx file and the same
input ids: rel <= 1e-5 (max |ours - ort| / max |ort|). The dynamo export at
opset 23 runs at batch 1 only: onnxruntime refuses its rotary caches for
larger batches (see docs/frontends.md).

Run by ctest (off_python_test) after e2e_onnx_fixtures; needs offc and offrt
on PATH.
"""

import os
import sys
import tempfile

import numpy as np
import onnxruntime
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import check, finish, run  # noqa: E402
import onnx_fixtures  # noqa: E402
import torch_training  # noqa: E402

LOGITS_RTOL = 1e-5
CASES = [("torchscript", 2, 8), ("dynamo", 2, 8), ("dynamo", 3, 5), ("dynamo23", 1, 8)]


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def check_training_plan_is_deterministic(cache, workdir):
    """The training step of an ONNX import, compiled twice: the same bytes."""
    model = onnx_fixtures.fixture("torchscript", cache)
    # The plan names PLAN.weights beside it: same file name, two folders.
    plans = [os.path.join(workdir, f"train_{i}", "train.plan") for i in range(2)]
    for plan in plans:
        os.makedirs(os.path.dirname(plan), exist_ok=True)
        run(["offc", "compile", model, "--shape", "input_ids=2x8", "--grad-accum", "2",
             "-o", plan])
    check(same_bytes(*plans) and same_bytes(*(p + ".weights" for p in plans)),
          "torchscript 2x8: the training step compiled twice gives byte-identical plan.bin "
          "and plan.bin.weights")


def check_case(exporter, batch, seq, cache, workdir):
    label = f"{exporter} {batch}x{seq}"
    model = onnx_fixtures.fixture(exporter, cache)
    stem = os.path.join(workdir, f"{exporter}_{batch}x{seq}")
    tokens = np.random.default_rng(batch * 100 + seq).integers(0, 256, batch * seq + 1)
    torch_training.write_llmc_tokens(stem + ".tokens", tokens)
    compile_forward = ["offc", "compile", model, "--forward", "--shape", f"input_ids={batch}x{seq}"]
    run(compile_forward + ["-o", stem + ".plan", "--weights-out", stem + ".safetensors"])
    # The same input compiles to the same bytes (plan.bin and the weights;
    # the plan names its PLAN.weights by file name, so the same name in
    # another folder).
    again = os.path.join(workdir, "again", os.path.basename(stem))
    os.makedirs(os.path.dirname(again), exist_ok=True)
    run(compile_forward + ["-o", again + ".plan", "--weights-out", again + ".safetensors"])
    beside = [p + ".plan.weights" for p in (stem, again)]
    check(same_bytes(stem + ".plan", again + ".plan")
          and same_bytes(stem + ".safetensors", again + ".safetensors")
          and (not os.path.exists(beside[0]) or same_bytes(*beside)),
          f"{label}: compiling twice gives byte-identical plan.bin and weights")
    run(["offrt", "forward", stem + ".plan", "--data", stem + ".tokens",
         "--init", stem + ".safetensors", "--micro-batch", "0", "-o", stem + ".out"])
    out = load_file(stem + ".out")
    ids = tokens[:batch * seq].reshape(batch, seq).astype(np.int64)
    check(np.array_equal(out["input_ids"].astype(np.int64), ids),
          f"{label}: offrt forward read the first {batch}x{seq} tokens")
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    reference = session.run(None, {"input_ids": ids})[0].astype(np.float64)
    logits = out["logits"].astype(np.float64)
    if logits.shape != reference.shape:
        check(False, f"{label}: logits shape {logits.shape} vs onnxruntime's "
              f"{reference.shape}")
        return
    rel = float(np.abs(logits - reference).max() / np.abs(reference).max())
    check(rel <= LOGITS_RTOL,
          f"{label}: offrt forward logits vs onnxruntime rel {rel:.2e} (<= {LOGITS_RTOL})")


def main():
    cache = onnx_fixtures.build_cache_dir()
    with tempfile.TemporaryDirectory() as workdir:
        for exporter, batch, seq in CASES:
            check_case(exporter, batch, seq, cache, workdir)
        check_training_plan_is_deterministic(cache, workdir)
    sys.exit(finish())


if __name__ == "__main__":
    main()
