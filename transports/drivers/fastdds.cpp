// fastdds, fastdds-shm, fastdds-datasharing: eProsima Fast DDS (Debian's 2.9, the DDS API) publish/
// subscribe. Per cell, two topics, one each way (<token>_p2c, <token>_c2p), of one type: raw bytes
// with a hand-written TopicDataType (BytesType below: a 4-byte CDR encapsulation header, then the
// bytes; no fastddsgen, which needs Java). Each side has a participant of its own in a domain
// derived from the token (so concurrent cells and other DDS users on the machine neither match
// nor discover each other), a writer on its outgoing topic and a reader on its incoming one, QoS:
// RELIABLE, VOLATILE, KEEP_LAST with a depth of Endpoint::queue_depth + kSpareSamples,
// synchronous publication, heartbeats every 50 ms (Fast DDS's default is 3 s: a lost UDP fragment
// would stall a stream that long), participant lease 2 s (default 20 s).
//
// The three rows differ in the transport only:
// - `fastdds`: UDPv4 on the loopback interface only (discovery by unicast to 127.0.0.1), data
//   sharing off. Fast DDS's own default (UDPv4 and shared memory both on) would carry data
//   between two processes of one host over shared memory, which is what `fastdds-shm` measures.
// - `fastdds-shm`: the shared-memory transport only (discovery through it too), data sharing off:
//   each RTPS message is written into the sender's segment and its descriptor pushed to the
//   receiver's port; Fast DDS's listening thread hands it to the reader.
// - `fastdds-datasharing`: data-sharing delivery (DataSharingQosPolicy ON): the writer serializes
//   into a pool in shared memory that the reader maps, and notifies it; the shared-memory
//   transport carries discovery and acknowledgements. It needs a bounded type (BytesType is: its
//   bound is the cell's largest message) and preallocated history memory; the pool holds
//   queue depth + kSpareSamples samples of the largest message, hence kDataSharingMaxBytes. The
//   type is not plain (its size varies), so loans are not offered: serialize and deserialize are
//   one copy each.
//
// Flow control: a keep-last history replaces the oldest sample when it is full, in the reader
// (one the application has not taken) and in the writer (one the reader may not have received
// yet, were a fragment lost). So the two sides keep a credit window of Endpoint::queue_depth
// messages (transports/credit_window.hpp), granted back on the other topic, and the histories hold
// that many and kSpareSamples more for the hellos and grants between them: no message is ever
// replaced. (KEEP_ALL should block the writer instead; with Fast DDS 2.9 here, write() failed at
// once with a timeout as soon as the history held that many unacknowledged hellos.) Every sample
// starts with a frame header (transports/frame.hpp): the scenario's data, a hello, a grant.
// --set fastdds.drop=1 (each of the three rows) turns the window off: the producer writes when its
// schedule says, the histories lose their oldest samples as DDS does for an application without
// flow control of its own, and the reader takes a data sample only when receive() wants one (so
// the history, not an inbox of ours, is what fills); the consumer's sequence check counts each
// loss (the overload scenario; the others fail at the first).
//
// Set-up: matching is not enough (a sample written before the peer's reader has matched our
// writer is not sent to it). Each side writes a hello every 5 ms, saying whether it has heard the
// peer, until it has heard the peer and the peer has heard it (then a last hello saying so).
//
// Waiting: Fast DDS moves the bytes in its own threads (the receive and shared-memory listening
// threads, the data-sharing listener), which block whatever the caller does; the caller can only
// choose how it waits for them to hand a sample over. So `block` alone is offered (the reader's
// wait_for_unread_message(), a slice at a time); a spin would spin on an in-process queue filled
// by a thread that itself sleeps in the kernel.
//
// Peer gone: DDS's own notion. Our writer or reader loses its match with the peer's: at once when
// the peer deletes its participant (a clean exit), after the participant lease when it dies.
//
// Names outside the cell's directory: the shared-memory transport and data sharing make files in
// /dev/shm whose names Fast DDS chooses (fastrtps_<random> segments, fastrtps_port<N> ports with
// their _el/_sl locks and sem.*_mutex, fast_datasharing_<guid> pools), mode 0644, and leave them
// behind when a process is killed. Each endpoint records the names it maps or holds open in its
// cell's directory (ShmRecord below); the last endpoint of a cell to close removes the recorded
// names no live process uses any more, and after a cell the harness does the same for the records
// of endpoints that were killed (TransportInfo::sweep_recorded).
#include <fastdds/rtps/transport/UDPv4TransportDescriptor.h>
#include <fastdds/rtps/transport/shared_mem/SharedMemTransportDescriptor.h>
#include <fastrtps/utils/IPLocator.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fastdds/dds/domain/DomainParticipant.hpp>
#include <fastdds/dds/domain/DomainParticipantFactory.hpp>
#include <fastdds/dds/domain/qos/DomainParticipantQos.hpp>
#include <fastdds/dds/log/Log.hpp>
#include <fastdds/dds/publisher/DataWriter.hpp>
#include <fastdds/dds/publisher/Publisher.hpp>
#include <fastdds/dds/publisher/qos/DataWriterQos.hpp>
#include <fastdds/dds/subscriber/DataReader.hpp>
#include <fastdds/dds/subscriber/SampleInfo.hpp>
#include <fastdds/dds/subscriber/Subscriber.hpp>
#include <fastdds/dds/subscriber/qos/DataReaderQos.hpp>
#include <fastdds/dds/topic/Topic.hpp>
#include <fastdds/dds/topic/TopicDataType.hpp>
#include <fastdds/dds/topic/TypeSupport.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "transports/credit_window.hpp"
#include "transports/dds_names.hpp"
#include "transports/driver_options.hpp"
#include "transports/frame.hpp"
#include "transports/shm_names.hpp"
#include "transports/transport.hpp"

