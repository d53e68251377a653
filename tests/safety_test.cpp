// Nothing clobbered, nothing lost: what `--out` may and may not do to what it is given, the
// start-of-run sweep leaving a user's files and message queues alone, two runs at once, `report` on
// foreign JSON, the reasons given for a stopped peer and for a fault, and the commit the results
// name. Each test reproduces a defect that once was, with real processes where the defect needed
// them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/peer_watch.hpp"
#include "harness/run/worker.hpp"
#include "tests/cli_run.hpp"
#include "transports/sysv_queue.hpp"

namespace ipcbench::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A quick cell: a few thousand round trips over a pipe.
const std::string kQuick =
    "run --transports pipe --scenarios pingpong --iterations 2000 --repetitions 1 ";
// A cell that lasts until it is interrupted (or its budget ends, long after any test is done).
const std::string kLong =
    "run --transports pipe --scenarios pingpong --wait block --iterations 1000000000 "
    "--budget 600 --timeout 900 ";

// A scratch directory for one test, removed afterwards.
class Scratch {
 public:
  Scratch()
      : m_path(fs::temp_directory_path() /
               ("safety-" + std::to_string(::getpid()) + "-" + std::to_string(s_count++))) {
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~Scratch() {
    std::error_code ec;
    fs::permissions(m_path, fs::perms::owner_all, ec);
    fs::remove_all(m_path, ec);
  }
  std::string operator/(const std::string& name) const { return (m_path / name).string(); }
  const fs::path& path() const { return m_path; }
  // The names in the directory that end in .tmp.
  std::vector<std::string> temp_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(m_path)) {
      if (e.path().string().ends_with(".tmp")) out.push_back(e.path().string());
    }
    return out;
  }

 private:
  static inline int s_count = 0;
  fs::path m_path;
};

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Is `path` a file some process holds a write lock on (the results lock)?
bool locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// The pid of a process that has exited (and was reaped): certainly not alive.
pid_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

// ---- --out ------------------------------------------------------------------------------------

