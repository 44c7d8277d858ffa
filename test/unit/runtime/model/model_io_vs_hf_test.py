"""off_model against the Python ecosystem's own readers and writers.

(a) a safetensors file written by the `safetensors` package (torch) is read
    by our reader (model_io_tool dump): names, dtypes, shapes, bytes, metadata;
(b) a file written by our writer (model_io_tool write-sample) is read by the
    `safetensors` package, whose Rust parser validates the layout, and its
    values are checked against the formulas recomputed here;
(c) a tiny Llama checkpoint saved by our checkpoint writer, of the
    parameters of the plan `offc compile` makes (names, shapes, and the init
    kind the compiler gives each: HF's _init_weights) loads with
    transformers' LlamaForCausalLM.from_pretrained without missing,
    unexpected or mismatched keys, equal to the file, with the names and
    shapes of LlamaForCausalLM's own state_dict; every RMSNorm module's weight is
    ones and every Linear/Embedding weight ~ N(0, initializer_range); its
    optimizer state and trainer state are what was written;
(d) a checkpoint written by transformers' save_pretrained passes our tensor
    check against the plan's parameters, and a wrong one fails it naming
    every bad tensor;
(e) `offrt tokenize` of several files gives the llm.c bytes numpy expects.

Run by ctest (off_python_test) with --tool model_io_tool and offc on PATH;
HF_HUB_OFFLINE=1.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM

SOURCE_DIR = os.environ.get("OFF_SOURCE_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..")
TINY_CONFIG = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")
FALLBACK_TINY = {  # used only if models/llama/tiny.json is absent
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
    "initializer_range": 0.02, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
    "max_position_embeddings": 256, "torch_dtype": "float32",
}

DTYPE_NAMES = {
    torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
    torch.float64: "F64", torch.int32: "I32", torch.int64: "I64",
    torch.uint8: "U8", torch.bool: "BOOL",
}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def raw_bytes(tensor):
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def run(*args, expect_ok=True):
    result = subprocess.run(list(args), capture_output=True, text=True)
    if expect_ok and result.returncode != 0:
        raise RuntimeError(f"{args} failed ({result.returncode}):\n{result.stderr}")
    return result


def test_read_python_written(tool, work):
    torch.manual_seed(0)
    tensors = {
        "f32": torch.randn(3, 7),
        "bf16": torch.randn(5, 4).to(torch.bfloat16),
        "f16": torch.randn(9).to(torch.float16),
        "i32": torch.randint(-2**31, 2**31 - 1, (4,), dtype=torch.int32),
        "i64": torch.tensor([-2**63, 0, 2**63 - 1]),
        "u8": torch.arange(0, 256, 51, dtype=torch.uint8),
        "f64": torch.tensor(0.1, dtype=torch.float64),
        "bool": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 5),
        "model.layers.0.self_attn.q_proj.weight": torch.randn(8, 8),
    }
    path = os.path.join(work, "python.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "k": "v"})
    out = os.path.join(work, "dump")
    run(tool, "dump", path, out)
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    check(manifest["metadata"] == {"format": "pt", "k": "v"},
          f"(a) metadata read as {manifest['metadata']}")
    seen = {entry["name"]: entry for entry in manifest["tensors"]}
    check(set(seen) == set(tensors), f"(a) names read: {sorted(seen)}")
    for name, tensor in tensors.items():
        entry = seen.get(name)
        if entry is None:
            continue
        check(entry["dtype"] == DTYPE_NAMES[tensor.dtype],
              f"(a) {name}: dtype {entry['dtype']}, expected {DTYPE_NAMES[tensor.dtype]}")
        check(entry["shape"] == list(tensor.shape),
              f"(a) {name}: shape {entry['shape']}, expected {list(tensor.shape)}")
        with open(os.path.join(out, entry["file"]), "rb") as f:
            check(f.read() == raw_bytes(tensor), f"(a) {name}: bytes differ")


def test_python_reads_ours(tool, work):
    path = os.path.join(work, "ours.safetensors")
    run(tool, "write-sample", path)
    loaded = load_file(path)  # the Rust parser rejects holes, overlaps, bad sizes
    expected = {
        "sample.f32": torch.tensor((np.arange(15) - 7) * 0.375, dtype=torch.float32).reshape(3, 5),
        "sample.bf16": torch.tensor((np.arange(12) - 5) * 0.5).to(torch.bfloat16).reshape(4, 3),
        "sample.f16": torch.tensor([1, -2, 0.5, 65504, 2.0**-24, -0.0], dtype=torch.float16),
        "sample.i32": torch.tensor([-2**31, -1, 0, 2**31 - 1], dtype=torch.int32).reshape(2, 2),
        "sample.i64": torch.tensor([-2**63, 2**40, 2**63 - 1], dtype=torch.int64),
        "sample.u8": torch.tensor([0, 1, 128, 254, 255], dtype=torch.uint8),
        "sample.empty": torch.zeros(0, 3),
        "sample.f64": torch.tensor(0.1, dtype=torch.float64),
    }
    check(set(loaded) == set(expected), f"(b) names: {sorted(loaded)}")
    for name, want in expected.items():
        got = loaded.get(name)
        if got is None:
            continue
        check(got.dtype == want.dtype and got.shape == want.shape,
              f"(b) {name}: {got.dtype} {tuple(got.shape)}, expected {want.dtype} "
              f"{tuple(want.shape)}")
        check(raw_bytes(got) == raw_bytes(want), f"(b) {name}: values {got} != {want}")
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
    check(metadata == {"producer": "offload", "note": "\u00fcn\u00ef \"quoted\""},
          f"(b) metadata {metadata}")


def compile_plan(work, config_path):
    plan = os.path.join(work, "tiny.plan")
    run("offc", "compile", "--model", "llama", "--config", config_path, "--batch", "1",
        "--seq", "8", "-o", plan)
    return plan


def test_llama_checkpoint(tool, work, config_path, plan):
    save_dir = os.path.join(work, "ckpt")
    step_dir = run(tool, "save-llama", plan, config_path, save_dir, "1234",
                   "7").stdout.strip()
    check(step_dir == os.path.join(save_dir, "step-7"), f"(c) step dir {step_dir}")
    with open(os.path.join(save_dir, "latest")) as f:
        check(f.read() == "step-7\n", "(c) latest does not name step-7")

    model, info = LlamaForCausalLM.from_pretrained(step_dir, output_loading_info=True)
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        check(key in info and not info[key], f"(c) from_pretrained {key}: {info.get(key)}")
    ours = load_file(os.path.join(step_dir, "model.safetensors"))
    state = model.state_dict()
    for name, tensor in state.items():
        if name not in ours:
            check(False, f"(c) {name} is not in our file")
            continue
        check(torch.equal(tensor, ours[name]), f"(c) {name}: loaded weights differ")

    # Names, order and shapes of LlamaForCausalLM itself (built on meta).
    config = LlamaConfig.from_pretrained(step_dir)
    with torch.device("meta"):
        reference = LlamaForCausalLM(config).state_dict()
    with safe_open(os.path.join(step_dir, "model.safetensors"), framework="pt") as f:
        header_names = list(f.keys())
        check(f.metadata() == {"format": "pt"}, f"(c) model metadata {f.metadata()}")
    check(sorted(header_names) == sorted(reference), "(c) names differ from HF's")
    for name, tensor in reference.items():
        if name in ours:
            check(tuple(ours[name].shape) == tuple(tensor.shape),
                  f"(c) {name}: shape {tuple(ours[name].shape)} vs HF {tuple(tensor.shape)}")

    # HF's _init_weights by module: RMSNorm weights 1, every Linear/Embedding
    # weight ~ N(0, initializer_range) (the kinds come from the plan).
    std = config.initializer_range
    norms = {f"{module_name}.weight" for module_name, module in model.named_modules()
             if type(module).__name__.endswith("RMSNorm")}
    check(len(norms) == 2 * config.num_hidden_layers + 1, f"(c) RMSNorm modules: {norms}")
    for name, tensor in ours.items():
        if name in norms:
            check(bool(torch.all(tensor == 1)), f"(c) {name} is not all ones")
        else:
            n = tensor.numel()
            mean, sd = tensor.double().mean().item(), tensor.double().std().item()
            check(abs(mean) < 5 * std / n**0.5, f"(c) {name}: mean {mean}")
            check(abs(sd - std) < 5 * std / (2 * n)**0.5 + 1e-4, f"(c) {name}: std {sd}")

    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3, 250]])).logits
    check(tuple(logits.shape) == (1, 4, config.vocab_size) and bool(torch.isfinite(logits).all()),
          "(c) forward pass of the loaded model")

    optim = load_file(os.path.join(step_dir, "optimizer.safetensors"))
    check(set(optim) == {f"{n}.{s}" for n in reference for s in ("exp_avg", "exp_avg_sq")},
          "(c) optimizer.safetensors names")
    for name, w in ours.items():
        m, v = optim.get(name + ".exp_avg"), optim.get(name + ".exp_avg_sq")
        if m is None or v is None:
            continue
        check(m.dtype == torch.float32 and torch.equal(m, w * 0.5), f"(c) {name}.exp_avg")
        check(v.dtype == torch.float32 and torch.equal(v, w * w), f"(c) {name}.exp_avg_sq")
    with open(os.path.join(step_dir, "trainer_state.json")) as f:
        state = json.load(f)
    check(state["step"] == 7 and state["micro_batch"] == 14 and state["optimizer_step"] == 7
          and state["rng"] == {"seed": 1234, "stream": 1, "offset": 12345}
          and state["plan"] == {"hash": "test-plan", "format_version": 1},
          f"(c) trainer_state.json: {state}")


def test_hf_written_checkpoint(tool, work, config_path, plan):
    with open(config_path) as f:
        config = LlamaConfig(**json.load(f))
    torch.manual_seed(1)
    hf_dir = os.path.join(work, "hf")
    LlamaForCausalLM(config).save_pretrained(hf_dir)
    model_file = os.path.join(hf_dir, "model.safetensors")
    result = run(tool, "check-model", model_file, plan, expect_ok=False)
    check(result.returncode == 0 and result.stdout.strip() == "ok",
          f"(d) save_pretrained's file fails our check: {result.stderr}")

    state = load_file(model_file)
    state["model.layers.1.mlp.up_proj.weight"] = state["model.layers.1.mlp.up_proj.weight"][:, :8].contiguous()
    del state["model.norm.weight"]
    state["model.extra"] = torch.zeros(2)
    state["lm_head.weight"] = state["lm_head.weight"].to(torch.bfloat16)
    bad = os.path.join(work, "bad.safetensors")
    save_file(state, bad, metadata={"format": "pt"})
    result = run(tool, "check-model", bad, plan, expect_ok=False)
    message = result.stderr
    check(result.returncode == 1, f"(d) wrong checkpoint accepted: {result.stdout}")
    for line in (
            f"{bad}: tensor 'model.layers.1.mlp.up_proj.weight': expected [172, 64] F32, "
            f"found [172, 8] F32",
            f"{bad}: tensor 'model.norm.weight': missing (expected [64] F32)",
            f"{bad}: tensor 'model.extra': not expected (found [2] F32)",
            f"{bad}: tensor 'lm_head.weight': expected [256, 64] F32, found [256, 64] BF16",
            "4 problems:"):
        check(line in message, f"(d) error lacks '{line}':\n{message}")


def test_offrt_tokenize(work):
    offrt = shutil.which("offrt")
    if offrt is None:
        check(False, "(e) offrt is not on PATH")
        return
    parts = [b"Hello, world!\n", b"", bytes(range(256))]
    paths = []
    for i, data in enumerate(parts):
        paths.append(os.path.join(work, f"in{i}.txt"))
        with open(paths[-1], "wb") as f:
            f.write(data)
    out = os.path.join(work, "tokens.bin")
    result = run(offrt, "tokenize", *paths, "-o", out, expect_ok=False)
    check(result.returncode == 0, f"(e) offrt tokenize failed: {result.stderr}")
    if result.returncode != 0:
        return
    data = np.fromfile(out, dtype="<i4", count=256)
    tokens = np.fromfile(out, dtype="<u2", offset=1024)
    expected = np.frombuffer(b"".join(parts), dtype=np.uint8).astype(np.uint16)
    check(list(data[:3]) == [20240520, 1, len(expected)] and not data[3:].any(),
          f"(e) header {data[:4]}")
    check(np.array_equal(tokens, expected), "(e) token bytes differ")
    missing = run(offrt, "tokenize", os.path.join(work, "none.txt"), "-o", out,
                  expect_ok=False)
    check(missing.returncode != 0 and "none.txt" in missing.stderr,
          f"(e) missing input: rc {missing.returncode}, {missing.stderr}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        config_path = TINY_CONFIG
        if not os.path.exists(config_path):
            config_path = os.path.join(work, "tiny.json")
            with open(config_path, "w") as f:
                json.dump(FALLBACK_TINY, f)
        test_read_python_written(args.tool, work)
        test_python_reads_ours(args.tool, work)
        plan = compile_plan(work, config_path)
        test_llama_checkpoint(args.tool, work, config_path, plan)
        test_hf_written_checkpoint(args.tool, work, config_path, plan)
        test_offrt_tokenize(work)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