namespace ipcbench {
namespace {

namespace dds = eprosima::fastdds::dds;
namespace rtps = eprosima::fastrtps::rtps;
using eprosima::fastrtps::Duration_t;

enum class Path { udp, shm, datasharing };

constexpr std::int64_t kSliceNs = 20'000'000;
constexpr std::int64_t kHelloEveryNs = 5'000'000;
constexpr std::int64_t kMillisecondNs = 1'000'000;
// How long a closing endpoint waits for the peer's writer to go before deleting its reader
// (longer than the participant lease, after which a dead peer's writer is gone too).
constexpr std::int64_t kPeerWriterGoneNs = 3'000'000'000;
// History room beyond the credit window: hellos and grants.
constexpr std::size_t kSpareSamples = 16;
// A data-sharing pool holds queue depth + kSpareSamples samples of the largest message, each way.
constexpr std::size_t kDataSharingMaxBytes = 16u << 20;
// The 4-byte CDR encapsulation header (CDR, little endian) in front of every sample's bytes.
constexpr std::size_t kEncapsulationBytes = 4;
constexpr const char* kRecordSuffix = ".fastdds-shm";

Duration_t duration_of(std::int64_t ns) {
  return Duration_t(static_cast<std::int32_t>(ns / 1'000'000'000),
                    static_cast<std::uint32_t>(ns % 1'000'000'000));
}

// ---- The type: raw bytes ----------------------------------------------------------------------

// A sample as the application holds it: bytes to write (`view`), or bytes taken (`storage`).
struct Bytes {
  const std::byte* view = nullptr;
  std::size_t size = 0;
  std::vector<std::byte> storage;  // grows only: taken samples reuse it
};

class BytesType final : public dds::TopicDataType {
 public:
  explicit BytesType(std::size_t max_bytes) {
    setName("ipcbench::Bytes");
    m_typeSize = static_cast<std::uint32_t>(kEncapsulationBytes + max_bytes + 3);
    m_isGetKeyDefined = false;
    auto_fill_type_object(false);
    auto_fill_type_information(false);
  }

  // RTPS carries a sample in a multiple of 4 bytes: the bytes are padded to one, and the
  // encapsulation options' last two bits say by how much (as XTypes 1.3 has it).
  bool serialize(void* data, rtps::SerializedPayload_t* payload) override {
    const auto* sample = static_cast<const Bytes*>(data);
    const std::size_t padding = padding_for(sample->size);
    if (kEncapsulationBytes + sample->size + padding > payload->max_size) return false;
    const std::uint8_t header[kEncapsulationBytes] = {0x00, 0x01, 0x00,  // CDR, little endian
                                                      static_cast<std::uint8_t>(padding)};
    std::memcpy(payload->data, header, kEncapsulationBytes);
    if (sample->size > 0) {
      std::memcpy(payload->data + kEncapsulationBytes, sample->view, sample->size);
    }
    std::memset(payload->data + kEncapsulationBytes + sample->size, 0, padding);
    payload->encapsulation = CDR_LE;
    payload->length = static_cast<std::uint32_t>(kEncapsulationBytes + sample->size + padding);
    return true;
  }

  bool deserialize(rtps::SerializedPayload_t* payload, void* data) override {
    if (payload->length < kEncapsulationBytes) return false;
    const std::size_t padding = payload->data[3] & 3u;
    if (payload->length < kEncapsulationBytes + padding) return false;
    auto* sample = static_cast<Bytes*>(data);
    sample->size = payload->length - kEncapsulationBytes - padding;
    if (sample->storage.size() < sample->size) sample->storage.resize(sample->size);
    std::memcpy(sample->storage.data(), payload->data + kEncapsulationBytes, sample->size);
    sample->view = sample->storage.data();
    return true;
  }

  std::function<std::uint32_t()> getSerializedSizeProvider(void* data) override {
    const std::size_t size = static_cast<Bytes*>(data)->size;
    const auto bytes = static_cast<std::uint32_t>(kEncapsulationBytes + size + padding_for(size));
    return [bytes] { return bytes; };
  }

  void* createData() override { return new Bytes(); }
  void deleteData(void* data) override { delete static_cast<Bytes*>(data); }
  bool getKey(void*, rtps::InstanceHandle_t*, bool) override { return false; }
  // Bounded by the cell's largest message: what data sharing needs to size its pool.
  bool is_bounded() const override { return true; }

 private:
  static std::size_t padding_for(std::size_t bytes) { return (4 - bytes % 4) % 4; }
};

// ---- Names in /dev/shm ------------------------------------------------------------------------

bool fastdds_shm_name(const std::string& name) {
  for (const char* prefix :
       {"fastrtps_", "sem.fastrtps_", "fast_datasharing_", "sem.fast_datasharing_"}) {
    if (name.starts_with(prefix)) return name.find('/') == std::string::npos;
  }
  return false;
}

// Fast DDS derives more names from some: a port's and a segment's locks and mutex.
void add_companions(std::set<std::string>& names) {
  std::vector<std::string> more;
  for (const auto& name : names) {
    if (!name.starts_with("fastrtps_") || name.ends_with("_el") || name.ends_with("_sl")) continue;
    more.push_back(name + "_el");
    more.push_back(name + "_sl");
    more.push_back("sem." + name + "_mutex");
  }
  names.insert(more.begin(), more.end());
}

// What one endpoint records in its cell's directory (<role>-<pid>-<n>.fastdds-shm), line by line:
// "begin <t>" before it makes its participant (t: CLOCK_REALTIME in ns), the names it maps or
// holds open once the participant is made ("end" then) and again once connected. Fast DDS names
// its segment at random while it makes the participant: an endpoint killed in that window cannot
// have recorded it, and a record without "end" stands for the Fast DDS names made since its begin.
class ShmRecord {
 public:
  ShmRecord() = default;
  explicit ShmRecord(std::string path) : m_path(std::move(path)) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::ofstream(m_path, std::ios::app)
        << "begin " << now.tv_sec * 1'000'000'000LL + now.tv_nsec << '\n';
  }

  // Adds this process's Fast DDS names; `end`: the participant is made. Makes them private on
  // the way: Fast DDS 2.9 creates its segments 0644 (Boost.Interprocess's default, set with
  // fchmod, so a umask does not help) and offers no setting for it; both workers of a cell are
  // this user, so 0600 takes nothing from them.
  void add(bool end) const {
    std::set<std::string> names;
    add_shm_names_used_by("/proc/self", names);
    std::erase_if(names, [](const std::string& name) { return !fastdds_shm_name(name); });
    for (const auto& name : names) {
      const std::string path = "/dev/shm/" + name;
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
          (st.st_mode & 077) != 0) {
        ::chmod(path.c_str(), 0600);
      }
    }
    add_companions(names);
    std::ofstream out(m_path, std::ios::app);
    for (const auto& name : names)
      out << name << '\n';
    if (end) out << "end\n";
  }

  // The endpoint is done: what it recorded and no one uses is removed, and the record.
  void close() {
    if (m_path.empty()) return;
    std::set<std::string> names;
    read(m_path, names);
    remove_unused(names);
    ::unlink(m_path.c_str());
    m_path.clear();
  }

  // The names the record at `path` stands for.
  static void read(const std::string& path, std::set<std::string>& names) {
    std::ifstream in(path);
    std::int64_t begin = -1;
    bool ended = false;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("begin ")) {
        std::from_chars(line.data() + 6, line.data() + line.size(), begin);
      } else if (line == "end") {
        ended = true;
      } else if (fastdds_shm_name(line)) {
        names.insert(line);
      }
    }
    if (begin < 0 || ended) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
      const std::string name = entry.path().filename().string();
      struct stat st;
      if (fastdds_shm_name(name) && ::lstat(entry.path().c_str(), &st) == 0 &&
          st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec >= begin) {
        names.insert(name);
      }
    }
  }

