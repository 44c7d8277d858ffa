#!/usr/bin/env python3
"""Adds an NVMe round trip to a plan.bin, for testing `offrt --nvme`.

  add_nvme_round_trip.py PLAN_PROTO_DIR IN.bin OUT.bin

The first parameter P makes a round trip through an NVMe arena before the
step's compute starts: a d2h stream copies P into host tensor nvme_rt.out,
an nvme-write stream writes that to nvme_rt.disk (a new NVMe arena), an
nvme-read stream reads it back into nvme_rt.back, an h2d stream copies that
over P, and the compute stream first waits for that. Results must not
change; bytes lost or misplaced on the way would change them. Standard library and protoc
only: the payload is edited in protobuf text format (protoc --decode /
--encode with runtime/plan/plan.proto) and re-framed as runtime/plan/Plan.h
describes (magic, length, payload, CRC-32).
"""
import re
import struct
import subprocess
import sys
import zlib

MAGIC = b"OFFPLAN\x01"


def protoc(proto_dir, mode, data):
    return subprocess.run(
        ["protoc", f"--{mode}=off.plan.Plan", f"--proto_path={proto_dir}", "plan.proto"],
        input=data, stdout=subprocess.PIPE, check=True).stdout


def blocks(text):
    """Top-level entries of a text-format message: (first line, whole text)."""
    entries, current = [], []
    for line in text.splitlines(keepends=True):
        current.append(line)
        if not line.startswith(" ") and (not line.rstrip().endswith("{") or line.startswith("}")):
            entries.append("".join(current))
            current = []
    return entries


def field(block, name, default=0):
    m = re.search(rf"^  {name}: (\S+)$", block, re.M)
    return m.group(1) if m else default


def main():
    proto_dir, src, dst = sys.argv[1:4]
    data = open(src, "rb").read()
    assert data[:8] == MAGIC, f"{src}: not a plan.bin"
    (length,) = struct.unpack("<Q", data[8:16])
    text = protoc(proto_dir, "decode", data[16:16 + length]).decode()
    entries = blocks(text)
    count = lambda head: sum(e.startswith(head + " {") for e in entries)
    tiers, arenas, tensors = count("tiers"), count("arenas"), count("tensors")
    events = sum(int(e.split(":")[1]) for e in entries if e.startswith("num_events:"))
    tensor_entries = [e for e in entries if e.startswith("tensors {")]
    pid = next(i for i, e in enumerate(tensor_entries) if "\n  role: PARAM\n" in e)
    param = tensor_entries[pid]
    size = int(field(param, "size_bytes"))
    shape = "".join(f"  shape: {d}\n" for d in re.findall(r"^  shape: (\d+)$", param, re.M))

    def tensor(name, arena, offset):
        return (f'tensors {{\n  name: "{name}"\n{shape}  dtype: F32\n  role: ACTIVATION\n'
                f"  arena: {arena}\n  offset: {offset}\n  size_bytes: {size}\n}}\n")

    def stream(kind, *instructions):
        body = "".join(f"  instructions {{\n    {i}\n  }}\n" for i in instructions)
        return f"streams {{\n  kind: {kind}\n{body}}}\n"

    host, disk = arenas, arenas + 1
    back_at = (size + 4095) // 4096 * 4096
    out, on_disk, back = tensors, tensors + 1, tensors + 2
    added = (f"tiers {{\n  kind: TIER_HOST\n}}\ntiers {{\n  kind: TIER_NVME\n}}\n"
             f"arenas {{\n  tier: {tiers}\n  size_bytes: {back_at + size}\n  alignment: 4096\n}}\n"
             f"arenas {{\n  tier: {tiers + 1}\n  size_bytes: {size}\n  alignment: 4096\n}}\n"
             + tensor("nvme_rt.out", host, 0) + tensor("nvme_rt.disk", disk, 0)
             + tensor("nvme_rt.back", host, back_at)
             + stream("D2H", f"copy {{\n      src: {pid}\n      dst: {out}\n    }}",
                      f"record_event: {events}")
             + stream("NVME_WRITE", f"wait_event: {events}",
                      f"copy {{\n      src: {out}\n      dst: {on_disk}\n    }}",
                      f"record_event: {events + 1}")
             + stream("NVME_READ", f"wait_event: {events + 1}",
                      f"copy {{\n      src: {on_disk}\n      dst: {back}\n    }}",
                      f"record_event: {events + 2}")
             + stream("H2D", f"wait_event: {events + 2}",
                      f"copy {{\n      src: {back}\n      dst: {pid}\n    }}",
                      f"record_event: {events + 3}"))
    result = []
    for e in entries:
        if e.startswith("num_events"):
            continue
        if e.startswith("streams {") and "\n  kind: COMPUTE\n" in e:
            e = e.replace("\n  kind: COMPUTE\n",
                          f"\n  kind: COMPUTE\n  instructions {{\n    wait_event: {events + 3}\n  }}\n", 1)
        result.append(e)
    result.append(added + f"num_events: {events + 4}\n")
    payload = protoc(proto_dir, "encode", "".join(result).encode())
    with open(dst, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(payload)) + payload +
                struct.pack("<I", zlib.crc32(payload) & 0xFFFFFFFF))


if __name__ == "__main__":
    main()
