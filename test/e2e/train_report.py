"""Measured tier peaks equal the predicted ones (issue 12, done-when 3;
DESIGN.md invariant 2): for the tiny Llama and a wider one (hidden 256, 4
layers, 8/2 GQA heads, vocab 512), a ladder of plans - device budgets from
the unconstrained plan's need down to the least the greedy policy reaches,
host budgets at and just above the host peak, and forcing options - each
compiled with `offc compile --report` (the compiler's prediction) and
trained 2 steps with `offrt train --report` (the runtime's measurement: the
backend's arena peak per tier). Checked per tier: the measured peak equals
the predicted one exactly, both reports state the same budget, and the peak
is at most the budget. The same for each emulated strategy (offc compile
--strategy NAME; zero-infinity also on NVMe) and --strategy auto at two
budgets (issue 13, done-when 3).

Plans with an NVMe tier (params and optimizer states forced there) train
under --nvme: the measured NVMe peak is what the arena's files take.
Needs offc and offrt on PATH (ctest sets it); no torch.
"""

import json
import os
import struct
import sys
import tempfile

from e2e_harness import check, finish, run

STEPS = 2
WIDE_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4,
    "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 512,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "initializer_range": 0.02, "hidden_act": "silu",
    "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
    "torch_dtype": "float32",
}
# The greedy policy's last decision set (tools/offc/MemoryPolicy.cpp): the
# least device memory it reaches without NVMe.
LEAST = ["--place", "optimizer=host", "--place", "params=host", "--place", "grads=host",
         "--place", "activations=host", "--remat", "all"]
NVME = ["--place", "optimizer=nvme", "--place", "params=nvme", "--place", "grads=host",
        "--place", "activations=host", "--remat", "all"]
FORCING = [["--optimizer-stream"], ["--remat", "all"], ["--place", "params=host"],
           ["--place", "activations=host"], LEAST, NVME]
TIERS = ("device", "host", "nvme")
STRATEGIES = ["none", "recompute-all", "zero-offload", "zero-infinity", "accelerate-offload"]


def write_tokens(path, vocab, count):
    """llm.c token file (version 1): a 256-int32 header, then uint16 ids
    (a fixed linear congruential sequence: any tokens do)."""
    header = [20240520, 1, count] + [0] * 253
    ids, x = [], 12345
    for _ in range(count):
        x = (1103515245 * x + 12345) % (1 << 31)
        ids.append(x % vocab)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header))
        f.write(struct.pack(f"<{count}H", *ids))


def tiers(path):
    with open(path) as f:
        report = json.load(f)["tiers"]
    return {t: (report[t]["budget_bytes"], report[t]["peak_bytes"]) for t in TIERS}


def main():
    workdir = tempfile.mkdtemp(prefix="off-train-report-")
    total = 0
    for name in ("tiny", "wide"):
        model = ["--model", "llama"]
        vocab, batch, seq = 256, 2, 32
        if name == "tiny":
            model += ["--size", "tiny"]
        else:
            config = os.path.join(workdir, "wide.json")
            with open(config, "w") as f:
                json.dump(WIDE_CONFIG, f)
            model += ["--config", config]
            vocab, seq = WIDE_CONFIG["vocab_size"], 64
        model += ["--batch", str(batch), "--seq", str(seq), "--grad-accum", "2", "--clip", "0.5"]
        data = os.path.join(workdir, name + ".bin")
        write_tokens(data, vocab, 4 * STEPS * batch * seq + 1)
        count = [0]

        def compile_and_train(options):
            count[0] += 1
            stem = os.path.join(workdir, f"{name}{count[0]}")
            run(["offc", "compile", *model, *options, "--report", stem + ".c.json",
                 "-o", stem + ".plan"])
            nvme = []
            if "optimizer=nvme" in options or "--nvme" in options:
                nvme = ["--nvme", os.path.join(workdir, "nvme")]
                os.makedirs(nvme[1], exist_ok=True)
            run(["offrt", "train", stem + ".plan", "--data", data, "--steps", STEPS,
                 "--seed", "3", "--quiet", "--allow-unpinned", "--report", stem + ".r.json",
                 *nvme])
            predicted, measured = tiers(stem + ".c.json"), tiers(stem + ".r.json")
            label = f"{name} {' '.join(options) or 'unconstrained'}"
            for t in TIERS:
                budget, peak = measured[t]
                check(measured[t] == predicted[t],
                      f"{label}: {t} measured (budget, peak) {measured[t]} == predicted "
                      f"{predicted[t]}")
                if budget:
                    check(peak <= budget, f"{label}: {t} peak {peak} <= budget {budget}")
            return predicted

        need = compile_and_train([])["device"][1]
        least = compile_and_train(LEAST)["device"][1]
        budgets = sorted({int(need - (need - least) * i / 5) for i in range(6)}, reverse=True)
        check(len(budgets) == 6 and budgets[-1] < need,
              f"{name}: 6 device budgets from {need} down to {least}")
        host = 0
        for budget in budgets:
            host = compile_and_train(["--vram", str(budget)])["host"][1]
        # The host tier under a budget: exactly its peak, and a little more.
        for extra in (0, 4096):
            compile_and_train(["--vram", str(budgets[-1]), "--host-ram", str(host + extra)])
        for options in FORCING:
            compile_and_train(options)
        # The emulated strategies and --strategy auto (issue 13, done-when 3).
        nvme_dir = os.path.join(workdir, "nvme")
        os.makedirs(nvme_dir, exist_ok=True)
        for strategy in STRATEGIES:
            compile_and_train(["--strategy", strategy])
        compile_and_train(["--strategy", "zero-infinity", "--nvme", nvme_dir])
        for budget in (budgets[0], budgets[-1]):
            compile_and_train(["--vram", str(budget), "--strategy", "auto",
                               "--profile", "cpu-host"])
        total += count[0]
    print(f"{total} plans compiled and trained")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