  // Removes those of `names` (this user's regular files in /dev/shm) that no live process maps
  // or holds open.
  static void remove_unused(const std::set<std::string>& names) {
    if (names.empty()) return;
    const std::set<std::string> in_use = shm_names_in_use();
    for (const auto& name : names) {
      if (in_use.contains(name)) continue;
      const std::string path = "/dev/shm/" + name;
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) {
        ::unlink(path.c_str());
      }
    }
  }

 private:
  std::string m_path;
};

// TransportInfo::sweep_recorded: what the records under `dir` stand for.
void sweep_recorded_names(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.path().string().ends_with(kRecordSuffix)) ShmRecord::read(entry.path(), names);
  }
  ShmRecord::remove_unused(names);
}

// ---- The transport ----------------------------------------------------------------------------

class FastddsTransport final : public Transport {
 public:
  FastddsTransport(const Endpoint& endpoint, Path path)
      : m_endpoint(endpoint),
        m_path(path),
        m_drop(endpoint.option("drop").value_or(0) != 0),
        m_credits(endpoint.queue_depth) {}

  ~FastddsTransport() override {
    if (m_participant) {
      // What we wrote reaches the peer before our writer goes (a reliable writer that is deleted
      // drops what is not yet acknowledged); at once when the peer has gone.
      if (m_writer && m_connected) m_writer->wait_for_acknowledgments(duration_of(timeout_ns()));
      // Our reader goes only once the peer's writer has: a sample that reaches a reader being
      // deleted is rejected, and Fast DDS 2.9's data-sharing listener then re-reads that slot
      // forever, so the reader's deletion, which joins the listener, never returns (eProsima/
      // Fast-DDS#6490, fixed in 2026, not in Debian's 2.9). Writers first, on both sides: the
      // peer's goes when it closes too, or, if it has died, when its lease ends.
      if (m_writer) {
        m_publisher->delete_datawriter(m_writer);
        m_writer = nullptr;
      }
      if (m_reader) {
        const std::int64_t until = monotonic_ns() + std::min(timeout_ns(), kPeerWriterGoneNs);
        // Meanwhile what the peer sends is taken (and dropped): its own close waits until what
        // it wrote has been acknowledged, and a data-sharing reader acknowledges on take.
        while (reader_matched() && monotonic_ns() < until) {
          if (!pump()) break;
          m_inbox.clear();
          m_reader->wait_for_unread_message(duration_of(kMillisecondNs));
        }
      }
      m_participant->delete_contained_entities();
      dds::DomainParticipantFactory::get_instance()->delete_participant(m_participant);
    }
    // What Fast DDS left and nobody uses any more: the last endpoint of a cell out removes it.
    m_record.close();
  }

