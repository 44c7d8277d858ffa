// `offrt bench train`: tokens/s of a whole training step, offrt against
// PyTorch eager, on the same model, batch, sequence, data and threads, in one
// run.
//
// offc compiles the step (as a user would: `offc compile --model llama ...`),
// then for each round `offrt train` runs it (this very binary, as a child,
// so the number is what users get, start-up excluded) and bench/train_torch.py
// runs transformers' Llama with torch's AdamW on the same token file. Warm-up
// steps are excluded on both sides: offrt's from its --log "ms" field, torch's
// inside the script. With --rounds R the two alternate R times and the best
// round of each counts (the machine is shared; the best is the least
// disturbed). offrt is not linked to MLIR, so offc is found beside this
// binary, on PATH, or given with --offc.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "runtime/common/Json.h"
#include "runtime/cpu/CpuInfo.h"
#include "runtime/cpu/GemmBf16.h"
#include "runtime/plan/Plan.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace {

namespace fs = std::filesystem;
using off::Json;

struct Options {
  std::string size = "tiny";
  std::string config; // --config wins over --size
  int batch = 8, seq = 128, gradAccum = 1;
  unsigned threads = 2;
  int steps = 10, warmup = 2, rounds = 1;
  std::string offc, python, torchScript, attn = "sdpa", workdir;
  std::string precision = "fp32";
  bool torch = true, json = false, profile = false;
};

void addOptions(off::cli::Command &cmd, Options &o, bool &noTorch) {
  constexpr double kMost = 1 << 24;
  const off::cli::Bounds count = off::cli::between(1, kMost);
  cmd.group("Model and step");
  cmd.option("--size", o.size, "NAME", "a built-in Llama size (default tiny)");
  cmd.option("--config", o.config, "FILE", "a Hugging Face config.json (wins over --size)");
  cmd.option("--batch", o.batch, "B", "batch (default 8)", count);
  cmd.option("--seq", o.seq, "T", "sequence length (default 128)", count);
  cmd.option("--grad-accum", o.gradAccum, "K", "micro-batches per step (default 1)", count);
  cmd.threads("--threads", o.threads,
              "threads on both sides, at most the CPUs this\nprocess may run on (default 2)");
  cmd.choice("--precision", o.precision, {"fp32", "bf16-mixed"},
             "fp32 (default), or bf16-mixed: offc compile\n--precision bf16-mixed against torch under\n"
             "torch.autocast(\"cpu\", bfloat16)");
  cmd.group("Timing");
  cmd.option("--steps", o.steps, "N", "timed steps per round (default 10)", count);
  cmd.option("--warmup", o.warmup, "N", "untimed steps before them (default 2)",
             off::cli::between(0, kMost));
  cmd.option("--rounds", o.rounds, "R", "rounds, alternating offrt and torch; the\nbest of "
                                        "each counts (default 1)", count);
  cmd.group("Reference");
  cmd.choice("--attn", o.attn, {"sdpa", "eager"}, "torch's attention (default sdpa)");
  cmd.flag("--no-torch", noTorch, "offrt only");
  cmd.option("--python", o.python, "PATH", "the Python with torch (default .venv/bin/python)");
  cmd.option("--torch-script", o.torchScript, "PATH", "default bench/train_torch.py");
  cmd.group("Files and output");
  cmd.option("--offc", o.offc, "PATH", "the compiler (default: beside offrt, then PATH)");
  cmd.option("--workdir", o.workdir, "DIR", "keep the plan, tokens and logs here\n"
                                            "(default: a temporary directory)");
  cmd.flag("--profile", o.profile, "time per op on both sides (offrt train\n--profile, "
                                   "torch.profiler's self CPU time)\nover the timed rounds");
  cmd.flag("--json", o.json, "one JSON object on stdout");
}

fs::path selfPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("offrt") : self;
}

fs::path selfDirectory() { return selfPath().parent_path(); }

/// Removes a temporary directory however the benchmark ends.
struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path.empty())
      fs::remove_all(path, ec);
  }
};

/// The first candidate that exists, or the last one (to name in the error).
std::string firstExisting(const std::vector<fs::path> &candidates) {
  for (const fs::path &p : candidates)
    if (!p.empty() && fs::exists(p))
      return p.string();
  return candidates.back().string();
}

