"""`offc import` on bad ONNX input: a clear error, exit code 1, never a crash.

Cases (models built with onnx.helper, or damaged copies of the tiny Llama's
exports from onnx_fixtures.py):

* an unsupported op: `<path>: node '<name>' (<OpType>, opset N) is not
  supported; the importer translates these ONNX ops: ...`, and that list is
  the one docs/frontends.md documents; the same for a non-ONNX domain;
* a dynamic input dimension without --shape names the input; --shape naming
  no input, of the wrong rank, or contradicting a static dimension;
* truncated files (cut at many points), empty, text and random files, a
  safetensors file: "not an ONNX model" or another error naming the file;
* external data: missing file, truncated file, a location outside the
  model's folder;
* an opset older than the importer reads; a model libonnx's checker rejects;
* 150 deterministic random byte mutations of an export: every run exits 0
  or 1, never by a signal;
* after every failure no output file is left behind.

And --weights-out converts f16 (raw, with subnormals), bf16 (typed
int32_data), f64 and f32 typed-field initializers to F32 exactly as numpy
does. Run by ctest (off_python_test); needs offc on PATH.
"""

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from e2e_harness import check, finish  # noqa: E402
import onnx_fixtures  # noqa: E402


def offc_import(model, *extra, workdir):
    out = os.path.join(workdir, "out.mlir")
    if os.path.exists(out):
        os.remove(out)
    result = subprocess.run(["offc", "import", model, "-o", out, *extra],
                            capture_output=True, timeout=120)
    try:  # messages stay valid UTF-8 whatever bytes the file's names hold
        result.stderr = result.stderr.decode("utf-8")
    except UnicodeDecodeError as error:
        result.stderr = result.stderr.decode("utf-8", errors="replace")
        check(False, f"{model}: stderr is not UTF-8 ({error}): {result.stderr[-300:]!r}")
    return result, os.path.exists(out)


def expect_error(label, model, pattern, *extra, workdir):
    result, wrote = offc_import(model, *extra, workdir=workdir)
    errors = [l for l in result.stderr.splitlines() if ": error: " in l]
    message = errors[0] if errors else result.stderr.strip()
    good = (result.returncode == 1 and not wrote and
            re.search(pattern, message) is not None)
    check(good, f"{label}: exit {result.returncode}, " +
          (f"'{message[:160]}'" if good else
           f"expected /{pattern}/, got: {result.stderr[-600:]!r}"))
    return message