  Result<std::string> listen() override {
    if (auto ok = open(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_participant) {
      if (auto ok = open(); !ok) return ok;
    }
    // Hellos both ways (see the top of this file).
    std::int64_t next_hello = 0;
    auto try_once = [&]() -> Result<bool> {
      if (monotonic_ns() >= next_hello && writer_matched()) {
        if (auto ok = write_frame_only(FrameKind::hello, m_heard_peer ? 1 : 0); !ok) {
          return std::unexpected(ok.error());
        }
        next_hello = monotonic_ns() + kHelloEveryNs;
      }
      if (auto ok = pump(); !ok) return std::unexpected(ok.error());
      return m_heard_peer && m_peer_hears;
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      m_reader->wait_for_unread_message(duration_of(std::min(max_ns, kHelloEveryNs)));
      return try_once();
    };
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = WaitMode::block;
    const WaitTraits traits{.waiting_for = "the peer's hello"};
    if (auto ok = wait_until(policy, try_once, block_once, no_check, traits); !ok) return ok;
    // The last hello: the peer may not know yet that we hear it.
    if (auto ok = write_frame_only(FrameKind::hello, 1); !ok) return ok;
    m_connected = true;
    if (m_path != Path::udp) m_record.add(false);
    return {};
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
    if (m_tx.size() < kFrameBytes + bytes) m_tx.resize(kFrameBytes + bytes);
    m_loaned = bytes;
    return std::span<std::byte>(m_tx.data() + kFrameBytes, bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (bytes > m_loaned) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    if (!m_drop) {
      auto ok = wait_for("credit from the receiver", [&] { return m_credits.may_send(); });
      if (!ok) return ok;
    }
    write_frame(m_tx, FrameKind::data);
    if (auto written = write(m_tx.data(), kFrameBytes + bytes); !written) return written;
    m_credits.sent();
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    auto ok = wait_for("a message", [&] { return !m_inbox.empty(); });
    if (!ok) return std::unexpected(ok.error());
    m_rx = std::move(m_inbox.front());
    m_inbox.pop_front();
    m_holding = true;
    return std::span<const std::byte>(m_rx.view + kFrameBytes, m_rx.size - kFrameBytes);
  }

  void release() override {
    if (!m_holding) return;
    m_holding = false;
    m_spare.push_back(std::move(m_rx));
    if (m_drop) return;
    if (auto grant = m_credits.consumed()) (void)write_frame_only(FrameKind::credit, *grant);
  }

  // `drop` as given, said by the producer, whose writes it governs.
  std::vector<OptionValue> granted_options() const override {
    return granted_as_given(m_endpoint, {"drop"});
  }

 private:
  std::int64_t timeout_ns() const { return std::chrono::nanoseconds(m_endpoint.timeout).count(); }

  Result<void> open() {
    dds::Log::SetVerbosity(dds::Log::Kind::Error);
    const std::size_t depth = m_credits.window() + kSpareSamples;
    auto* factory = dds::DomainParticipantFactory::get_instance();
    dds::DomainParticipantQos participant_qos = dds::PARTICIPANT_QOS_DEFAULT;
    participant_qos.name(std::string("ipcbench-") + std::string(to_string(m_endpoint.role)));
    auto& discovery = participant_qos.wire_protocol().builtin.discovery_config;
    discovery.leaseDuration = Duration_t(2, 0);
    discovery.leaseDuration_announcementperiod = Duration_t(0, 500'000'000);
    participant_qos.transport().use_builtin_transports = false;
    if (m_path == Path::udp) {
      auto udp = std::make_shared<eprosima::fastdds::rtps::UDPv4TransportDescriptor>();
      udp->interfaceWhiteList.emplace_back("127.0.0.1");
      participant_qos.transport().user_transports.push_back(udp);
      rtps::Locator_t peer;
      eprosima::fastrtps::rtps::IPLocator::setIPv4(peer, 127, 0, 0, 1);
      participant_qos.wire_protocol().builtin.initialPeersList.push_back(peer);
    } else {
      auto shm = std::make_shared<eprosima::fastdds::rtps::SharedMemTransportDescriptor>();
      participant_qos.transport().user_transports.push_back(shm);
    }
    if (m_path != Path::udp) {
      static std::atomic<int> endpoints{0};
      m_record =
          ShmRecord(m_endpoint.dir + "/" + std::string(to_string(m_endpoint.role)) + "-" +
                    std::to_string(::getpid()) + "-" + std::to_string(endpoints++) + kRecordSuffix);
    }
    m_participant = factory->create_participant(dds_domain_for(m_endpoint.token), participant_qos);
    if (m_path != Path::udp) m_record.add(true);
    if (!m_participant) return fail(Errc::resource, "Fast DDS cannot create a participant");

    dds::TypeSupport type(new BytesType(kFrameBytes + m_endpoint.max_message_bytes));
    if (type.register_type(m_participant) != ReturnCode_OK) {
      return fail(Errc::resource, "Fast DDS cannot register the type");
    }
    const bool producer = m_endpoint.role == Role::producer;
    auto topic = [&](const char* suffix) {
      return m_participant->create_topic(dds_topic_name(m_endpoint.token, suffix),
                                         type.get_type_name(), dds::TOPIC_QOS_DEFAULT);
    };
    dds::Topic* out = topic(producer ? "p2c" : "c2p");
    dds::Topic* in = topic(producer ? "c2p" : "p2c");
    dds::Publisher* publisher = m_participant->create_publisher(dds::PUBLISHER_QOS_DEFAULT);
    dds::Subscriber* subscriber = m_participant->create_subscriber(dds::SUBSCRIBER_QOS_DEFAULT);
    if (!out || !in || !publisher || !subscriber) {
      return fail(Errc::resource, "Fast DDS cannot create the topics");
    }

    const bool sharing = m_path == Path::datasharing;
    dds::DataWriterQos writer_qos = dds::DATAWRITER_QOS_DEFAULT;
    writer_qos.reliability().kind = dds::RELIABLE_RELIABILITY_QOS;
    writer_qos.reliability().max_blocking_time = duration_of(timeout_ns());
    writer_qos.durability().kind = dds::VOLATILE_DURABILITY_QOS;
    writer_qos.history().kind = dds::KEEP_LAST_HISTORY_QOS;
    writer_qos.history().depth = static_cast<std::int32_t>(depth);
    set_limits(writer_qos.resource_limits(), depth);
    writer_qos.publish_mode().kind = dds::SYNCHRONOUS_PUBLISH_MODE;
    writer_qos.reliable_writer_qos().times.heartbeatPeriod = Duration_t(0, 50'000'000);
    writer_qos.endpoint().history_memory_policy =
        sharing ? rtps::PREALLOCATED_WITH_REALLOC_MEMORY_MODE : rtps::DYNAMIC_REUSABLE_MEMORY_MODE;
    dds::DataReaderQos reader_qos = dds::DATAREADER_QOS_DEFAULT;
    reader_qos.reliability().kind = dds::RELIABLE_RELIABILITY_QOS;
    reader_qos.durability().kind = dds::VOLATILE_DURABILITY_QOS;
    reader_qos.history().kind = dds::KEEP_LAST_HISTORY_QOS;
    reader_qos.history().depth = static_cast<std::int32_t>(depth);
    set_limits(reader_qos.resource_limits(), depth);
    reader_qos.endpoint().history_memory_policy = rtps::DYNAMIC_REUSABLE_MEMORY_MODE;
    if (sharing) {
      writer_qos.data_sharing().on("");
      reader_qos.data_sharing().on("");
    } else {
      writer_qos.data_sharing().off();
      reader_qos.data_sharing().off();
    }
    m_publisher = publisher;
    m_writer = publisher->create_datawriter(out, writer_qos);
    m_reader = subscriber->create_datareader(in, reader_qos);
    if (!m_writer || !m_reader) {
      return fail(Errc::resource,
                  sharing ? "Fast DDS cannot create a data-sharing writer or reader (its log says "
                            "why: a type that is not bounded, a pool too large)"
                          : "Fast DDS cannot create a writer or reader");
    }
    if (m_path != Path::udp) m_record.add(false);  // a data-sharing pool
    return {};
  }

  static void set_limits(dds::ResourceLimitsQosPolicy& limits, std::size_t depth) {
    limits.max_samples = static_cast<std::int32_t>(depth);
    limits.max_instances = 1;
    limits.max_samples_per_instance = static_cast<std::int32_t>(depth);
    limits.allocated_samples = static_cast<std::int32_t>(depth);
  }

  Result<void> write(const std::byte* data, std::size_t bytes) {
    Bytes sample;
    sample.view = data;
    sample.size = bytes;
    const auto rc = m_writer->write(&sample, dds::HANDLE_NIL);
    if (rc == ReturnCode_OK) return {};
    if (auto alive = check_peer(); !alive) return alive;
    return fail(Errc::timeout, "Fast DDS's write failed (code " + std::to_string(rc()) + ")");
  }

  Result<void> write_frame_only(FrameKind kind, std::uint64_t value) {
    std::array<std::byte, kFrameBytes> frame{};
    ipcbench::write_frame(frame, kind, value);
    return write(frame.data(), frame.size());
  }

  // Takes every sample the reader has: data into the inbox, grants and hellos applied. Dropping
  // (m_drop): no more once the inbox holds a data sample.
  Result<void> pump() {
    for (;;) {
      if (m_drop && !m_inbox.empty()) return {};
      Bytes sample;
      if (!m_spare.empty()) {
        sample = std::move(m_spare.back());
        m_spare.pop_back();
      }
      dds::SampleInfo info;
      const auto rc = m_reader->take_next_sample(&sample, &info);
      if (rc == ReturnCode_NO_DATA) {
        m_spare.push_back(std::move(sample));
        return {};
      }
      if (rc != ReturnCode_OK) return fail(Errc::system, "Fast DDS's take_next_sample failed");
      if (!info.valid_data) {
        m_spare.push_back(std::move(sample));
        continue;
      }
      auto header = read_frame({sample.view, sample.size});
      if (!header) return std::unexpected(header.error());
      m_heard_peer = true;
      switch (header->kind) {
        case FrameKind::data:
          m_peer_hears = true;
          m_inbox.push_back(std::move(sample));
          continue;
        case FrameKind::credit:
          m_peer_hears = true;
          m_credits.granted(header->value);
          break;
        case FrameKind::hello:
          m_peer_hears = m_peer_hears || header->value == 1;
          break;
        case FrameKind::bye:
          break;
      }
      m_spare.push_back(std::move(sample));
    }
  }

  // Our writer has found the peer's reader: what it writes now reaches it.
  bool writer_matched() {
    dds::PublicationMatchedStatus published;
    return m_writer->get_publication_matched_status(published) == ReturnCode_OK &&
           published.current_count > 0;
  }

  // The peer's writer has found our reader (and not yet gone).
  bool reader_matched() {
    dds::SubscriptionMatchedStatus subscribed;
    return m_reader->get_subscription_matched_status(subscribed) == ReturnCode_OK &&
           subscribed.current_count > 0;
  }

  // The peer is gone when a match it made has gone.
  Result<void> check_peer() {
    dds::PublicationMatchedStatus published;
    dds::SubscriptionMatchedStatus subscribed;
    if (m_writer->get_publication_matched_status(published) == ReturnCode_OK &&
        published.current_count == 0) {
      return fail(Errc::peer_gone, "the peer's reader no longer matches ours (it has gone)");
    }
    if (m_reader->get_subscription_matched_status(subscribed) == ReturnCode_OK &&
        subscribed.current_count == 0) {
      return fail(Errc::peer_gone, "the peer's writer no longer matches ours (it has gone)");
    }
    return {};
  }

  // Waits until `ready()`, taking what arrives meanwhile.
  template <class Ready>
  Result<void> wait_for(std::string_view what, Ready ready) {
    auto try_once = [&]() -> Result<bool> {
      if (ready()) return true;
      if (auto ok = pump(); !ok) return std::unexpected(ok.error());
      return ready();
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      m_reader->wait_for_unread_message(duration_of(std::min(max_ns, kSliceNs)));
      return try_once();
    };
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = WaitMode::block;
    const WaitTraits traits{.check_every_ns = kSliceNs, .waiting_for = what};
    return wait_until(
        policy, try_once, block_once, [&] { return check_peer(); }, traits);
  }

  static constexpr auto ReturnCode_OK = eprosima::fastrtps::types::ReturnCode_t::RETCODE_OK;
  static constexpr auto ReturnCode_NO_DATA =
      eprosima::fastrtps::types::ReturnCode_t::RETCODE_NO_DATA;

  Endpoint m_endpoint;
  Path m_path;
  bool m_drop;  // --set fastdds.drop=1: no credit window
  CreditWindow m_credits;
  dds::DomainParticipant* m_participant = nullptr;
  dds::Publisher* m_publisher = nullptr;
  dds::DataWriter* m_writer = nullptr;
  dds::DataReader* m_reader = nullptr;
  bool m_connected = false;
  bool m_heard_peer = false;
  bool m_peer_hears = false;
  std::vector<std::byte> m_tx;
  std::size_t m_loaned = 0;
  std::deque<Bytes> m_inbox;
  std::vector<Bytes> m_spare;  // taken samples' storage, for the next ones
  Bytes m_rx;
  bool m_holding = false;
  ShmRecord m_record;  // what Fast DDS made in /dev/shm (none for UDP)
};

// --set fastdds.drop: the credit window (0, the default) or none (1).
std::vector<OptionSpec> options() {
  return {switch_option("drop",
                        "1: no credit window: the producer writes when it will, and the KEEP_LAST "
                        "histories lose their oldest samples (the consumer's sequence check counts "
                        "each); 0: a credit window of the queue depth, nothing lost",
                        false)};
}

template <Path path>
Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  return std::make_unique<FastddsTransport>(endpoint, path);
}

#define IPCBENCH_FASTDDS "eProsima Fast DDS " IPCBENCH_LIBRARY_VERSION

}  // namespace

