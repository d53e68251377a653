// What a hostile or unlucky user can do to a run, and what it must not do to them: a link another
// user planted where the results go, a /dev/shm too small for a daemon or a message, another
// user's RouDi, a directory or a newer file given to `report`, labels that would break a table,
// a low descriptor limit, options that cannot work together, another user's results file. Each
// test reproduces what a run once got wrong (issue 21).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/run/plan.hpp"
#include "tests/cli_run.hpp"
#include "transports/roudi.hpp"

namespace ipcbench::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uid_t kNobody = 65534;

const std::string kQuick =
    "run --transports pipe --scenarios pingpong --iterations 2000 --repetitions 1 ";

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A scratch directory for one test (mode 0755), removed afterwards.
class Scratch {
 public:
  Scratch()
      : m_path(fs::temp_directory_path() /
               ("hostile-" + std::to_string(::getpid()) + "-" + std::to_string(s_count++))) {
    fs::remove_all(m_path);
    fs::create_directories(m_path);
    fs::permissions(m_path, fs::perms(0755));
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  std::string operator/(const std::string& name) const { return (m_path / name).string(); }
  const fs::path& path() const { return m_path; }

 private:
  static inline int s_count = 0;
  fs::path m_path;
};

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A small results file of a real run (one pipe cell), made once.
const std::string& small_results() {
  static const std::string path = [] {
    const std::string p = "/tmp/hostile-" + std::to_string(::getpid()) + "-small.json";
    Ran r = run_cli(kQuick + "--out " + p);
    EXPECT_EQ(r.code, 0) << r.out;
    return p;
  }();
  return path;
}

struct RemoveSmallResults : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove("/tmp/hostile-" + std::to_string(::getpid()) + "-small.json", ec);
  }
};
const auto* const kCleanUp = ::testing::AddGlobalTestEnvironment(new RemoveSmallResults);

// ---- 1. a planted link ------------------------------------------------------------------------

TEST(Out, ALinkAnotherUserPlantedIsRefusedAndItsTargetUntouched) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a link of another user";
  Scratch dir;
  const std::string secret = dir / "root-only";
  { std::ofstream(secret) << "secret\n"; }
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  // In a world-writable sticky directory, as /tmp; and in an ordinary one.
  const std::string sticky = dir / "sticky";
  fs::create_directories(sticky);
  ASSERT_EQ(::chmod(sticky.c_str(), 01777), 0);
  for (const std::string& link : {sticky + "/evil.json", dir / "evil.json"}) {
    ASSERT_EQ(::symlink(secret.c_str(), link.c_str()), 0);
    ASSERT_EQ(::lchown(link.c_str(), kNobody, kNobody), 0);
    Ran r = run_cli(kQuick + "--out " + link);
    EXPECT_EQ(r.code, 2) << link << "\n" << r.out;
    EXPECT_NE(r.out.find(link), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("uid 65534"), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
    EXPECT_EQ(read_file(secret), "secret\n") << "the link's target was written";
    EXPECT_TRUE(fs::is_symlink(link));
  }
  // A link of this user's own is still followed (Out.ASymbolicLinkIsFollowed... in safety_test).
}

// ---- 10. another user's results file ----------------------------------------------------------

