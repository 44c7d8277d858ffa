"""Lists the GPU architectures whose machine code (ELF, kind 2) and PTX (kind 1)
a binary's fat binaries hold, from the .nv_fatbin section's entry headers
(cuobjdump --list-elf without the CUDA toolkit). Usage:
  fatbin_archs.py BINARY [--require sm_80,sm_90,...]
Exits 1 naming what is missing."""
import struct
import subprocess
import sys

MAGIC = 0xBA55ED50


def section(path, name):
    out = subprocess.run(["objdump", "-h", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1] == name:
            size, offset = int(parts[2], 16), int(parts[5], 16)
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read(size)
    return b""


def archs(blob):
    found = set()
    pos = 0
    while pos + 16 <= len(blob):
        magic, _version, header, fat = struct.unpack_from("<IHHQ", blob, pos)
        if magic != MAGIC:
            pos += 8  # fat binaries are 8-byte aligned; skip padding
            continue
        entry, end = pos + header, pos + header + fat
        while entry + 32 <= end:
            kind, _, eheader, payload = struct.unpack_from("<HHIQ", blob, entry)
            arch = struct.unpack_from("<I", blob, entry + 28)[0]
            found.add(("sm_%d" if kind == 2 else "compute_%d") % arch)
            if eheader == 0:
                break
            entry += eheader + payload
        pos = end
    return found


def main():
    binary = sys.argv[1]
    required = []
    if len(sys.argv) > 3 and sys.argv[2] == "--require":
        required = [a for a in sys.argv[3].split(",") if a]
    found = archs(section(binary, ".nv_fatbin"))
    print("%s: %s" % (binary, " ".join(sorted(found)) or "no fat binary"))
    missing = [a for a in required if a not in found]
    if missing:
        print("missing: " + " ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
