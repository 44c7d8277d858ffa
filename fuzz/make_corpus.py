#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/.

    python3 fuzz/make_corpus.py            # (re)writes the generated seeds

Every file is built here from the format's definition (plan.proto's wire
encoding, safetensors' layout, llm.c's header, HF config.json, our
trainer_state.json), never by offload's own writers, so a seed is also an
independent check of the parser: ok-* seeds must be accepted and bad-* seeds
rejected (the replay driver checks both). Only the standard library is
used. Seeds that a fuzzer found (regress-*) are committed by hand and left
alone here.
"""
import json
import os
import struct
import sys
import zlib

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "llama")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------------ plan.bin
# Protobuf wire format by hand (plan.proto field numbers), so the seeds do
# not depend on generated code.

def varint(n):
    if n < 0:
        n += 1 << 64  # int64: ten-byte two's complement
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def f_str(field, text):
    return f_bytes(field, text.encode())


def f_double(field, x):
    return varint(field << 3 | 1) + struct.pack("<d", x)


def f_packed(field, values):
    return f_bytes(field, b"".join(varint(v) for v in values))


PLAN_VERSION = 3  # kFormatVersion (runtime/plan/Plan.h)
F32, BF16, F16, I32, I64, U8 = 1, 2, 3, 4, 5, 6
PARAM, GRAD, OPT, ACT, INPUT, OUTPUT, CONST, WORKSPACE = 1, 2, 3, 4, 5, 6, 7, 8
INIT_NORMAL, INIT_ONES, INIT_ZEROS = 1, 2, 3
DEVICE, HOST, NVME = 1, 2, 3
COMPUTE, H2D, D2H = 1, 2, 3


def tensor(name, shape, dtype, role, arena, offset, size, hf_name="", trainable=False,
           data=b"", init=None):
    out = f_str(1, name)
    if hf_name:
        out += f_str(2, hf_name)
    out += f_packed(3, shape) + f_varint(4, dtype) + f_varint(5, role)
    if trainable:
        out += f_varint(6, 1)
    out += f_varint(7, arena) + f_varint(8, offset) + f_varint(9, size)
    if data:
        out += f_bytes(10, data)
    if init is None and role == PARAM:
        init = INIT_NORMAL
    if init:
        out += f_varint(11, init)
    return out


def attr_entry(key, value):
    return f_bytes(4, f_str(1, key) + f_bytes(2, value))


def kernel(op, inputs, outputs, attrs=b""):
    return f_bytes(1, f_str(1, op) + f_packed(2, inputs) + f_packed(3, outputs) + attrs)


def copy(src, dst):
    return f_bytes(2, f_varint(1, src) + f_varint(2, dst))


def record(event):
    return f_varint(3, event)  # a oneof member: written even when 0


def wait(event):
    return f_varint(4, event)


def stream(kind, instructions):
    return f_varint(1, kind) + b"".join(f_bytes(2, i) for i in instructions)


def plan(tiers, arenas, tensors, streams, events, version=PLAN_VERSION):
    model = (f_str(1, "llama") + f_str(2, '{"model_type":"llama"}') + f_varint(3, 1) +
             f_varint(4, 4) + f_varint(5, 1) + f_varint(6, 256) + f_double(7, 0.02) +
             f_str(8, "train_step"))
    hyper = (f_double(1, 1e-3) + f_double(2, 0.9) + f_double(3, 0.999) + f_double(4, 1e-8) +
             f_double(5, 0.01) + f_double(6, 1.0))
    out = f_varint(1, version) + f_str(2, "make_corpus.py") + f_bytes(3, model) + f_bytes(4, hyper)
    out += b"".join(f_bytes(5, t) for t in tiers)
    out += b"".join(f_bytes(6, a) for a in arenas)
    out += b"".join(f_bytes(7, t) for t in tensors)
    out += b"".join(f_bytes(8, s) for s in streams)
    return out + f_varint(9, events)


def tier(kind, budget=0):
    return f_varint(1, kind) + (f_varint(2, budget) if budget else b"")


def arena(tier_id, size, alignment):
    return f_varint(1, tier_id) + f_varint(2, size) + f_varint(3, alignment)


def framed(payload, magic=b"OFFPLAN\x01", length=None, crc=None, extra=b""):
    length = len(payload) if length is None else length
    crc = zlib.crc32(payload) if crc is None else crc
    return magic + struct.pack("<Q", length) + payload + struct.pack("<I", crc) + extra


def small_plan(**overrides):
    """Two tiers, two arenas, seven tensors (param, inputs, activations,
    constant, output), a compute stream and a copy stream joined by an
    event, in an order verifyPlanOrder accepts."""
    parts = dict(
        tiers=[tier(DEVICE, 4096), tier(HOST)],
        arenas=[arena(0, 1024, 64), arena(1, 512, 64)],
        tensors=[
            tensor("model.norm.weight", [8], F32, PARAM, 0, 0, 32,
                   hf_name="model.norm.weight", trainable=True, init=INIT_ONES),
            tensor("x", [4, 8], F32, INPUT, 0, 64, 128),
            tensor("y", [4, 8], F32, ACT, 0, 192, 128),
            tensor("input_ids", [1, 1, 4], I32, INPUT, 0, 320, 16),
            tensor("rope.cos", [2, 2], F32, CONST, 0, 384, 16, data=struct.pack("<4f", 1, 0.5, 0.25, 0)),
            tensor("y.host", [4, 8], F32, ACT, 1, 0, 128),
            tensor("loss", [], F32, OUTPUT, 0, 448, 4),
        ],
        streams=[
            stream(COMPUTE, [
                kernel("rms_norm", [1, 0], [2],
                       attr_entry("eps", f_double(2, 1e-5)) + attr_entry("axis", f_varint(1, 0)) +
                       attr_entry("perm", f_bytes(5, f_packed(1, [1, 0, -1])))),
                record(0)]),
            stream(D2H, [wait(0), copy(2, 5)]),
        ],
        events=1)
    parts.update(overrides)
    return plan(**parts)


def make_plan_corpus():
    good = small_plan()
    write("plan", "ok-small.plan", framed(good))
    write("plan", "ok-small-payload.pb", good)  # unframed: the target frames it
    write("plan", "ok-minimal-payload.pb",
          plan([tier(HOST)], [], [], [stream(COMPUTE, [])], 0))
    broken = bytearray(good)
    broken[len(broken) // 2] ^= 0x10
    write("plan", "bad-crc.plan", framed(bytes(broken), crc=zlib.crc32(good)))
    write("plan", "bad-truncated.plan", framed(good)[:-9])
    write("plan", "bad-trailing-bytes.plan", framed(good, extra=b"\0\0\0"))
    write("plan", "bad-magic.plan", framed(good, magic=b"OFFPLAN\x02"))
    write("plan", "bad-length-huge.plan", framed(good, length=1 << 63))
    write("plan", "bad-too-short.plan", b"OFFPLAN\x01\x05")
    write("plan", "bad-version-next.plan", framed(small_plan(version=PLAN_VERSION + 1)))
    write("plan", "bad-version-1.plan", framed(small_plan(version=1)))
    write("plan", "bad-param-without-init.pb", small_plan(tensors=[
        tensor("w", [8], F32, PARAM, 0, 0, 32, init=0)], streams=[stream(COMPUTE, [])],
        events=0))
    write("plan", "bad-empty-payload.pb", b"")
    write("plan", "bad-payload-garbage.pb", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
    past = small_plan(tensors=[tensor("x", [4, 8], F32, ACT, 0, 960, 128)],
                      streams=[stream(COMPUTE, [])])
    write("plan", "bad-tensor-past-arena.pb", past)
    wrap = small_plan(tensors=[tensor("x", [4, 8], F32, ACT, 0, (1 << 64) - 64, 128)],
                      streams=[stream(COMPUTE, [])])
    write("plan", "bad-offset-wraps.pb", wrap)
    huge = small_plan(tensors=[tensor("x", [1 << 40, 1 << 40, 1 << 40], F32, ACT, 0, 0, 0)],
                      streams=[stream(COMPUTE, [])])
    write("plan", "bad-shape-overflow.pb", huge)
    write("plan", "bad-wait-never-recorded.plan",
          framed(small_plan(streams=[stream(COMPUTE, [wait(0)])])))
    write("plan", "bad-copy-size-mismatch.pb",
          small_plan(streams=[stream(COMPUTE, [copy(0, 1)])], events=0))
    # Valid references, wrong order (verifyPlanOrder): the copy reads y
    # without waiting for the kernel that writes it.
    write("plan", "bad-copy-before-write.pb",
          small_plan(streams=[stream(COMPUTE, [kernel("rms_norm", [1, 0], [2],
                                                      attr_entry("eps", f_double(2, 1e-5)))]),
                              stream(D2H, [copy(2, 5)])], events=0))
    write("plan", "bad-kernel-missing-tensor.pb",
          small_plan(streams=[stream(COMPUTE, [kernel("add", [0, 99], [1])])], events=0))
    write("plan", "bad-over-budget.pb",
          small_plan(tiers=[tier(DEVICE, 1000), tier(HOST)]))


# ------------------------------------------------------------------ safetensors

def safetensors(header, data=b"", pad=True):
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    if pad:  # as the reference writer does: the data section 8-byte aligned
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def make_safetensors_corpus():
    floats = struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, -0.0)
    bf16 = struct.pack("<4H", 0x3F80, 0xC000, 0x7F80, 0x0001)
    write("safetensors", "ok-f32-bf16.safetensors", safetensors(
        {"__metadata__": {"format": "pt"}, "a": entry("F32", [2, 3], 0, 24),
         "b": entry("BF16", [4], 24, 32)}, floats + bf16))
    write("safetensors", "ok-no-tensors.safetensors", safetensors("{}", pad=False))
    header, data = {}, b""
    for dtype, size in [("F64", 8), ("I64", 8), ("U64", 8), ("F32", 4), ("I32", 4), ("U32", 4),
                        ("F16", 2), ("BF16", 2), ("I16", 2), ("U16", 2), ("I8", 1), ("U8", 1),
                        ("BOOL", 1)]:
        header["t_" + dtype.lower()] = entry(dtype, [2], len(data), len(data) + 2 * size)
        data += bytes(range(len(data), len(data) + 2 * size))
    header["empty"] = entry("F32", [0, 3], len(data), len(data))
    header["scalar"] = entry("F16", [], len(data), len(data) + 2)
    data += struct.pack("<H", 0x3C00)
    write("safetensors", "ok-all-dtypes.safetensors", safetensors(header, data))
    # Header order differs from data order (the reader must sort by offset).
    write("safetensors", "ok-out-of-order.safetensors", safetensors(
        {"z": entry("F32", [2], 8, 16), "a": entry("F32", [2], 0, 8)}, floats[:16]))

    two = {"a": entry("F32", [2, 3], 0, 24), "b": entry("BF16", [4], 24, 32)}
    write("safetensors", "bad-too-short.safetensors", b"\x10\0\0\0")
    write("safetensors", "bad-header-past-end.safetensors",
          struct.pack("<Q", 4096) + b'{"a":1}')
    write("safetensors", "bad-header-over-limit.safetensors",
          struct.pack("<Q", 200 << 20) + b"{}")
    write("safetensors", "bad-not-json.safetensors", safetensors('{"a": nope}', b""))
    write("safetensors", "bad-data-truncated.safetensors", safetensors(two, (floats + bf16)[:30]))
    write("safetensors", "bad-trailing-data.safetensors", safetensors(two, floats + bf16 + b"\0" * 4))
    write("safetensors", "bad-overlap.safetensors", safetensors(
        {"a": entry("F32", [4], 0, 16), "b": entry("F32", [4], 8, 24)}, floats))
    write("safetensors", "bad-hole.safetensors", safetensors(
        {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 16, 24)}, floats))
    write("safetensors", "bad-dtype-f8.safetensors", safetensors(
        {"a": entry("F8_E4M3", [8], 0, 8)}, floats[:8]))
    write("safetensors", "bad-size-mismatch.safetensors", safetensors(
        {"a": entry("F32", [2, 3], 0, 20)}, floats[:20]))
    write("safetensors", "bad-negative-dim.safetensors", safetensors(
        {"a": entry("F32", [-2, 3], 0, 24)}, floats))
    write("safetensors", "bad-offsets-reversed.safetensors", safetensors(
        {"a": entry("F32", [2], 8, 0)}, floats[:8]))
    write("safetensors", "bad-shape-overflow.safetensors", safetensors(
        {"a": entry("F32", [1 << 40, 1 << 40, 1 << 40], 0, 0)}))
    write("safetensors", "bad-duplicate-name.safetensors", safetensors(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', floats[:8]))
    write("safetensors", "bad-metadata-number.safetensors", safetensors(
        {"__metadata__": {"step": 3}}))
    write("safetensors", "bad-unknown-field.safetensors", safetensors(
        {"a": dict(entry("F32", [1], 0, 4), extra=1)}, floats[:4]))
    write("safetensors", "bad-offsets-huge.safetensors", safetensors(
        {"a": entry("U8", [16], (1 << 64) - 8, 8)}, floats[:8]))


# ------------------------------------------------------------------ token files

LLMC_MAGIC = 20240520


def llmc(tokens, version=1, count=None, magic=LLMC_MAGIC, header_ints=256, extra=b""):
    header = [0] * header_ints
    header[0], header[1] = magic, version
    header[2] = len(tokens) if count is None else count
    fmt = "<%dH" if version == 1 else "<%dI"
    return struct.pack("<%di" % header_ints, *header) + struct.pack(fmt % len(tokens), *tokens) + extra


def make_token_corpus():
    ids = [(i * 7919) % 50257 for i in range(64)]
    write("token_data", "ok-v1-64-tokens.bin", llmc(ids))
    write("token_data", "ok-v2-64-tokens.bin", llmc(ids, version=2))
    write("token_data", "ok-v1-empty.bin", llmc([]))
    # Ids past a GPT-2 vocabulary: accepted by the file, refused by the loader.
    write("token_data", "ok-v2-large-ids.bin", llmc([70000, 1, 2, 3, 4, 5, 6, 99999], version=2))
    write("token_data", "bad-magic.bin", llmc(ids, magic=20240521))
    write("token_data", "bad-version-3.bin", llmc(ids, version=3))
    write("token_data", "bad-count-too-large.bin", llmc(ids, count=65))
    write("token_data", "bad-count-negative.bin", llmc(ids, count=-1))
    write("token_data", "bad-trailing-tokens.bin", llmc(ids, count=60))
    write("token_data", "bad-odd-payload.bin", llmc(ids, extra=b"\x01"))
    write("token_data", "bad-short-header.bin", llmc([], header_ints=128))


# ------------------------------------------------------------------ JSON

def make_json_corpus():
    with open(os.path.join(MODELS, "tiny.json"), "rb") as f:
        write("json", "ok-hf-config.json", f.read())
    write("json", "ok-nested.json", '{"a":[1,2,{"b":null,"c":[true,false]}],"d":{},"e":[]}')
    write("json", "ok-unicode.json",
          '["\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/\\b\\f\\r", "\u00e9\u4e2d\U0001F600", "\\u0000"]'
          .encode("utf-8"))
    write("json", "ok-numbers.json",
          "[0,-0,1.5e10,-2E-3,0.25,18446744073709551615,-9223372036854775808,"
          "18446744073709551616,-1e-400,123456789012345678901234567890]")
    write("json", "ok-string-scalar.json", '"just a string"')
    write("json", "ok-whitespace.json", " \t\n[ true , null ]\r\n")
    write("json", "ok-depth-64.json", "[" * 64 + "]" * 64)
    write("json", "bad-trailing-comma.json", '{"a":1,}')
    write("json", "bad-duplicate-key.json", '{"a":1,"a":2}')
    write("json", "bad-lone-surrogate.json", '["\\ud800"]')
    write("json", "bad-low-surrogate-first.json", '["\\udc00\\ud800"]')
    write("json", "bad-overlong-utf8.json", b'["\xc0\xaf"]')
    write("json", "bad-utf8-surrogate.json", b'["\xed\xa0\x80"]')
    write("json", "bad-truncated-utf8.json", b'["\xe4\xb8')
    write("json", "bad-deep-nesting.json", "[" * 100 + "]" * 100)
    write("json", "bad-control-char.json", b'["a\x01b"]')
    write("json", "bad-leading-zero.json", "[01]")
    write("json", "bad-single-quotes.json", "{'a':1}")
    write("json", "bad-nan.json", "[NaN]")
    write("json", "bad-two-values.json", "{} {}")
    write("json", "bad-number-overflow.json", "[1e400]")  # beyond a double: refused
    write("json", "bad-nul.json", b'{"a":1}\x00')
    write("json", "bad-empty.json", "")
    write("json", "bad-unterminated.json", '{"a":"b')


# ------------------------------------------------------------------ trainer_state.json

def make_trainer_state_corpus():
    state = {"format": "offload-trainer-state", "version": 1, "step": 100,
             "micro_batch": 400, "optimizer_step": 100,
             "rng": {"seed": 1234, "stream": 0, "offset": 987654},
             "plan": {"hash": "sha256:0f1e2d3c", "format_version": 1}, "extra": {}}

    def variant(**changes):
        out = json.loads(json.dumps(state))
        for key, value in changes.items():
            if value is None:
                out.pop(key)
            else:
                out[key] = value
        return json.dumps(out)

    write("trainer_state", "ok-state.json", json.dumps(state, separators=(",", ":")) + "\n")
    # Members in reverse order, pretty-printed, a 64-bit step, a free-form extra.
    pretty = json.loads(variant(extra={"lr_schedule": [1, 2.5, None], "note": "\u00e9"},
                                step=18446744073709551615))
    write("trainer_state", "ok-state-pretty.json",
          json.dumps(dict(reversed(list(pretty.items()))), indent=2))
    write("trainer_state", "ok-no-extra.json", variant(extra=None))
    write("trainer_state", "bad-version-2.json", variant(version=2))
    write("trainer_state", "bad-format.json", variant(format="hf-trainer-state"))
    write("trainer_state", "bad-missing-rng.json", variant(rng=None))
    write("trainer_state", "bad-missing-rng-seed.json", variant(rng={"stream": 0, "offset": 1}))
    write("trainer_state", "bad-negative-step.json", variant(step=-1))
    write("trainer_state", "bad-fractional-step.json", variant(step=1.5))
    write("trainer_state", "bad-step-too-large.json",
          json.dumps(state).replace('"step": 100', '"step": 18446744073709551616'))
    write("trainer_state", "bad-hash-number.json", variant(plan={"hash": 7, "format_version": 1}))
    write("trainer_state", "bad-plan-version-too-big.json",
          variant(plan={"hash": "x", "format_version": 1 << 32}))
    write("trainer_state", "bad-not-object.json", "[]")
    write("trainer_state", "bad-truncated.json", json.dumps(state)[:70])


def main():
    make_plan_corpus()
    make_safetensors_corpus()
    make_token_corpus()
    make_json_corpus()
    make_trainer_state_corpus()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        print("%-14s %2d seeds" % (target, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
