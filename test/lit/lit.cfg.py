# lit configuration for the off dialect, passes and the offc driver.
# ctest passes --param off_obj_root=<build dir> --param llvm_tools_dir=<dir>.
import os
import lit.formats

config.name = "off"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["README.md", "Inputs"]

obj_root = lit_config.params.get("off_obj_root")
if not obj_root:
    lit_config.fatal("run through ctest, or pass --param off_obj_root=<build dir>")
llvm_tools = lit_config.params.get("llvm_tools_dir", "/usr/lib/llvm-22/bin")
config.test_exec_root = os.path.join(obj_root, "test", "lit")

config.environment["PATH"] = os.pathsep.join(
    [os.path.join(obj_root, "bin"), llvm_tools, config.environment.get("PATH", "")])
# `REQUIRES: cuda`: offrt is a CUDA build (a GPU is not needed).
if str(lit_config.params.get("off_cuda", "")).upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("cuda")
config.substitutions.append(("%off_src_root", os.path.dirname(os.path.dirname(config.test_source_root))))
