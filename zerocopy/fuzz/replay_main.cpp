// A driver for builds without libFuzzer (g++): runs the fuzz target over the files given as
// arguments, or else over a fixed number of pseudo-random inputs (deterministic seed), so the
// reader's checks run in every build, sanitised or not.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc > 1) {
    for (int i = 1; i < argc; ++i) {
      std::ifstream file(argv[i], std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), {});
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    return 0;
  }
  std::mt19937_64 random(20240527);
  std::vector<std::uint8_t> bytes;
  constexpr int kInputs = 20000;
  for (int i = 0; i < kInputs; ++i) {
    bytes.resize(random() % 2048);
    for (auto& byte : bytes)
      byte = static_cast<std::uint8_t>(random());
    // Plausible queue entries now and then: "written" bit set, small indices.
    for (std::size_t at = 16; at + 8 <= bytes.size() && random() % 4 == 0; at += 64) {
      bytes[at + 7] = 0x80;
      bytes[at + 6] = 0;
      bytes[at + 5] = 0;
      bytes[at + 4] = static_cast<std::uint8_t>(random() % 40);
    }
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("%d inputs\n", kInputs);
  return 0;
}