/// Repository files: from the working directory, or two levels above the
/// binary (build/bin/offrt inside a checkout).
std::string repoFile(const std::string &relative) {
  return firstExisting({fs::current_path() / relative,
                        selfDirectory() / ".." / ".." / relative});
}

/// Runs argv with stdout and stderr sent to files; returns the exit status
/// (128 + signal when killed).
int runChild(const std::vector<std::string> &argv, const fs::path &out, const fs::path &err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char *> cargs;
  for (const std::string &a : argv)
    cargs.push_back(const_cast<char *>(a.c_str()));
  cargs.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      throw std::runtime_error("waitpid: " + std::string(std::strerror(errno)));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string readText(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs a child and throws with its stderr's tail when it fails.
std::string runOrThrow(const std::vector<std::string> &argv, const fs::path &workdir,
                       const std::string &tag) {
  fs::path out = workdir / (tag + ".out"), err = workdir / (tag + ".err");
  int status = runChild(argv, out, err);
  if (status != 0) {
    std::string message = readText(err);
    if (message.size() > 2000)
      message = "..." + message.substr(message.size() - 2000);
    std::string command;
    for (const std::string &a : argv)
      command += (command.empty() ? "" : " ") + a;
    throw std::runtime_error(command + " exited with " + std::to_string(status) + ":\n" +
                             message);
  }
  return readText(out);
}

/// An llm.c token file (version 1 uint16, or 2 uint32 for vocabularies past
/// 2^16) of `count` ids, uniform over the vocabulary from a fixed LCG: the
/// values do not change the work of a step, only its loss.
void writeTokens(const fs::path &path, uint64_t count, uint64_t vocab) {
  if (count > uint64_t(INT32_MAX))
    throw std::runtime_error("too many tokens for one llm.c file; use fewer --steps");
  const bool wide = vocab > 65536;
  std::vector<int32_t> header(256, 0);
  header[0] = 20240520;
  header[1] = wide ? 2 : 1;
  header[2] = int32_t(count);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(header.data()), 1024);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  std::vector<char> bytes(count * (wide ? 4 : 2));
  for (uint64_t i = 0; i < count; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t id = uint32_t((state >> 33) % vocab);
    if (wide)
      std::memcpy(&bytes[i * 4], &id, 4);
    else {
      uint16_t narrow = uint16_t(id);
      std::memcpy(&bytes[i * 2], &narrow, 2);
    }
  }
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out)
    throw std::runtime_error(path.string() + ": cannot write the token file");
}

struct Side {
  double tokensPerS = 0;  // best round
  double msPerStep = 0;   // mean over the timed steps of the best round
  std::vector<double> rounds; // tokens/s per round
};

/// Milliseconds and calls per op and step, by op name.
struct OpTimes {
  struct Op {
    double ms = 0, calls = 0;
  };
  std::map<std::string, Op> ops;
  double total() const {
    double sum = 0;
    for (const auto &[name, op] : ops)
      sum += op.ms;
    return sum;
  }
};

/// offrt train --profile's JSON (totals over its "steps") per step.
OpTimes readOffrtProfile(const fs::path &path) {
  Json json = off::parseJson(readText(path));
  const Json *steps = off::jsonMember(json, "steps"), *ops = off::jsonMember(json, "ops");
  if (!steps || !off::jsonInt64(*steps) || *off::jsonInt64(*steps) < 1 || !ops ||
      !ops->is_object())
    throw std::runtime_error(path.string() + ": not an offrt train --profile file");
  double n = double(*off::jsonInt64(*steps));
  OpTimes times;
  for (const auto &[name, entry] : ops->items())
    times.ops[name] = {entry.at("ms").get<double>() / n, entry.at("calls").get<double>() / n};
  return times;
}

OpTimes readTorchProfile(const Json &profile) {
  OpTimes times;
  for (const auto &[name, entry] : profile.items())
    times.ops[name] = {entry.at("ms").get<double>(), entry.at("calls").get<double>()};
  return times;
}