def save(path, nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def documented_ops():
    path = os.path.join(onnx_fixtures.SOURCE_DIR, "docs", "frontends.md")
    with open(path) as f:
        text = f.read()
    section = text[text.index("<!-- onnx-ops-begin -->"):text.index("<!-- onnx-ops-end -->")]
    return sorted(set(re.findall(r"^\| `(\w+)`", section, re.M)))


def check_unsupported(workdir):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    path = save(os.path.join(workdir, "model.onnx"),
                [helper.make_node("Erf", ["x"], ["y"], name="erf_node")], [x], [y])
    message = expect_error("unsupported op", path,
                           re.escape(path) + r": node 'erf_node' \(Erf, opset 17\) is not "
                           r"supported; the importer translates these ONNX ops: ",
                           workdir=workdir)
    listed = sorted(message.split("these ONNX ops: ")[-1].split(", "))
    check(listed == documented_ops(),
          f"the supported list in the message ({len(listed)} ops) is the table in "
          f"docs/frontends.md ({len(documented_ops())} ops)")
    node = helper.make_node("FusedMatMul", ["x", "x"], ["y"], name="fused",
                            domain="com.microsoft")
    graph = helper.make_graph([node], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, path)
    expect_error("non-ONNX domain", path,
                 r"node 'fused' \(com\.microsoft\.FusedMatMul, opset 1\) is not supported",
                 workdir=workdir)


def check_shapes_and_opsets(dynamo, workdir):
    expect_error("dynamic dimension without --shape", dynamo,
                 r"input 'input_ids' has a dynamic dimension 0 \('batch'\); give its "
                 r"static shape with --shape input_ids=", workdir=workdir)
    expect_error("--shape of no input", dynamo,
                 r"--shape names 'ids', which is not an input of the model "
                 r"\(inputs: input_ids\)", "--shape", "ids=2x8", workdir=workdir)
    expect_error("--shape of the wrong rank", dynamo,
                 r"--shape input_ids gives 3 dimensions, the input has 2",
                 "--shape", "input_ids=2x8x3", workdir=workdir)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    static = save(os.path.join(workdir, "static.onnx"),
                  [helper.make_node("Neg", ["x"], ["y"], name="n")], [x], [y])
    expect_error("--shape against a static dimension", static,
                 r"--shape x gives dimension 0 as 4, the model fixes it to 2",
                 "--shape", "x=4x3", workdir=workdir)
    old = save(os.path.join(workdir, "old.onnx"),
               [helper.make_node("Neg", ["x"], ["y"], name="n")], [x], [y], opset=11)
    expect_error("opset 11", old, r"uses ONNX opset 11; the importer reads opsets 13 to",
                 workdir=workdir)
    bad = save(os.path.join(workdir, "bad.onnx"),
               [helper.make_node("Neg", ["x", "x"], ["y"], name="n")], [x], [y])
    expect_error("rejected by the checker", bad, r"bad\.onnx: rejected by onnx::checker: ",
                 workdir=workdir)


def check_damaged_files(torchscript, dynamo, workdir):
    with open(torchscript, "rb") as f:
        data = f.read()
    path = os.path.join(workdir, "damaged.onnx")
    for fraction in (0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999):
        with open(path, "wb") as f:
            f.write(data[:int(len(data) * fraction)])
        expect_error(f"truncated to {fraction:.2%}", path, re.escape(path) + ": ",
                     workdir=workdir)
    for label, content in [("empty file", b""), ("text file", b"hello, world\n"),
                           ("random bytes", bytes(random.Random(7).getrandbits(8)
                                                  for _ in range(4096)))]:
        with open(path, "wb") as f:
            f.write(content)
        expect_error(label, path, re.escape(path) + r": not an ONNX model", workdir=workdir)
    weights = os.path.join(workdir, "w.safetensors")
    subprocess.run(["offc", "import", dynamo, "--shape", "input_ids=1x4", "-o",
                    os.path.join(workdir, "ok.mlir"), "--weights-out", weights],
                   check=True, capture_output=True)
    shutil.copy(weights, path)
    expect_error("a safetensors file", path, re.escape(path) + r": not an ONNX model",
                 workdir=workdir)

    folder = os.path.join(workdir, "nodata")
    os.makedirs(folder, exist_ok=True)
    copy = os.path.join(folder, "tiny.onnx")
    shutil.copy(dynamo, copy)
    expect_error("missing external data", copy,
                 r"initializer '[^']+': cannot read external data .*tiny\.onnx\.data: "
                 r"No such file", "--shape", "input_ids=1x4", workdir=workdir)
    with open(dynamo + ".data", "rb") as f:
        blob = f.read()
    with open(copy + ".data", "wb") as f:
        f.write(blob[:len(blob) // 2])
    expect_error("truncated external data", copy,
                 r"external data .*tiny\.onnx\.data \[offset \d+, length \d+\] does not "
                 r"hold its \d+ bytes", "--shape", "input_ids=1x4", workdir=workdir)
    model = onnx.load(dynamo, load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../secret.bin"
    onnx.save(model, copy)
    expect_error("external data outside the model's folder", copy,
                 r"external data location '\.\./secret\.bin' must be a relative path "
                 r"inside the model's folder", "--shape", "input_ids=1x4", workdir=workdir)


def check_mutations(torchscript, workdir):
    with open(torchscript, "rb") as f:
        data = bytearray(f.read())
    rng = random.Random(2026)
    path = os.path.join(workdir, "mutant.onnx")
    outcomes = {}
    for i in range(150):
        mutant = bytearray(data)
        for _ in range(rng.choice((1, 2, 8, 64))):
            mutant[rng.randrange(len(mutant))] = rng.getrandbits(8)
        if i % 5 == 0:
            del mutant[rng.randrange(len(mutant)):]
        with open(path, "wb") as f:
            f.write(mutant)
        result, wrote = offc_import(path, "--shape", "input_ids=1x3", workdir=workdir)
        outcomes[result.returncode] = outcomes.get(result.returncode, 0) + 1
        if result.returncode not in (0, 1) or (result.returncode == 1) == wrote:
            check(False, f"mutant {i}: exit {result.returncode}, output written "
                  f"{wrote}: {result.stderr[-400:]!r}")
            return
    check(set(outcomes) <= {0, 1},
          f"150 byte mutations: exit codes {sorted(outcomes.items())}, no signal")


def check_weight_types(workdir):
    rng = np.random.default_rng(3)
    w16 = np.concatenate([rng.standard_normal(10), [6e-8, -3e-6, 65504.0, -0.0]])
    w16 = w16.astype(np.float16).reshape(2, 7)
    wbf = rng.standard_normal((2, 7)).astype(np.float32)
    w64 = rng.standard_normal((2, 7))
    w32 = rng.standard_normal((2, 7)).astype(np.float32)
    # bf16 in typed int32_data: the upper half of the f32 bits, rounded to
    # nearest even by onnx.helper; the expected value is that rounding.
    bf16 = helper.make_tensor("wbf", TensorProto.BFLOAT16, [2, 7], wbf.flatten().tolist())
    bits = np.array(bf16.int32_data, dtype=np.uint32) << 16
    wbf_expected = bits.view(np.float32).reshape(2, 7)
    inits = [numpy_helper.from_array(w16, "w16"), bf16, numpy_helper.from_array(w64, "w64"),
             helper.make_tensor("w32", TensorProto.FLOAT, [2, 7], w32.flatten().tolist())]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])
    outputs, nodes = [], []
    for name, kind in [("w16", TensorProto.FLOAT16), ("wbf", TensorProto.BFLOAT16),
                       ("w64", TensorProto.DOUBLE), ("w32", TensorProto.FLOAT)]:
        nodes += [helper.make_node("Cast", ["x"], [f"x_{name}"], to=kind, name=f"c_{name}"),
                  helper.make_node("MatMul", [f"x_{name}", name], [f"y_{name}"],
                                   name=f"mm_{name}")]
        outputs.append(helper.make_tensor_value_info(f"y_{name}", kind, [3, 7]))
    graph = helper.make_graph(nodes, "g", [x], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(workdir, "types.onnx")
    onnx.save(model, path)
    weights = os.path.join(workdir, "types.safetensors")
    result, wrote = offc_import(path, "--weights-out", weights, workdir=workdir)
    check(result.returncode == 0 and wrote, f"import with f16/bf16/f64/f32 weights "
          f"({result.stderr.strip()[-300:]})")
    if result.returncode != 0:
        return
    got = load_file(weights)
    expected = {"w16": w16.astype(np.float32), "wbf": wbf_expected,
                "w64": w64.astype(np.float32), "w32": w32}
    for name, value in expected.items():
        same = (name in got and got[name].dtype == np.float32 and
                np.array_equal(got[name], value) and
                np.array_equal(np.signbit(got[name]), np.signbit(value)))
        check(same, f"--weights-out {name} as F32 equals numpy's conversion")


def main():
    cache = onnx_fixtures.build_cache_dir()
    torchscript = onnx_fixtures.fixture("torchscript", cache)
    dynamo = onnx_fixtures.fixture("dynamo", cache)
    with tempfile.TemporaryDirectory() as workdir:
        check_unsupported(workdir)
        check_shapes_and_opsets(dynamo, workdir)
        check_damaged_files(torchscript, dynamo, workdir)
        check_weight_types(workdir)
        check_mutations(torchscript, workdir)
    sys.exit(finish())


if __name__ == "__main__":
    main()