// A character device to give --out: the real one as a user, a private twin as root (as root the
// old code turned /dev/null into a regular file: the twin keeps the real one safe).
std::string device(const Scratch& dir, const char* name, unsigned minor) {
  const std::string real = std::string("/dev/") + name;
  if (::geteuid() != 0) return real;
  const std::string twin = dir / name;
  return ::mknod(twin.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0 ? twin : "";
}

bool is_character_device(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

TEST(Out, ACharacterDeviceIsWrittenNeverReplaced) {
  Scratch dir;
  const std::string null = device(dir, "null", 3);
  ASSERT_FALSE(null.empty()) << std::strerror(errno);
  Ran r = run_cli(kQuick + "--out " + null);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(is_character_device(null)) << null << " was replaced";
  EXPECT_EQ(dir.temp_files(), std::vector<std::string>{});
}

TEST(Out, AWriteToAFullDeviceFailsTheRun) {
  Scratch dir;
  const std::string full = device(dir, "full", 7);
  ASSERT_FALSE(full.empty()) << std::strerror(errno);
  Ran r = run_cli(kQuick + "--out " + full);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_TRUE(is_character_device(full));
}

TEST(Out, ASymbolicLinkIsFollowedItsTargetUpdatedTheLinkKept) {
  Scratch dir;
  const std::string target = dir / "real.json", link = dir / "link.json";
  { std::ofstream(target) << "old\n"; }
  ASSERT_EQ(::chmod(target.c_str(), 0640), 0);
  ASSERT_EQ(::symlink("real.json", link.c_str()), 0);
  Ran r = run_cli(kQuick + "--out " + link);
  ASSERT_EQ(r.code, 0) << r.out;
  struct stat st;
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link was replaced by a file";
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "the target's permissions changed";
  auto doc = json::parse(read_file(target));
  EXPECT_EQ(iteration_entries(doc).size(), 1u);
  EXPECT_EQ(dir.temp_files(), std::vector<std::string>{});
}

TEST(Out, AFifoIsWrittenOnceWithTheWholeDocument) {
  Scratch dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No reader: an error before the first cell, not a hang.
  Ran none = run_cli(kQuick + "--out " + fifo);
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.out.find("no process has open for reading"), std::string::npos) << none.out;

  std::string received;
  std::thread reader([&] { received = read_file(fifo); });  // opens when a writer does
  Ran r;
  ASSERT_TRUE(eventually([&] {
    r = run_cli(kQuick + "--out " + fifo);
    return r.code != 2;  // 2: the reader had not opened the FIFO yet
  })) << r.out;
  reader.join();
  EXPECT_EQ(r.code, 0) << r.out;
  auto doc = json::parse(received);  // one whole document
  EXPECT_EQ(iteration_entries(doc).size(), 1u);
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(Out, DashWritesTheJsonToStandardOutputAndTheTablesToStandardError) {
  Ran json_only = run_cli(kQuick + "--out - 2>/dev/null", false);
  ASSERT_EQ(json_only.code, 0) << json_only.out;
  auto doc = json::parse(json_only.out);
  EXPECT_EQ(iteration_entries(doc).size(), 1u);
  Ran tables = run_cli(kQuick + "--out - 2>&1 >/dev/null", false);
  ASSERT_EQ(tables.code, 0) << tables.out;
  EXPECT_NE(tables.out.find("| transport"), std::string::npos) << tables.out;
  EXPECT_EQ(tables.out.find("\"benchmarks\""), std::string::npos);
}

TEST(Out, ADirectoryIsAUsageErrorBeforeTheFirstCell) {
  Scratch dir;
  Ran r = run_cli(kQuick + "--out " + dir.path().string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("Is a directory"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out), 1u) << r.out;
  EXPECT_EQ(dir.temp_files(), std::vector<std::string>{});
}

TEST(Out, ADirectoryThatCannotBeWrittenIsAUsageError) {
  Scratch dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  if (::geteuid() == 0) {
    // Root writes anywhere: run as nobody, who cannot write here.
    const std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups " +
                            std::string(IPCBENCH_EXE) + " " + kQuick + "--out " + (dir / "r.json") +
                            " 2>&1";
    Ran r = run_command(cmd);
    if (r.code == 127 || r.out.find("setpriv") != std::string::npos) {
      GTEST_SKIP() << "setpriv is needed to drop root: " << r.out;
    }
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
  } else {
    Ran r = run_cli(kQuick + "--out " + (dir / "r.json"));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
  }
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EQ(dir.temp_files(), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(dir / "r.json"));
}

TEST(Out, ARenameThatFailsRemovesItsTempFileAndFailsTheRun) {
  Scratch dir;
  const std::string out = dir / "r.json";
  Background run(
      "run --transports pipe --scenarios pingpong --wait block --iterations 1000000000 "
      "--repetitions 3 --budget 1 --out " +
          out,
      dir / "log");
  // Once the first document is there (the run is under way)...
  ASSERT_TRUE(eventually([&] { return locked(out) && !read_file(out).empty(); }))
      << read_file(dir / "log");
  // With the conductor stopped, its results file becomes a directory that a rename cannot
  // replace; every write from now on fails.
  run.signal(SIGSTOP);
  fs::remove(out);
  fs::create_directories(out + "/inside");
  run.signal(SIGCONT);
  EXPECT_EQ(run.wait(), 1) << read_file(dir / "log");
  EXPECT_NE(read_file(dir / "log").find("cannot replace"), std::string::npos)
      << read_file(dir / "log");
  EXPECT_EQ(dir.temp_files(), std::vector<std::string>{});
  EXPECT_TRUE(fs::exists(out + "/inside"));
}

TEST(Out, ASecondRunGivenTheSameFileRefusesAtStart) {
  Scratch dir;
  const std::string out = dir / "r.json";
  Background first(kLong + "--out " + out, dir / "log");
  ASSERT_TRUE(eventually([&] { return locked(out); })) << read_file(dir / "log");
  Ran second = run_cli(kQuick + "--out " + out);
  EXPECT_EQ(second.code, 2) << second.out;
  EXPECT_NE(second.out.find("another ipcbench run (pid " + std::to_string(first.pid()) + ")"),
            std::string::npos)
      << second.out;
  EXPECT_EQ(lines(second.out), 1u) << second.out;
  first.signal(SIGINT);
  EXPECT_EQ(first.wait(), 130) << read_file(dir / "log");
  // The first run's file is whole, and still its own.
  auto doc = json::parse(read_file(out));
  EXPECT_TRUE(doc.contains("context"));
}

// ---- the sweep ----------------------------------------------------------------------------------

TEST(Sweep, RemovesOnlyWhatIpcbenchMadeForADeadRun) {
  const pid_t dead = dead_pid();
  const std::string stale = "ipcbench-run" + std::to_string(dead) + ".1";
  // A user's things that look like ipcbench's.
  const std::string user_file = "/tmp/ipcbench-" + std::to_string(dead) + ".json";
  const std::string user_dir = "/tmp/ipcbench-" + std::to_string(dead) + "1129";
  const std::string user_shm = "/dev/shm/ipcbench-" + std::to_string(dead) + "-mine";
  const std::string unmarked = "/tmp/" + stale + "-cell0";  // the pattern, but no marker
  const std::string link = "/tmp/" + stale + "-cell1";      // the pattern, but a link
  // What a dead run really left: a marked directory and a shared-memory file.
  const std::string marked = "/tmp/" + stale + "-cell2";
  const std::string shm = "/dev/shm/" + stale + "-cell2-shm";
  { std::ofstream(user_file) << "{}\n"; }
  fs::create_directories(user_dir);
  { std::ofstream(user_dir + "/notes.txt") << "mine\n"; }
  { std::ofstream(user_shm) << "mine\n"; }
  fs::create_directories(unmarked);
  { std::ofstream(unmarked + "/notes.txt") << "mine\n"; }
  ASSERT_EQ(::symlink(user_dir.c_str(), link.c_str()), 0);
  fs::create_directories(marked);
  { std::ofstream(marked + "/" + std::string(kPrivateMarker)) << stale + "-cell2"; }
  { std::ofstream(shm) << "ring\n"; }

  Ran r = run_cli(kQuick + "--out /dev/null");
  EXPECT_EQ(r.code, 0) << r.out;

  EXPECT_TRUE(fs::exists(user_file));
  EXPECT_TRUE(fs::exists(user_dir + "/notes.txt"));
  EXPECT_TRUE(fs::exists(user_shm));
  EXPECT_TRUE(fs::exists(unmarked + "/notes.txt"));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(fs::exists(marked)) << "a dead run's directory was left";
  EXPECT_FALSE(fs::exists(shm)) << "a dead run's shared memory was left";
  for (const auto& p : {user_file, user_dir, user_shm, unmarked, link}) {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
}

TEST(Sweep, LeavesAnotherUsersFilesAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a file of another user";
  const std::string stale = "ipcbench-run" + std::to_string(dead_pid()) + ".1";
  const std::string shm = "/dev/shm/" + stale + "-cell0-shm";
  { std::ofstream(shm) << "theirs\n"; }
  ASSERT_EQ(::chown(shm.c_str(), 65534, 65534), 0);
  Ran r = run_cli(kQuick + "--out /dev/null");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(shm));
  fs::remove(shm);
}

// A System V queue made as the sysv-mq driver makes it (transports/sysv_queue.hpp): keyed by its
// name's hash, its marker first. Its id, or -1.
int make_marked_queue(const std::string& name) {
  int id = ::msgget(sysv::queue_key(name), IPC_CREAT | IPC_EXCL | 0600);
  if (id >= 0 && sysv::put_marker(id, name) != 0) {
    ::msgctl(id, IPC_RMID, nullptr);
    return -1;
  }
  return id;
}

bool queue_exists(int id) {
  msqid_ds ds{};
  return ::msgctl(id, IPC_STAT, &ds) == 0;
}

std::size_t messages_in(int id) {
  msqid_ds ds{};
  return ::msgctl(id, IPC_STAT, &ds) == 0 ? ds.msg_qnum : 0;
}

TEST(Sweep, RemovesADeadRunsSysvQueuesAndLeavesAUsersAlone) {
  const std::string stale = "ipcbench-run" + std::to_string(dead_pid()) + ".1";
  const std::string live = run_prefix() + "-t99";
  // What a dead run left, and what this (live) run has.
  const int dead = make_marked_queue(stale + "-cell0-a");
  const int alive = make_marked_queue(live + "-a");
  const int neighbour = make_marked_queue(live + "0-a");  // cell 990 is not cell 99's
  ASSERT_GE(dead, 0);
  ASSERT_GE(alive, 0);
  ASSERT_GE(neighbour, 0);
  // A user's: with the dead run's key but its own first message; a marker naming the dead run
  // under another key; no messages at all.
  const int same_key = ::msgget(sysv::queue_key(stale + "-cell1-a"), IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(same_key, 0);
  struct {
    long type;
    char text[8];
  } mine{1, "mine"};
  ASSERT_EQ(::msgsnd(same_key, &mine, 5, IPC_NOWAIT), 0);
  const int forged = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  ASSERT_GE(forged, 0);
  ASSERT_EQ(sysv::put_marker(forged, stale + "-cell2-a"), 0);
  const int empty = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  ASSERT_GE(empty, 0);
  // Another user's, marked as ipcbench marks its own (root can give a queue away).
  int theirs = -1;
  if (::geteuid() == 0) {
    theirs = make_marked_queue(stale + "-cell3-a");
    msqid_ds ds{};
    ASSERT_EQ(::msgctl(theirs, IPC_STAT, &ds), 0);
    ds.msg_perm.uid = 65534;
    ASSERT_EQ(::msgctl(theirs, IPC_SET, &ds), 0);
  }

  sweep_stale_resources();
  EXPECT_FALSE(queue_exists(dead)) << "a dead run's queue was left";
  EXPECT_TRUE(queue_exists(alive)) << "a live run's queue was removed";
  EXPECT_TRUE(queue_exists(same_key));
  EXPECT_EQ(messages_in(same_key), 1u) << "the user's message was taken";
  EXPECT_TRUE(queue_exists(forged));
  EXPECT_TRUE(queue_exists(empty));
  if (theirs >= 0) {
    EXPECT_TRUE(queue_exists(theirs)) << "another user's queue was removed";
  }

  // A cell's sweep takes its own and nothing of the cell whose number starts the same.
  EXPECT_EQ(sweep_token(live), 1);
  EXPECT_FALSE(queue_exists(alive));
  EXPECT_TRUE(queue_exists(neighbour));
  for (int id : {dead, alive, neighbour, same_key, forged, empty, theirs}) {
    if (id >= 0) ::msgctl(id, IPC_RMID, nullptr);
  }
}

// Runs `body` where /dev/mqueue lists this IPC namespace's POSIX queues: here when the mqueue file
// system is mounted there; else, as root, in a child with a mount namespace of its own that
// mounts it there (over a private /dev when there is no /dev/mqueue to mount on), leaving the
// machine's mounts as they are. "" when the body passed, else what failed; nothing when neither
// is possible.
std::optional<std::string> with_dev_mqueue(const std::function<std::string()>& body) {
  struct statfs fs {};
  if (::statfs("/dev/mqueue", &fs) == 0 && fs.f_type == 0x19800202) return body();
  return in_private_mounts(
      []() -> std::string {
        if (!fs::exists("/dev/mqueue") && (::mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") != 0 ||
                                           ::mkdir("/dev/mqueue", 01777) != 0)) {
          return "no private /dev: " + std::string(std::strerror(errno));
        }
        if (::mount("mqueue", "/dev/mqueue", "mqueue", 0, nullptr) != 0) {
          return "cannot mount mqueue: " + std::string(std::strerror(errno));
        }
        return "";
      },
      body);
}

bool posix_queue_exists(const std::string& name) {
  mqd_t q = ::mq_open(name.c_str(), O_RDONLY);
  if (q == static_cast<mqd_t>(-1)) return false;
  ::mq_close(q);
  return true;
}

TEST(Sweep, RemovesADeadRunsPosixQueuesAndLeavesAUsersAlone) {
  const std::string stale = "ipcbench-run" + std::to_string(dead_pid()) + ".1";
  const std::string dead = "/" + stale + "-cell0-a";
  const std::string alive = "/" + run_prefix() + "-t98-a";
  const std::string user = "/ipcbench-" + std::to_string(::getpid()) + "-mine";
  auto verdict = with_dev_mqueue([&]() -> std::string {
    mq_attr attr{};
    attr.mq_maxmsg = 1;
    attr.mq_msgsize = 16;
    for (const auto& name : {dead, alive, user}) {
      mqd_t q = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
      if (q == static_cast<mqd_t>(-1)) return "mq_open " + name + ": " + std::strerror(errno);
      ::mq_close(q);
    }
    std::string wrong;
    sweep_stale_resources();
    if (posix_queue_exists(dead)) wrong += "a dead run's queue was left; ";
    if (!posix_queue_exists(alive)) wrong += "a live run's queue was removed; ";
    if (!posix_queue_exists(user)) wrong += "the user's queue was removed; ";
    if (sweep_token(run_prefix() + "-t98") != 1 || posix_queue_exists(alive)) {
      wrong += "the cell's sweep left its queue; ";
    }
    for (const auto& name : {dead, alive, user})
      ::mq_unlink(name.c_str());
    return wrong;
  });
  if (!verdict) GTEST_SKIP() << "/dev/mqueue is not mounted, and mounting it privately needs root";
  EXPECT_EQ(*verdict, "");
}

TEST(Iceoryx, ASecondRunSaysWhyItCannotUseTheFirstRunsRoudiAndKillsNothing) {
  const TransportInfo* iceoryx = find_transport("iceoryx");
  if (!iceoryx || !iceoryx->unavailable.empty()) GTEST_SKIP() << "iceoryx is not built here";
  Scratch dir;
  Background first(
      "run --transports iceoryx --scenarios pingpong --wait block --iterations 1000000000 "
      "--budget 600 --out " +
          (dir / "a.json"),
      dir / "log");
  // Its RouDi serves once its consumer runs.
  ASSERT_TRUE(eventually([&] { return find_worker(first.pid(), "consumer") > 0; }))
      << read_file(dir / "log");
  Ran second = run_cli("run --transports iceoryx --scenarios pingpong --iterations 100 --out " +
                       (dir / "b.json"));
  EXPECT_EQ(second.code, 1) << second.out;
  EXPECT_NE(second.out.find("another ipcbench process (pid " + std::to_string(first.pid()) + ")"),
            std::string::npos)
      << second.out;
  // The first run was not disturbed: its cell goes on (its producer may start only now, on a
  // loaded machine) until it is interrupted.
  EXPECT_TRUE(eventually([&] { return find_worker(first.pid(), "producer") > 0; }))
      << read_file(dir / "log");
  first.signal(SIGINT);
  EXPECT_EQ(first.wait(), 130) << read_file(dir / "log");
  EXPECT_EQ(read_file(dir / "log").find("SIGTERM"), std::string::npos) << read_file(dir / "log");
}

// ---- report ---------------------------------------------------------------------------------

TEST(Report, ForeignJsonIsAUsageErrorNamingTheFileTheEntryAndTheField) {
  Scratch dir;
  const std::string file = dir / "j.json";
  const std::string ctx = R"("context":{"ipcbench_version":"0.1.0"},)";
  const std::string cell =
      R"("name":"pingpong/pipe/64/block/full","transport":"pipe","wait":"block","touch":"full")";
  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"benchmarks":[{"name":5}]})", "not an ipcbench result file"},
           {R"({"benchmarks":null})", "not an ipcbench result file"},
           {R"({"benchmarks":5})", "not an ipcbench result file"},
           {R"({"context":{"executable":"bench"},"benchmarks":[]})", "not an ipcbench result file"},
           {"[1,2]", "not an ipcbench result file"},
           {"{" + ctx + R"("benchmarks":5})", "benchmarks: expected an array"},
           {"{" + ctx + R"("benchmarks":[{"name":5}]})", "benchmarks[0].name"},
           {"{" + ctx + R"("benchmarks":[{"name":"x","scenario":5}]})", "benchmarks[0].scenario"},
           {"{" + ctx + R"("benchmarks":[{)" + cell +
                R"(,"scenario":"pingpong","payload_bytes":"big"}]})",
            "benchmarks[0].payload_bytes"},
           {"{" + ctx + R"("benchmarks":[{)" + cell +
                R"(,"scenario":"pingpong","payload_bytes":64,"error_occurred":"yes"}]})",
            "benchmarks[0].error_occurred"},
           {"{" + ctx + R"("benchmarks":[{)" + cell +
                R"(,"scenario":"pingpong","payload_bytes":64,"p50_ns":"fast"}]})",
            "benchmarks[0].p50_ns"},
           {"{not json", "not JSON"},
       }) {
    { std::ofstream(file) << c.text; }
    Ran r = run_cli("report " + file);
    EXPECT_EQ(r.code, 2) << c.text << "\n" << r.out;
    EXPECT_NE(r.out.find(file), std::string::npos) << c.text << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.text << "\n" << r.out;
    EXPECT_EQ(lines(r.out), 1u) << c.text << "\n" << r.out;
  }
}