/// "  matmul  12.3 ms  45.6 %  ..." rows, largest first, `limit` at most.
void printProfile(const char *title, const OpTimes &times, size_t limit) {
  std::vector<std::pair<std::string, OpTimes::Op>> rows(times.ops.begin(), times.ops.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto &a, const auto &b) { return a.second.ms > b.second.ms; });
  double total = times.total();
  std::printf("  %s: %.1f ms/step in ops\n", title, total);
  std::printf("    %-40s %10s %7s %10s\n", "op", "ms/step", "%", "calls/step");
  for (size_t i = 0; i < rows.size() && i < limit; ++i)
    std::printf("    %-40s %10.2f %6.1f%% %10.1f\n", rows[i].first.c_str(), rows[i].second.ms,
                total > 0 ? 100.0 * rows[i].second.ms / total : 0.0, rows[i].second.calls);
}

/// The matrix products' share: offrt's matmul; torch's mm/bmm/addmm/linear
/// family (self time, so nested calls are not counted twice).
double matmulShare(const OpTimes &times, bool torch) {
  double mm = 0;
  for (const auto &[name, op] : times.ops) {
    bool isMatmul = torch ? (name == "aten::mm" || name == "aten::bmm" || name == "aten::addmm" ||
                             name == "aten::matmul" || name == "aten::linear" ||
                             name.find("mkldnn_matmul") != std::string::npos)
                          : name == "matmul";
    if (isMatmul)
      mm += op.ms;
  }
  double total = times.total();
  return total > 0 ? mm / total : 0;
}

/// offrt's timed steps: the "ms" of each --log line after the warm-up.
double offrtRound(const Options &o, const fs::path &plan, const fs::path &data,
                  const fs::path &workdir, double tokensPerStep, double &msPerStep,
                  OpTimes *profile) {
  fs::path log = workdir / "offrt_log.jsonl", profilePath = workdir / "offrt_profile.json";
  fs::remove(log);
  std::vector<std::string> argv = {selfPath().string(), "train", plan.string(), "--data",
                                   data.string(), "--steps", std::to_string(o.warmup + o.steps),
                                   "--threads", std::to_string(o.threads), "--log",
                                   log.string()};
  if (profile) {
    fs::remove(profilePath);
    argv.insert(argv.end(), {"--profile", profilePath.string()});
  }
  runOrThrow(argv, workdir, "offrt_train");
  if (profile)
    *profile = readOffrtProfile(profilePath);
  std::istringstream lines(readText(log));
  std::string line;
  double ms = 0;
  int timed = 0, seen = 0;
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    Json entry = off::parseJson(line);
    const Json *step = off::jsonMember(entry, "step"), *stepMs = off::jsonMember(entry, "ms");
    if (!step || !stepMs || !off::jsonInt64(*step) || !stepMs->is_number())
      throw std::runtime_error(log.string() + ": a line without step/ms: " + line);
    ++seen;
    if (*off::jsonInt64(*step) > o.warmup) {
      ms += stepMs->get<double>();
      ++timed;
    }
  }
  if (seen != o.warmup + o.steps || timed != o.steps)
    throw std::runtime_error(log.string() + ": expected " + std::to_string(o.warmup + o.steps) +
                             " steps, found " + std::to_string(seen));
  msPerStep = ms / timed;
  return tokensPerStep * timed / (ms / 1000.0);
}

double torchRound(const Options &o, const fs::path &config, const fs::path &data,
                  const fs::path &workdir, double &msPerStep, OpTimes *profile) {
  std::vector<std::string> argv = {
      o.python, o.torchScript, "--config", config.string(), "--data", data.string(), "--batch",
      std::to_string(o.batch), "--seq", std::to_string(o.seq), "--grad-accum",
      std::to_string(o.gradAccum), "--steps", std::to_string(o.steps), "--warmup",
      std::to_string(o.warmup), "--threads", std::to_string(o.threads), "--attn", o.attn};
  if (o.precision == "bf16-mixed")
    argv.push_back("--autocast");
  if (profile)
    argv.push_back("--profile");
  std::string out = runOrThrow(argv, workdir, "torch_train");
  Json result = off::parseJson(out);
  if (profile) {
    const Json *ops = off::jsonMember(result, "profile");
    if (!ops || !ops->is_object())
      throw std::runtime_error(o.torchScript + " printed no profile: " + out);
    *profile = readTorchProfile(*ops);
  }
  const Json *tps = off::jsonMember(result, "tokens_per_s");
  const Json *ms = off::jsonMember(result, "ms_per_step");
  if (!tps || !tps->is_number() || !ms || !ms->is_array() || ms->empty())
    throw std::runtime_error(o.torchScript + " printed no tokens_per_s/ms_per_step: " + out);
  double sum = 0;
  for (const Json &v : *ms) {
    if (!v.is_number())
      throw std::runtime_error(o.torchScript + ": ms_per_step holds " + v.dump() + ": " + out);
    sum += v.get<double>();
  }
  msPerStep = sum / double(ms->size());
  return tps->get<double>();
}

