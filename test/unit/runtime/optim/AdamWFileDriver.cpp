// Test-only: runs K AdamW steps on raw little-endian arrays so a Python test
// can compare them with torch.optim.AdamW.
//
//   adamw_file_driver --list-isas          prints the kernels this CPU runs
//   adamw_file_driver DIR key=value...
//     count=N steps=K lr= beta1= beta2= eps= wd= grad=f32|bf16 out=none|f32|bf16
//     isa=scalar|avx2|avx512 threads=T tile=ELEMENTS (0: whole tensor)
//   reads  DIR/param.bin DIR/exp_avg.bin DIR/exp_avg_sq.bin  [N] f32
//          DIR/grad.bin                                     [K][N] grad dtype
//   writes DIR/param.out DIR/exp_avg.out DIR/exp_avg_sq.out  [N] f32
//          DIR/param_copy.out (the last step's copy, when out != none)
#include "runtime/optim/AdamW.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace off::optim;

namespace {

template <typename T> std::vector<T> readArray(const std::string &path, size_t count) {
  std::vector<T> data(count);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char *>(data.data()), std::streamsize(count * sizeof(T))))
    throw std::runtime_error(path + ": cannot read " + std::to_string(count * sizeof(T)) +
                             " bytes");
  return data;
}

template <typename T> void writeArray(const std::string &path, const std::vector<T> &data) {
  std::ofstream out(path, std::ios::binary);
  if (!out.write(reinterpret_cast<const char *>(data.data()),
                 std::streamsize(data.size() * sizeof(T))))
    throw std::runtime_error(path + ": cannot write");
}

} // namespace

int main(int argc, char **argv) try {
  if (argc < 2)
    throw std::runtime_error("usage: adamw_file_driver DIR key=value...");
  if (std::strcmp(argv[1], "--list-isas") == 0) {
    for (AdamIsa isa : {AdamIsa::Scalar, AdamIsa::Avx2, AdamIsa::Avx512})
      if (adamIsaSupported(isa))
        std::printf("%s\n", adamIsaName(isa));
    return 0;
  }
  const std::string dir = argv[1];
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    const char *eq = std::strchr(argv[i], '=');
    if (!eq)
      throw std::runtime_error(std::string("expected key=value, got ") + argv[i]);
    args[std::string(argv[i], size_t(eq - argv[i]))] = eq + 1;
  }
  auto get = [&](const std::string &key) {
    auto it = args.find(key);
    if (it == args.end())
      throw std::runtime_error("missing " + key + "=");
    return it->second;
  };
  const size_t count = std::stoull(get("count"));
  const int steps = std::stoi(get("steps"));
  AdamWHyper hyper{std::stod(get("lr")), std::stod(get("beta1")), std::stod(get("beta2")),
                   std::stod(get("eps")), std::stod(get("wd"))};
  const GradDtype grad = get("grad") == "bf16" ? GradDtype::BF16 : GradDtype::F32;
  const std::string outName = get("out");
  const OutDtype out = outName == "none" ? OutDtype::None
                       : outName == "f32" ? OutDtype::F32
                                          : OutDtype::BF16;
  const std::optional<AdamIsa> isa = parseAdamIsa(get("isa"));
  if (!isa)
    throw std::runtime_error("unknown isa " + get("isa"));
  off::ThreadPool pool(unsigned(std::stoul(get("threads"))));
  const size_t tile = std::stoull(get("tile"));

  std::vector<float> param = readArray<float>(dir + "/param.bin", count);
  std::vector<float> expAvg = readArray<float>(dir + "/exp_avg.bin", count);
  std::vector<float> expAvgSq = readArray<float>(dir + "/exp_avg_sq.bin", count);
  const size_t gradSize = grad == GradDtype::F32 ? 4 : 2;
  std::vector<uint8_t> grads = readArray<uint8_t>(dir + "/grad.bin", count * steps * gradSize);
  std::vector<uint8_t> copy(count * (out == OutDtype::None ? 0 : out == OutDtype::F32 ? 4 : 2));

  for (int step = 1; step <= steps; ++step) {
    AdamWTensor t;
    t.param = param.data();
    t.expAvg = expAvg.data();
    t.expAvgSq = expAvgSq.data();
    t.grad = grads.data() + size_t(step - 1) * count * gradSize;
    t.gradDtype = grad;
    t.paramOut = out == OutDtype::None ? nullptr : copy.data();
    t.outDtype = out;
    t.count = count;
    t.name = "driver";
    if (tile == 0)
      adamwStep(t, hyper, step, AdamWRun{isa, &pool});
    else
      adamwStepTiled(t, hyper, step, tile, {}, AdamWRun{isa, &pool});
  }
  writeArray(dir + "/param.out", param);
  writeArray(dir + "/exp_avg.out", expAvg);
  writeArray(dir + "/exp_avg_sq.out", expAvgSq);
  if (out != OutDtype::None)
    writeArray(dir + "/param_copy.out", copy);
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "adamw_file_driver: %s\n", e.what());
  return 1;
}