TEST(Out, AnExistingFileOfAnotherUserKeepsItsOwnerAndPermissions) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  Scratch dir;
  const std::string out = dir / "theirs.json";
  { std::ofstream(out) << "{}\n"; }
  ASSERT_EQ(::chown(out.c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(::chmod(out.c_str(), 0640), 0);
  Ran r = run_cli(kQuick + "--out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNobody);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(read_json(out).contains("benchmarks"));
}

// ---- 4, 5, 6. files given to report and compare -------------------------------------------------

TEST(Report, ADirectoryIsAUsageErrorNotAnAbort) {
  Scratch dir;
  for (const std::string& args : {"compare " + small_results() + " " + dir.path().string(),
                                  "compare " + dir.path().string() + " " + small_results()}) {
    Ran r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(dir.path().string() + ": Is a directory"), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
  }
  // report reads a directory's *.json files; one without any is a usage error.
  Ran r = run_cli("report " + dir.path().string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(dir.path().string() + "': a directory without results files (*.json)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(lines(r.out), 1u) << r.out;
}

TEST(Report, ADirectoryIsItsJsonFilesInNameOrder) {
  Scratch dir;
  const std::string a = dir.path() / "a.json", b = dir.path() / "b.json";
  std::filesystem::copy_file(small_results(), b);
  std::filesystem::copy_file(small_results(), a);
  std::ofstream(dir.path() / "notes.txt") << "not results\n";
  std::filesystem::create_directory(dir.path() / "sub");
  Ran files = run_cli("report " + a + " " + b);
  Ran directory = run_cli("report " + dir.path().string());
  ASSERT_EQ(files.code, 0) << files.out;
  EXPECT_EQ(directory.code, 0) << directory.out;
  EXPECT_EQ(directory.out, files.out);
  EXPECT_NE(files.out.find("(" + a + ")"), std::string::npos) << files.out;
}

TEST(Report, ANewerSchemaIsRefusedWithTheVersionsThisBuildReads) {
  Scratch dir;
  json doc = read_json(small_results());
  doc["context"]["json_schema_version"] = 999;
  const std::string future = dir / "future.json";
  { std::ofstream(future) << doc.dump(); }
  for (const std::string& args :
       {"report " + future, "compare " + small_results() + " " + future}) {
    Ran r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("json_schema_version 999"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(1 to "), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
  }
}

TEST(Labels, ALabelThatWouldBreakATableIsAUsageError) {
  for (const std::string& label :
       {std::string("evil\n| injected | row |"), std::string("a|b"), std::string("tab\there"),
        std::string(10000, 'x'), std::string("key=va\nlue"), std::string("ke|y=value"),
        std::string("key=") + std::string(200, 'v')}) {
    Ran r = run_cli(kQuick + "--out /dev/null --label " + quoted(label));
    EXPECT_EQ(r.code, 2) << label.substr(0, 40) << "\n" << r.out;
    EXPECT_NE(r.out.find("--label"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("printable characters without '|'"), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
  }
  // What a person writes is fine: words, a host name, a version, UTF-8.
  Ran ok = run_cli(kQuick +
                   "--out /dev/null --label 'box 2 (VM)' --label kernel=6.1.0-13 "
                   "--label 'note=größer, schneller'");
  EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST(Labels, EveryReporterEscapesWhatAFileSays) {
  // Files may come from elsewhere: one whose label and transport would end a row.
  Scratch dir;
  json doc = read_json(small_results());
  doc["context"]["label"] = "evil\n| injected | row |";
  const std::string evil = dir / "evil.json", other = dir / "other.json";
  { std::ofstream(evil) << doc.dump(); }
  doc["context"]["label"] = "plain, \"quoted\"";
  { std::ofstream(other) << doc.dump(); }

  Ran md = run_cli("report " + evil + " " + other);
  ASSERT_EQ(md.code, 0) << md.out;
  std::istringstream in(md.out);
  std::size_t rows = 0;
  for (std::string line; std::getline(in, line);) {
    EXPECT_FALSE(line.starts_with("| injected")) << md.out;
    if (line.starts_with("| evil")) {
      ++rows;
      EXPECT_NE(line.find("\\| injected \\| row \\|"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(rows, 2u) << md.out;  // the evil file's floor row and its pipe row, each whole

  Ran csv = run_cli("report --format csv " + evil + " " + other);
  ASSERT_EQ(csv.code, 0) << csv.out;
  // Every record has as many fields as its header: quoted fields keep their commas and line
  // breaks inside them.
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields(1);
  bool in_quotes = false;
  for (std::size_t i = 0; i < csv.out.size(); ++i) {
    const char c = csv.out[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < csv.out.size() && csv.out[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      records.push_back(fields);
      fields.assign(1, "");
    } else {
      fields.back() += c;
    }
  }
  ASSERT_GE(records.size(), 3u) << csv.out;
  const std::size_t width = records[0].size();
  for (const auto& r : records) {
    if (r.size() == 1 && r[0].empty()) continue;  // the line between two tables
    EXPECT_EQ(r.size(), width) << csv.out;
  }
  EXPECT_EQ(records[1][0], "evil\n| injected | row |");
  EXPECT_EQ(records[2][0], "plain, \"quoted\"");
}

// ---- 7. a low descriptor limit ----------------------------------------------------------------

TEST(Limits, ALowSoftDescriptorLimitIsRaisedAndTheRunWorks) {
  Scratch dir;
  Ran r = run_command("sh -c 'ulimit -Sn 64 && exec " + std::string(IPCBENCH_EXE) +
                      " run --transports pipe,unix-stream --scenarios pingpong,fanout --sizes 64 "
                      "--iterations 2000 --messages 2000 --subscribers 2 --repetitions 1 --out " +
                      (dir / "r.json") + "' 2>&1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("F_DUPFD"), std::string::npos) << r.out;
}

TEST(Limits, AHardDescriptorLimitTooLowIsOneErrorAtStart) {
  Scratch dir;
  Ran r = run_command("sh -c 'ulimit -n 64 && exec " + std::string(IPCBENCH_EXE) + " " + kQuick +
                      "--out " + (dir / "r.json") + "' 2>&1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("ulimit -n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hard limit 64"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out), 1u) << r.out;
  EXPECT_FALSE(fs::exists(dir / "r.json"));
}

// ---- 9. options that cannot work together -------------------------------------------------------

TEST(Options, ABudgetTheTimeoutCannotHoldIsAUsageError) {
  Ran r = run_cli(kQuick + "--budget 20 --timeout 20 --out /dev/null");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--timeout 20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--budget 20 s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--timeout 25 or more"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out), 1u) << r.out;
  Ran rate = run_cli(
      "run --transports pipe --scenarios rate --rates 1k --duration 100 --timeout 60 --dry-run");
  EXPECT_EQ(rate.code, 2) << rate.out;
  EXPECT_NE(rate.out.find("--duration 100 s"), std::string::npos) << rate.out;
}

TEST(Options, TheDefaultTimeoutGrowsToHoldABudgetAndSaysSo) {
  Ran r = run_cli("run --transports pipe --scenarios pingpong --budget 100 --dry-run");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("note: --timeout is 150 s (not 60) to fit --budget 100 s"),
            std::string::npos)
      << r.out;
}

// ---- private /dev/shm: RouDi that cannot fit, SIGBUS that is a full /dev/shm
// -----------------------

// Runs `body` in a child with a mount namespace of its own in which /dev/shm is a new tmpfs of
// `size` (root only): "" when the body passed, else what failed; nothing when not root.
std::optional<std::string> with_small_dev_shm(const std::string& size,
                                              const std::function<std::string()>& body) {
  return in_private_mounts(
      [&]() -> std::string {
        if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                    ("size=" + size + ",mode=1777").c_str()) != 0) {
          return "cannot mount a tmpfs on /dev/shm: " + std::string(std::strerror(errno));
        }
        return "";
      },
      body);
}

std::vector<std::string> dev_shm_names() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev/shm", ec))
    out.push_back(e.path().filename().string());
  return out;
}

bool built(const char* transport) {
  const TransportInfo* info = find_transport(transport);
  return info && info->unavailable.empty();
}

TEST(Iceoryx, ARoudiDevShmCannotHoldIsNotStartedAndTheOtherCellsRun) {
  if (!built("iceoryx")) GTEST_SKIP() << "iceoryx is not built here";
  Scratch dir;
  const std::string out = dir / "r.json";
  auto verdict = with_small_dev_shm("64m", [&]() -> std::string {
    Ran r = run_cli(
        "run --quick --transports iceoryx,shm --scenarios pingpong --sizes 16MiB,64 "
        "--out " +
        out);
    std::string wrong;
    if (r.code != 1) wrong += "exit " + std::to_string(r.code) + " (wanted 1); ";
    if (!dev_shm_names().empty()) wrong += "/dev/shm keeps what RouDi made; ";
    return wrong.empty() ? "" : wrong + r.out;
  });
  if (!verdict) GTEST_SKIP() << "a private /dev/shm needs root";
  ASSERT_EQ(*verdict, "");
  const json doc = read_json(out);
  std::size_t iceoryx = 0, shm_small = 0;
  for (const auto& e : iteration_entries(doc)) {
    const std::string name = e.at("name");
    if (name.starts_with("pingpong/iceoryx/")) {
      ++iceoryx;
      const std::string reason = e.value("error_message", "");
      EXPECT_NE(reason.find("RouDi needs about"), std::string::npos) << reason;
      EXPECT_NE(reason.find("/dev/shm has"), std::string::npos) << reason;
    }
    if (name.starts_with("pingpong/shm/64/")) {
      ++shm_small;
      EXPECT_FALSE(e.value("error_occurred", false)) << e.value("error_message", "");
    }
  }
  EXPECT_EQ(iceoryx, 2u);
  EXPECT_EQ(shm_small, 1u);
}

TEST(Iceoryx, ARoudiThatFailsToStartLeavesNothingBehind) {
  // An iox-roudi that does what the real one did in a full /dev/shm: reserves its management
  // segment, says so, and dies before it is ready.
  Scratch dir;
  const std::string bin = dir / "bin";
  fs::create_directories(bin);
  {
    std::ofstream script(bin + "/iox-roudi");
    script << "#!/bin/sh\n"
           << "head -c 4096 /dev/zero > /dev/shm/iceoryx_mgmt\n"
           << "echo 'Reserving 4096 bytes in the shared memory [iceoryx_mgmt]'\n"
           << "echo 'While setting the acquired shared memory to zero a fatal SIGBUS signal "
              "appeared'\n"
           << "exit 1\n";
  }
  fs::permissions(bin + "/iox-roudi", fs::perms(0755));
  auto verdict = with_small_dev_shm("128m", [&]() -> std::string {
    const std::string path = bin + ":" + std::getenv("PATH");
    ::setenv("PATH", path.c_str(), 1);
    DaemonConfig config;
    config.max_message_bytes = 64;
    config.dir = dir.path().string();
    config.token = "hostile-roudi";
    auto daemon = start_roudi(config);
    std::string wrong;
    if (daemon) wrong += "started; ";
    if (!daemon &&
        daemon.error().reason.find("could not reserve its shared memory") == std::string::npos) {
      wrong += "reason: " + daemon.error().reason + "; ";
    }
    if (!dev_shm_names().empty()) wrong += "/dev/shm keeps " + dev_shm_names().front() + "; ";
    return wrong;
  });
  if (!verdict) GTEST_SKIP() << "a private /dev/shm needs root";
  EXPECT_EQ(*verdict, "");
}

TEST(Iceoryx, AnotherUsersRoudiIsRefusedAtOnceNamingItsOwner) {
  if (!built("iceoryx")) GTEST_SKIP() << "iceoryx is not built here";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to start a RouDi of another user";
  if (roudi_serving()) GTEST_SKIP() << "a RouDi runs here already";
  // A RouDi of root that died leaves its locks, which nobody's RouDi cannot take: stale ones
  // (no process holds them) go first.
  for (const char* lock : {"/tmp/iox-unique-roudi.lock", "/tmp/roudi.lock"}) {
    int fd = ::open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(lock);
    ::close(fd);
  }
  Scratch dir;
  {
    std::ofstream config(dir / "roudi.toml");
    config << "[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\nsize = 128\n"
           << "count = 10\n";
  }
  fs::permissions(dir / "roudi.toml", fs::perms(0644));
  pid_t theirs = ::fork();
  if (theirs == 0) {
    int log = ::open((dir / "roudi.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::setpgid(0, 0);
    ::execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "iox-roudi",
             "-c", (dir / "roudi.toml").c_str(), nullptr);
    ::_exit(127);
  }
  const bool serving = eventually([&] {
    int status = 0;
    return roudi_serving() || ::waitpid(theirs, &status, WNOHANG) == theirs;
  });
  if (!serving || !roudi_serving()) {
    ::kill(theirs, SIGKILL);
    ::waitpid(theirs, nullptr, 0);
    GTEST_SKIP() << "RouDi did not start as nobody: " << read_file(dir / "roudi.log");
  }
  Ran r = run_cli(
      "run --transports iceoryx --scenarios pingpong --iterations 100 --repetitions "
      "1 --out " +
      (dir / "r.json"));
  // The RouDi is stopped as its owner would stop it, and it removes its files.
  ::kill(theirs, SIGINT);
  int status = 0;
  ::waitpid(theirs, &status, 0);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("a RouDi of another user (uid 65534"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("timed out"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("using it"), std::string::npos) << r.out;
}

TEST(Reasons, ASigbusInAFullDevShmIsNamedAsSuchNotAsATruncatedSegment) {
  if (!built("boost-mq")) GTEST_SKIP() << "boost-mq is not built here";
  Scratch dir;
  const std::string out = dir / "r.json";
  auto verdict = with_small_dev_shm("8m", [&]() -> std::string {
    Ran r = run_cli("run --quick --transports boost-mq --scenarios pingpong --sizes 16MiB --out " +
                    out);
    return r.code == 1 ? "" : "exit " + std::to_string(r.code) + ": " + r.out;
  });
  if (!verdict) GTEST_SKIP() << "a private /dev/shm needs root";
  ASSERT_EQ(*verdict, "");
  const json cells = iteration_entries(read_json(out));
  ASSERT_EQ(cells.size(), 1u);
  const std::string reason = cells[0].value("error_message", "");
  EXPECT_NE(reason.find("out of shared memory (/dev/shm full)"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("truncated"), std::string::npos) << reason;
}

}  // namespace
}  // namespace ipcbench::testing