void record(Side &side, double tokensPerS, double msPerStep) {
  side.rounds.push_back(tokensPerS);
  if (tokensPerS > side.tokensPerS) {
    side.tokensPerS = tokensPerS;
    side.msPerStep = msPerStep;
  }
}

int runTrainBench(const std::vector<std::string> &args) {
  Options o;
  bool noTorch = false;
  off::cli::Command cmd("offrt bench train", "[options]",
                        "Tokens/s of a whole training step, offrt train against PyTorch eager "
                        "on the\nsame model, batch, sequence, data and threads, in one run.");
  addOptions(cmd, o, noTorch);
  return off::bench::runBenchmark(cmd, args, [&] {
    o.torch = !noTorch;
    if (o.offc.empty())
      o.offc = firstExisting({selfDirectory() / "offc", fs::path("offc")});
    if (o.python.empty())
      o.python = repoFile(".venv/bin/python");
    if (o.torchScript.empty())
      o.torchScript = repoFile("bench/train_torch.py");
    if (o.torch && (!fs::exists(o.python) || !fs::exists(o.torchScript)))
      throw std::runtime_error("PyTorch reference not found (" + o.python + ", " +
                               o.torchScript + "): run from the repository root, pass "
                               "--python/--torch-script, or --no-torch");
    fs::path workdir = o.workdir;
    RemoveOnExit temporary;
    if (workdir.empty()) {
      std::string pattern = (fs::temp_directory_path() / "offrt-bench-train-XXXXXX").string();
      if (!mkdtemp(pattern.data()))
        throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
      workdir = temporary.path = pattern;
    } else {
      fs::create_directories(workdir);
    }

    // Compile the step the way a user would.
    fs::path plan = workdir / "plan.bin";
    std::vector<std::string> compile = {o.offc, "compile", "--model", "llama"};
    if (!o.config.empty())
      compile.insert(compile.end(), {"--config", o.config});
    else
      compile.insert(compile.end(), {"--size", o.size});
    compile.insert(compile.end(), {"--batch", std::to_string(o.batch), "--seq",
                                   std::to_string(o.seq), "--grad-accum",
                                   std::to_string(o.gradAccum), "--precision", o.precision,
                                   "-o", plan.string()});
    runOrThrow(compile, workdir, "offc_compile");
    std::string error;
    std::optional<off::plan::Plan> loaded = off::plan::readPlanFile(plan.string(), error);
    if (!loaded)
      throw std::runtime_error(error);
    const off::plan::Model &model = loaded->model();
    fs::path config = workdir / "config.json";
    std::ofstream(config) << model.config_json();

    // Enough tokens that no micro-batch wraps.
    const uint64_t microBatches = uint64_t(o.warmup + o.steps) * uint64_t(o.gradAccum);
    const uint64_t tokens = microBatches * uint64_t(o.batch) * uint64_t(o.seq) + 1;
    fs::path data = workdir / "tokens.bin";
    writeTokens(data, tokens, uint64_t(model.vocab_size()));
    const double tokensPerStep = double(o.batch) * o.seq * o.gradAccum;
    const std::string modelName = o.config.empty() ? o.size : o.config;

    Side offrt, torch;
    OpTimes offrtProfile, torchProfile; // of the best round of each
    for (int round = 1; round <= o.rounds; ++round) {
      double ms = 0; // set by each round before `record` reads it
      OpTimes profile;
      double tokensPerS =
          offrtRound(o, plan, data, workdir, tokensPerStep, ms, o.profile ? &profile : nullptr);
      if (tokensPerS > offrt.tokensPerS)
        offrtProfile = profile;
      record(offrt, tokensPerS, ms);
      if (!o.json)
        std::fprintf(stderr, "round %d/%d: offrt %.1f tok/s (%.1f ms/step)\n", round, o.rounds,
                     offrt.rounds.back(), ms);
      if (o.torch) {
        tokensPerS = torchRound(o, config, data, workdir, ms, o.profile ? &profile : nullptr);
        if (tokensPerS > torch.tokensPerS)
          torchProfile = profile;
        record(torch, tokensPerS, ms);
        if (!o.json)
          std::fprintf(stderr, "round %d/%d: torch %.1f tok/s (%.1f ms/step)\n", round,
                       o.rounds, torch.rounds.back(), ms);
      }
    }
    const double ratio = o.torch ? offrt.tokensPerS / torch.tokensPerS : 0;
    if (o.json) {
      Json json = {{"benchmark", "train"},
                   {"model", modelName},
                   {"precision", o.precision},
                   {"cpu", off::cpu::cpuModelName()},
                   {"isa", off::cpu::cpuIsaFlags()},
                   {"bf16_gemm", off::cpu::bf16GemmDescription()},
                   {"batch", o.batch},
                   {"seq", o.seq},
                   {"grad_accum", o.gradAccum},
                   {"threads", o.threads},
                   {"steps", o.steps},
                   {"warmup", o.warmup},
                   {"rounds", o.rounds},
                   {"offrt_tokens_per_s", offrt.tokensPerS},
                   {"offrt_ms_per_step", offrt.msPerStep},
                   {"offrt_rounds", offrt.rounds}};
      if (o.torch) {
        json["torch_attn"] = o.attn;
        json["torch_tokens_per_s"] = torch.tokensPerS;
        json["torch_ms_per_step"] = torch.msPerStep;
        json["torch_rounds"] = torch.rounds;
        json["ratio"] = ratio;
      }
      if (o.profile) {
        auto opsJson = [](const OpTimes &times) {
          Json ops = Json::object();
          for (const auto &[name, op] : times.ops)
            ops[name] = {{"ms_per_step", op.ms}, {"calls_per_step", op.calls}};
          return ops;
        };
        json["offrt_profile"] = opsJson(offrtProfile);
        if (o.torch)
          json["torch_profile"] = opsJson(torchProfile);
      }
      std::printf("%s\n", json.dump().c_str());
    } else {
      std::printf("%s", off::cpu::cpuBackendDescription().c_str());
      std::printf("train %s (%s), batch %d x seq %d x grad-accum %d, %u threads, %d timed "
                  "steps (after %d warm-up), best of %d round(s):\n",
                  modelName.c_str(), o.precision.c_str(), o.batch, o.seq, o.gradAccum,
                  o.threads, o.steps, o.warmup, o.rounds);
      std::printf("  offrt          %10.1f tokens/s  %9.1f ms/step\n", offrt.tokensPerS,
                  offrt.msPerStep);
      if (o.torch) {
        std::printf("  torch eager    %10.1f tokens/s  %9.1f ms/step  (attention %s)\n",
                    torch.tokensPerS, torch.msPerStep, o.attn.c_str());
        std::printf("  offrt / torch  %10.2fx\n", ratio);
      }
      if (o.profile) {
        printProfile("offrt, per op (steps 2.. of its best round)", offrtProfile, 30);
        std::printf("    matmul share %.1f%%\n", 100 * matmulShare(offrtProfile, false));
        if (o.torch) {
          printProfile("torch, self CPU time per op (timed steps of its best round)",
                       torchProfile, 30);
          std::printf("    matmul share %.1f%%\n", 100 * matmulShare(torchProfile, true));
        }
      }
    }
    return 0;
  });
}

off::bench::Registration registration{
    {"train", "training step tokens/s: offrt train vs PyTorch eager, same model/data/threads",
     runTrainBench}};

} // namespace