// ---- reasons ----------------------------------------------------------------------------------

TEST(Reasons, AStoppedPeerIsReportedAsStoppedNotGone) {
  Scratch dir;
  const std::string out = dir / "r.json";
  Background run(
      "run --transports unix-stream --scenarios pingpong --warmup 1000000000 --budget 1 "
      "--repetitions 1 --timeout 6 --out " +
          out,
      dir / "log");
  pid_t consumer = 0;
  ASSERT_TRUE(eventually([&] { return (consumer = find_worker(run.pid(), "consumer")) > 0; }));
  ASSERT_TRUE(eventually([&] { return locked(out); }));
  ::kill(consumer, SIGSTOP);
  EXPECT_EQ(run.wait(), 1) << read_file(dir / "log");
  ::kill(consumer, SIGKILL);  // (killed by the conductor already; in case it was not)
  auto doc = json::parse(read_file(out));
  ASSERT_EQ(iteration_entries(doc).size(), 1u);
  const std::string reason = iteration_entries(doc)[0].value("error_message", "");
  EXPECT_NE(reason.find("the consumer is alive but stopped"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("gone"), std::string::npos) << reason;
}

// A worker's fault handlers: each writes one error event to the control descriptor and exits.
std::string fault_report(const std::function<void()>& fault) {
  int pipefd[2];
  EXPECT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(pipefd[0]);
    install_worker_fault_handlers(pipefd[1]);
    fault();
    ::_exit(42);  // the fault did not happen
  }
  ::close(pipefd[1]);
  std::string line;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0)
    line.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  return line;
}

