#include "tools/offc/PlanWeights.h"

#include "runtime/common/SampleChecksum.h"
#include "tools/offc/CliSupport.h"
#include "tools/offc/ImportCommand.h"

#if __has_include("compiler/Import/OnnxImporter.h")
#include "compiler/Import/OnnxImporter.h"
#define OFF_HAVE_ONNX_IMPORTER 1
#else
#define OFF_HAVE_ONNX_IMPORTER 0
#endif

#include "llvm/Support/Path.h"

#include <vector>

namespace off::offc {

#if OFF_HAVE_ONNX_IMPORTER

namespace {

plan::DType planDType(llvm::StringRef dtype) {
  return dtype == "f32" ? plan::F32 : dtype == "f16" ? plan::F16 : plan::BF16;
}

/// Counts and fingerprints the bytes streamed through it to another stream.
class ChecksumStream : public llvm::raw_ostream {
public:
  explicit ChecksumStream(llvm::raw_ostream &out) : out(out) { SetUnbuffered(); }
  std::string bytes; // of the current entry
  uint64_t total = 0;

private:
  void write_impl(const char *data, size_t size) override {
    out.write(data, size);
    bytes.append(data, size);
    total += size;
  }
  uint64_t current_pos() const override { return total; }
  llvm::raw_ostream &out;
};

} // namespace

llvm::Expected<PlanWeightsSummary> attachPlanWeights(const mlir::off::OnnxWeights &weights,
                                                     const std::string &planPath,
                                                     plan::Model &model) {
  PlanWeightsSummary summary;
  using Entry = mlir::off::OnnxWeights::Entry;
  std::vector<const Entry *> inside;
  model.clear_weights();
  for (const Entry &entry : weights.entries()) {
    std::optional<mlir::off::OnnxWeights::External> where = weights.external(entry);
    if (!where) {
      inside.push_back(&entry);
      continue;
    }
    plan::WeightSource &source = *model.add_weights();
    source.set_param(entry.name);
    source.set_path(where->path);
    source.set_offset(where->offset);
    source.set_dtype(planDType(where->dtype));
    for (int64_t d : where->storedShape)
      source.add_stored_shape(d);
    source.set_transposed(entry.transposed);
    source.set_file_size(where->fileSize);
    source.set_checksum(sampleChecksum(
        reinterpret_cast<const unsigned char *>(where->bytes.data()), where->bytes.size()));
    ++summary.inPlace;
  }
  if (inside.empty())
    return summary;

  // The rest, as F32 in the IR's layout, one after another in PLAN.weights.
  summary.weightsFile = planPath + ".weights";
  std::vector<plan::WeightSource> written;
  llvm::Error error = writeOutputsAtomically(
      {{summary.weightsFile, [&](llvm::raw_ostream &os) {
          ChecksumStream stream(os);
          for (const Entry *entry : inside) {
            uint64_t offset = stream.total;
            stream.bytes.clear();
            weights.writeF32(stream, *entry);
            plan::WeightSource source;
            source.set_param(entry->name);
            source.set_path(std::string(llvm::sys::path::filename(summary.weightsFile)));
            source.set_offset(offset);
            source.set_dtype(plan::F32);
            for (int64_t d : entry->shape)
              source.add_stored_shape(d);
            source.set_checksum(sampleChecksum(
                reinterpret_cast<const unsigned char *>(stream.bytes.data()),
                stream.bytes.size()));
            written.push_back(std::move(source));
          }
          stream.flush();
          for (plan::WeightSource &source : written)
            source.set_file_size(stream.total);
        }}});
  if (error)
    return std::move(error);
  for (plan::WeightSource &source : written)
    *model.add_weights() = std::move(source);
  summary.written = written.size();
  return summary;
}

#else

llvm::Expected<PlanWeightsSummary> attachPlanWeights(const mlir::off::OnnxWeights &,
                                                     const std::string &, plan::Model &) {
  return PlanWeightsSummary();
}

#endif

} // namespace off::offc