extern const TransportInfo fastdds_driver{
    .name = "fastdds",
    .description = IPCBENCH_FASTDDS
    ", two RELIABLE KEEP_LAST(queue depth + 16) topics of raw bytes (a hand-written type), UDPv4 "
    "on loopback only (Fast DDS's default would use shared memory on one host: see fastdds-shm); "
    "credit window = queue depth; heartbeat 50 ms, lease 2 s; up to 64 MiB; block only: Fast "
    "DDS's own threads receive and deliver",
    .capabilities = [] { return Capabilities::block_only(); },
    .make = make<Path::udp>,
    .options = options,
};

extern const TransportInfo fastdds_shm_driver{
    .name = "fastdds-shm",
    .description = IPCBENCH_FASTDDS
    " as fastdds, over its shared-memory transport only (RTPS messages through /dev/shm "
    "segments of 512 KiB, 64 KiB fragments), data sharing off; up to 64 MiB; block only; Fast "
    "DDS makes its segments 0644, ipcbench 0600 once the participant is made",
    .capabilities = [] { return Capabilities::block_only(); },
    .make = make<Path::shm>,
    .sweep_recorded = sweep_recorded_names,
    .options = options,
};

extern const TransportInfo fastdds_datasharing_driver{
    .name = "fastdds-datasharing",
    .description = IPCBENCH_FASTDDS
    " as fastdds-shm, data-sharing delivery: the writer serializes into a pool in /dev/shm the "
    "reader maps (bounded type; not plain, so no loans: a copy each side); pool = queue depth + "
    "16 samples of the largest message; up to 16 MiB; block only; Fast DDS makes its pools and "
    "segments 0644, ipcbench 0600 once they are made",
    .capabilities = [] { return Capabilities::block_only(kDataSharingMaxBytes); },
    .make = make<Path::datasharing>,
    .sweep_recorded = sweep_recorded_names,
    .options = options,
};

}  // namespace ipcbench