TEST(Reasons, ASegmentTruncatedUnderAWorkerIsReportedAsCorruptedSharedMemory) {
  std::string line = fault_report([] {
    int fd = ::memfd_create("segment", 0);
    (void)!::ftruncate(fd, 8192);
    auto* p = static_cast<volatile char*>(
        ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    (void)!::ftruncate(fd, 0);  // as another process would
    p[4096] = 1;                // SIGBUS
  });
  auto event = json::parse(line);
  EXPECT_EQ(event.at("event"), "error");
  EXPECT_EQ(event.at("code"), "corrupted");  // name_of(Errc::corrupted)
  const std::string reason = event.at("reason");
  EXPECT_NE(reason.find("SIGBUS"), std::string::npos) << reason;
  EXPECT_NE(reason.find("truncated"), std::string::npos) << reason;
}

TEST(Reasons, ASignalFromAnotherProcessNamesItsSender) {
  std::string line = fault_report([] {
    if (::fork() == 0) {  // another process sends it, as another run's RouDi once did
      ::kill(::getppid(), SIGTERM);
      ::_exit(0);
    }
    for (;;)
      ::pause();
  });
  auto event = json::parse(line);
  EXPECT_EQ(event.at("code"), "terminated");
  const std::string reason = event.at("reason");
  EXPECT_TRUE(std::regex_search(reason, std::regex(R"(SIGTERM from pid \d+ \(safety_tests\))")))
      << reason;
}

// ---- the commit ---------------------------------------------------------------------------------

TEST(Context, TheCommitIsTheOneTheBinaryWasBuiltFrom) {
  // Read at run time from the source tree, it needed git on PATH (and named whatever the tree
  // was at by then). Captured at build time, it needs neither.
  const std::string cmd = "env PATH=/nonexistent " + std::string(IPCBENCH_EXE) +
                          " run --transports pipe --scenarios pingpong --iterations 100 --out - "
                          "2>/dev/null";
  Ran r = run_command(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string commit = json::parse(r.out).at("context").at("git_commit");
  EXPECT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{12}(-dirty)?"))) << commit;
}

}  // namespace
}  // namespace ipcbench::testing
